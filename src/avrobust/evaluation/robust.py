"""Robust evaluation: run attacks as a cascade with per-clip robust flags.

Every attack runs on every clip the model classifies correctly (clips it already gets wrong count
as not robust), so each attack gets its own robust accuracy; the worst case is the AND of the
per-clip flags over all attacks. Before reporting, every perturbation is checked against its
budget and the valid range; a violation stops the run (it would be a bug in an attack). The loop
is :func:`~avrobust.evaluation.engine.attack_and_score` with the model as source and only victim.

Attack success rate (PAPER.md): the share of the clips the model classifies correctly when clean
that the attack makes wrong (targeted: that it turns into the target class).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack
from avrobust.data import AVDataset
from avrobust.evaluation.engine import Outcome, attack_and_score
from avrobust.results import AttackResult


def robust_evaluation(model: nn.Module, dataset: AVDataset, attacks: Sequence[Attack], *,
                      batch_size: int = 64, show_progress: bool = False,
                      indices: torch.Tensor | None = None, progress_file: str | Path | None = None) -> dict[str, Any]:
    """Run ``attacks`` on ``dataset`` (or the clips at ``indices``) white box.

    With ``progress_file`` the state is saved after every batch and a rerun of the same evaluation
    (same model, clips, attacks and batch size) continues where it stopped; the file is removed at the
    end. (Under torchrun the batches are shared instead and no progress file is kept.)

    Returns:
        ``{"n", "clean_correct", "attacks": {label: result}, "worst_case_robust_accuracy"}``, each
        result as :func:`attack_entry` builds it.
    """
    scores = attack_and_score(model, {"model": model}, dataset, attacks, indices=indices, batch_size=batch_size,
                              only_correct=True, progress_file=progress_file, show_progress=show_progress)
    clean = scores.clean["model"]
    return {"n": scores.n, "clean_correct": int(clean.sum()),
            "attacks": {label: attack_entry(o, clean, "model") for label, o in scores.outcomes.items()},
            "worst_case_robust_accuracy": worst_case(clean, [o.robust["model"] for o in scores.outcomes.values()])
            if attacks else None}


def worst_case(clean: torch.Tensor, flags: Sequence[torch.Tensor]) -> float:
    """Share of clips right when clean and robust to every attack (the AND of the per-clip flags)."""
    worst = clean.clone()
    for f in flags:
        worst &= f
    return float(worst.sum()) / max(len(clean), 1)


def attack_entry(outcome: Outcome, clean: torch.Tensor, victim: str, *, transfer: bool = False) -> AttackResult:
    """One attack's result on ``victim``: ``robust_accuracy``, ``attack_success_rate``, ``budget``,
    ``steps``, ``modalities``, ``restarts``, ``loss``, ``options``, ``psnr_db``, ``ssim`` (video),
    ``snr_db``, ``segmental_snr_db`` (audio; means over attacked clips), ``max_norm`` per modality,
    ``seconds`` and the per-clip ``robust_flags`` (``transfer`` marks an attack crafted on another model)."""
    flags = outcome.robust[victim]
    desc = outcome.attack.describe()
    return AttackResult(attack=desc["attack"], transfer=transfer,
                        robust_accuracy=float(flags.sum()) / max(len(flags), 1),
                        attack_success_rate=float((clean & ~flags).sum()) / max(int(clean.sum()), 1),
                        **{k: desc[k] for k in ("budget", "steps", "modalities", "restarts", "loss", "options")},
                        **outcome.meter.summary(), seconds=round(outcome.seconds, 3),
                        robust_flags=flags.to(torch.int8).tolist())
