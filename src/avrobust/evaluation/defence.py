"""Honest evaluation of a defended model: a fixed attack suite, transfer from an undefended
surrogate, the worst case over all of it, and checks that warn of gradient masking.

The reviewers' point (PAPER.md): the paper's defence was evaluated only against TMA, its own
training attack. ``avrobust evaluate --suite defence [--surrogate RUN]`` runs, on the defended
model itself (white box, adaptive): FGSM, PGD-10, PGD-50 with 3 restarts, APGD-CE, APGD-DLR,
MI-FGSM, TIA, MMA and TMA; with ``--surrogate`` also TMA crafted on an undefended model and
transferred. The worst case is per clip over every attack, transfer included.

Gradient-masking checks (Athalye et al., ICML 2018; Carlini et al., 2019), each one warning line:
* a transferred (black-box) attack beats the strongest white-box attack;
* more steps are weaker (PGD-50 above PGD-10, or one-step FGSM below PGD-10);
* input gradients are exactly zero for some clips.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack
from avrobust.console import warn
from avrobust.data import AVDataset
from avrobust.distributed import all_reduce_sum, context
from avrobust.evaluation.engine import attack_and_score
from avrobust.evaluation.robust import attack_entry
from avrobust.models.classifier import AVClassifier, eval_mode

DEFENCE_SUITE = ("fgsm", "pgd:steps=10", "pgd:steps=50,restarts=3", "apgd-ce", "apgd-dlr", "mifgsm", "tia", "mma", "tma")
SUITES = {"defence": DEFENCE_SUITE}
TRANSFER_LABEL = "tma (transfer from {surrogate})"


def suite_attacks(name: str) -> list[str]:
    """The ``--attack`` values of a named suite."""
    from avrobust.errors import ConfigError

    if name not in SUITES:
        raise ConfigError(f"unknown suite {name!r}; valid choices: {', '.join(SUITES)}")
    return list(SUITES[name])


def transfer_robustness(model: nn.Module, surrogate: nn.Module, dataset: AVDataset, attack: Attack, *,
                        indices: torch.Tensor | None = None, batch_size: int = 64,
                        show_progress: bool = False) -> dict[str, Any]:
    """Craft ``attack`` on ``surrogate`` and test on ``model``: robust accuracy, ASR and per-clip flags
    (robust = correct when clean and still correct on the transferred clip)."""
    scores = attack_and_score(surrogate, {"victim": model}, dataset, [attack], indices=indices,
                              batch_size=batch_size, show_progress=show_progress, description="transfer")
    return attack_entry(scores.outcomes[attack.label], scores.clean["victim"], "victim", transfer=True)


def zero_gradient_share(model: AVClassifier, dataset: AVDataset, *, indices: torch.Tensor | None = None,
                        batch_size: int = 64) -> dict[str, float]:
    """Share of clips whose cross-entropy input gradient is exactly zero, per modality."""
    device = next(model.parameters()).device
    idx = torch.arange(len(dataset)) if indices is None else indices
    zero = {"video": 0, "audio": 0}
    ctx = context()
    with eval_mode(model):
        for k, chunk in enumerate(dataset.batch_indices(batch_size, indices=idx)):
            if not ctx.mine(k):
                continue
            batch, labels = dataset.batch(chunk)
            video = batch.video.to(device).requires_grad_(True)
            audio = batch.audio.to(device).requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(model(video, audio).logits, labels.to(device), reduction="sum")
            g_v, g_a = torch.autograd.grad(loss, [video, audio])
            zero["video"] += int((g_v.flatten(1).abs().amax(1) == 0).sum())
            zero["audio"] += int((g_a.flatten(1).abs().amax(1) == 0).sum())
    counts = all_reduce_sum(torch.tensor([zero["video"], zero["audio"]]))
    return {"video": int(counts[0]) / max(len(idx), 1), "audio": int(counts[1]) / max(len(idx), 1)}


def masking_checks(attacks: dict[str, dict[str, Any]], zero_gradients: dict[str, float], n: int) -> list[str]:
    """The gradient-masking warnings for evaluation results ``attacks`` (label -> result) on ``n`` clips.

    A difference must exceed one clip (``1 / n``) to count.
    """
    tol = 1.0 / max(n, 1)
    lines = []
    white = {k: v["robust_accuracy"] for k, v in attacks.items() if not v.get("transfer")}
    black = {k: v["robust_accuracy"] for k, v in attacks.items() if v.get("transfer")}
    if white:
        strongest = min(white, key=white.get)
        for label, acc in black.items():
            if acc < white[strongest] - tol:
                lines.append(f"possible gradient masking: the transferred attack {label} leaves {acc:.3f} robust accuracy, "
                             f"below the strongest white-box attack ({strongest}: {white[strongest]:.3f})")
    by_steps = {(v["attack"], v["steps"]): (k, v["robust_accuracy"]) for k, v in attacks.items() if not v.get("transfer")}
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


def defence_checks(model: AVClassifier, dataset: AVDataset, result: dict[str, Any], *,
                   indices: torch.Tensor | None = None) -> list[str]:
    """Add ``zero_gradient_share`` and ``warnings`` to an evaluation ``result``; print each warning."""
    result["zero_gradient_share"] = zero_gradient_share(model, dataset, indices=indices)
    lines = masking_checks(result["attacks"], result["zero_gradient_share"], result["n"])
    for line in lines:
        warn(line)
    result["warnings"] = lines
    return lines
