"""Checks that warn of gradient masking (Athalye et al., ICML 2018; Carlini et al., 2019), each one
warning line in the evaluation's ``warnings``:

* a transferred (black-box) attack beats the strongest white-box attack;
* more steps are weaker (PGD-50 above PGD-10, or one-step FGSM below PGD-10);
* input gradients are exactly zero for some clips.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from avrobust.data import AVDataset
from avrobust.device import autocast
from avrobust.distributed import all_reduce_sum, context
from avrobust.evaluation.memory import within_memory
from avrobust.models.classifier import eval_mode, float32_outputs
from avrobust.models.interface import AVModel, model_device
from avrobust.results import AttackResult
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


def _input_gradients(model: AVModel, batch: AVBatch, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    video, audio = batch.video.clone().requires_grad_(True), batch.audio.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(float32_outputs(model(video, audio)).logits, labels, reduction="sum")
    g_v, g_a = torch.autograd.grad(loss, [video, audio])
    return g_v, g_a
