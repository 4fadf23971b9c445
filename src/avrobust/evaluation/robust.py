"""Robust evaluation: attacks as a cascade with per-clip robust flags, and attacks transferred from
another model.

Every attack runs on every clip the model classifies correctly (clips it already gets wrong count
as not robust), so each attack gets its own robust accuracy; the worst case is the AND of the
per-clip flags over all attacks (:func:`worst_case`, taken once, when the result is built). Before
reporting, every perturbation is checked against its budget and the valid range; a violation stops
the run (it would be a bug in an attack). The loop is
:func:`~avrobust.evaluation.engine.attack_and_score` with the model as source and only victim.

Attack success rate (PAPER.md): the share of the clips the model classifies correctly when clean
that the attack makes wrong (targeted: that it turns into the target class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from avrobust.attacks.base import Attack
from avrobust.data import AVDataset
from avrobust.evaluation.engine import Outcome, attack_and_score
from avrobust.models.interface import AVModel
from avrobust.results import AttackResult


@dataclass
class Cascade:
    """A white-box cascade: ``n`` clips, the clean flags ``[n]`` (right when clean) and one
    :class:`~avrobust.results.AttackResult` per attack label (its flags stay tensors)."""

    n: int
    clean: torch.Tensor
    attacks: dict[str, AttackResult]

    @property
    def clean_correct(self) -> int:
        return int(self.clean.sum())


def robust_evaluation(model: AVModel, dataset: AVDataset, attacks: Sequence[Attack], *,
                      batch_size: int = 64, show_progress: bool = False, indices: torch.Tensor | None = None,
                      progress_file: str | Path | None = None, precision: str = "fp32") -> Cascade:
    """Run ``attacks`` on ``dataset`` (or the clips at ``indices``) white box.

    With ``progress_file`` the state is saved after every batch and a rerun of the same evaluation
    (same model, clips, attacks and batch size) continues where it stopped; the file is removed at the
    end. (Under torchrun the batches are shared instead and no progress file is kept.)
    """
    scores = attack_and_score(model, {"model": model}, dataset, attacks, indices=indices, batch_size=batch_size,
                              only_correct=True, progress_file=progress_file, show_progress=show_progress,
                              precision=precision)
    clean = scores.clean["model"]
    return Cascade(scores.n, clean, {label: attack_entry(o, clean, "model") for label, o in scores.outcomes.items()})


def transfer_robustness(model: AVModel, surrogate: AVModel, dataset: AVDataset, attack: Attack, *,
                        indices: torch.Tensor | None = None, batch_size: int = 64,
                        show_progress: bool = False, precision: str = "fp32") -> AttackResult:
    """Craft ``attack`` on ``surrogate`` and test on ``model``: robust accuracy, ASR and per-clip flags
    (robust = correct when clean and still correct on the transferred clip)."""
    scores = attack_and_score(surrogate, {"victim": model}, dataset, [attack], indices=indices,
                              batch_size=batch_size, show_progress=show_progress, description="transfer",
                              precision=precision)
    return attack_entry(scores.outcomes[attack.label], scores.clean["victim"], "victim", transfer=True)


def worst_case(clean: torch.Tensor, flags: Sequence[torch.Tensor]) -> float | None:
    """Share of clips right when clean and robust to every attack (the AND of the per-clip flags);
    None without attacks."""
    if not flags:
        return None
    worst = clean.clone()
    for f in flags:
        worst &= f
    return float(worst.sum()) / max(len(clean), 1)


def attack_entry(outcome: Outcome, clean: torch.Tensor, victim: str, *, transfer: bool = False) -> AttackResult:
    """One attack's result on ``victim``: robust accuracy, ASR, the attack's description, perceptibility
    (means over attacked clips), seconds and the per-clip flags (``transfer``: crafted on another model)."""
    flags = outcome.robust[victim]
    desc = outcome.attack.describe()
    return AttackResult(attack=desc["attack"], transfer=transfer,
                        robust_accuracy=float(flags.sum()) / max(len(flags), 1),
                        attack_success_rate=float((clean & ~flags).sum()) / max(int(clean.sum()), 1),
                        **{k: desc[k] for k in ("budget", "steps", "modalities", "restarts", "loss", "options")},
                        **outcome.meter.summary(), seconds=round(outcome.seconds, 3), robust_flags=flags.clone())
