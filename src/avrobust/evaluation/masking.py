"""Every check that warns of gradient masking (Athalye et al., ICML 2018; Carlini et al., 2019), in one
module; ``docs/flags.md`` says what each flag means and what to do about it.

An evaluation's ``warnings`` (:func:`masking_checks`):

* a transferred (black-box) attack beats the strongest white-box attack;
* more steps are weaker (PGD-50 above PGD-10, or one-step FGSM below PGD-10);
* input gradients are exactly zero for some clips.

A model card's ``flags`` (:func:`card_flags`, per threat model, and :func:`model_flags`):

* ``gradient-free``: an attack that reads no gradient (Square) fools clips the gradient attacks left robust;
* ``transfer``: an attack crafted on an undefended twin beats the white-box attacks;
* ``eps``: APGD-CE's robust accuracy rises somewhere as the budget grows, or does not fall from the
  smallest to the largest budget;
* ``zero-gradients``: input gradients are exactly zero for some clips;
* ``randomised``: the model's outputs vary between passes (the gradient attacks used EOT).

A difference must exceed one clip (``1 / n``) to count; the gradient-free flag needs more than one clip
and more than 1 % of the clips (a robust model may lose a clip or two to it, as in AutoAttack's tables).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from avrobust.attacks import ATTACKS
from avrobust.data import AVDataset
from avrobust.device import autocast
from avrobust.distributed import all_reduce_sum, context
from avrobust.evaluation.memory import within_memory
from avrobust.models.classifier import eval_mode, float32_outputs
from avrobust.models.interface import AVModel, model_device
from avrobust.results import AttackResult
from avrobust.results.benchmark import ThreatResult
from avrobust.types import AVBatch


def zero_gradient_share(model: AVModel, dataset: AVDataset, *, indices: torch.Tensor | None = None,
                        batch_size: int = 64, precision: str = "fp32") -> dict[str, float]:
    """Share of clips whose cross-entropy input gradient is exactly zero, per modality."""
    device = model_device(model)
    idx = torch.arange(len(dataset)) if indices is None else indices
    zero = {"video": 0, "audio": 0}
    ctx = context()
    with eval_mode(model), autocast(device, precision):
        for k, chunk in enumerate(dataset.batch_indices(batch_size, indices=idx)):
            if not ctx.mine(k):
                continue
            batch, labels = dataset.batch(chunk)
            batch, labels = batch.to(device), labels.to(device)
            g_v, g_a = within_memory(lambda m, b=batch, y=labels: _input_gradients(m, b, y), model, batch.size)
            zero["video"] += int((g_v.flatten(1).abs().amax(1) == 0).sum())
            zero["audio"] += int((g_a.flatten(1).abs().amax(1) == 0).sum())
    counts = all_reduce_sum(torch.tensor([zero["video"], zero["audio"]]))
    return {"video": int(counts[0]) / max(len(idx), 1), "audio": int(counts[1]) / max(len(idx), 1)}


def masking_checks(attacks: Mapping[str, AttackResult], zero_gradients: Mapping[str, float], n: int) -> list[str]:
    """The gradient-masking warnings for ``attacks`` (label -> result) on ``n`` clips.

    A difference must exceed one clip (``1 / n``) to count.
    """
    tol = 1.0 / max(n, 1)
    lines = []
    white = {k: v.robust_accuracy for k, v in attacks.items() if not v.transfer}
    black = {k: v.robust_accuracy for k, v in attacks.items() if v.transfer}
    if white:
        strongest = min(white, key=white.__getitem__)
        for label, acc in black.items():
            if acc < white[strongest] - tol:
                lines.append(f"possible gradient masking: the transferred attack {label} leaves {acc:.3f} robust accuracy, "
                             f"below the strongest white-box attack ({strongest}: {white[strongest]:.3f})")
    by_steps = {(v.attack, v.steps): (k, v.robust_accuracy) for k, v in attacks.items() if not v.transfer}
    pgd = sorted((steps, label, acc) for (name, steps), (label, acc) in by_steps.items() if name == "pgd")
    for (s1, l1, a1), (s2, l2, a2) in zip(pgd, pgd[1:]):
        if s2 > s1 and a2 > a1 + tol:
            lines.append(f"possible gradient masking: more steps are weaker ({l2}: {a2:.3f} robust accuracy, "
                         f"{l1}: {a1:.3f})")
    fgsm = [(label, acc) for (name, _), (label, acc) in by_steps.items() if name == "fgsm"]
    if fgsm and pgd:
        (label, acc), (_, pl, pa) = fgsm[0], pgd[0]
        if acc < pa - tol:
            lines.append(f"possible gradient masking: one-step {label} ({acc:.3f}) is stronger than {pl} ({pa:.3f})")
    for m, share in zero_gradients.items():
        if share > 0:
            lines.append(f"possible gradient masking: the {m} input gradient is exactly zero for {share:.1%} of the clips")
    return lines


def card_flags(threat: str, result: ThreatResult, n: int) -> list[str]:
    """The flags of one threat model's cascade on ``n`` clips (see the module docstring)."""
    tol, lines = 1.0 / max(n, 1), []
    free = frozenset(name for name in ATTACKS if "gradient-free" in ATTACKS.get(name).traits)
    for step in (s for s in result.cascade if s.attack in free):
        if step.fooled > max(1, 0.01 * n):
            lines.append(f"gradient-free: on {threat}, {step.attack.capitalize()} fooled "
                         f"{step.fooled} of the {step.attacked} clips the gradient attacks left robust (gradient masking?)")
    white = result.white_box_accuracy(free)
    twin = result.twin_robust_accuracy
    if twin is not None and twin < white - tol:
        lines.append(f"transfer: on {threat}, an attack crafted on the undefended twin leaves {twin:.3f}, below the "
                     f"white-box attacks' {white:.3f} (gradient masking?)")
    curve = result.eps_curve
    if curve is not None:
        acc = curve.robust_accuracy
        rises = any(b > a + tol for a, b in zip(acc, acc[1:]))
        if rises or (acc[0] > tol and acc[-1] >= acc[0] - tol):
            lines.append(f"eps: on {threat}, APGD-CE's robust accuracy at budget scales "
                         f"{', '.join(f'{s:g}' for s in curve.scales)} is {', '.join(f'{a:.3f}' for a in acc)} "
                         "(it should fall as the budget grows)")
    return lines


def model_flags(zero_gradients: Mapping[str, float], randomised: bool, eot: int) -> list[str]:
    """A model card's flags that concern the model, not one threat model."""
    lines = [f"zero-gradients: the {m} input gradient is exactly zero for {s:.1%} of the clips"
             for m, s in zero_gradients.items() if s > 0]
    if randomised:
        lines.append(f"randomised: two passes on the same clips disagree; the gradient attacks used EOT over {eot} passes")
    return lines


def _input_gradients(model: AVModel, batch: AVBatch, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    video, audio = batch.video.clone().requires_grad_(True), batch.audio.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(float32_outputs(model(video, audio)).logits, labels, reduction="sum")
    g_v, g_a = torch.autograd.grad(loss, [video, audio])
    return g_v, g_a
