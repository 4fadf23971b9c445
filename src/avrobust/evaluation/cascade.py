"""THE cascade: white-box attacks on one model with per-clip robust flags, and attacks transferred from
another model. Every white-box evaluation goes through :func:`run_cascade`: ``avrobust evaluate`` (its
suite and attacks), sweeps and curves, the benchmark's model card and the validation of a training run.

Two orders, one function:

* ``shrink=False`` (an evaluation's attacks): every attack runs on every clip the model gets right, so
  each attack gets its own robust accuracy; the worst case is the AND of the per-clip flags
  (:func:`worst_case`, taken once, when the result is built). Resumable per batch (``progress_file``).
* ``shrink=True`` (AutoAttack's cascade, the benchmark's): each attack runs only on the clips still
  robust after the attacks before it, so the last step's flags are the worst case. Resumable per attack
  and, within the attack in flight, per batch.

Before reporting, every perturbation is checked against its budget and the valid range (the engine's
final norm check); a violation stops the run (it would be a bug in an attack). The loop is
:func:`~avrobust.evaluation.engine.attack_and_score` with the model as source and only victim.

Attack success rate (PAPER.md): the share of the clips the model classifies correctly when clean
that the attack makes wrong (targeted: that it turns into the target class).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks.base import Attack
from avrobust.checkpoint import tensor_digest
from avrobust.data import AVDataset
from avrobust.distributed import context
from avrobust.evaluation.engine import Outcome, attack_and_score
from avrobust.io import write_json
from avrobust.models.interface import AVModel
from avrobust.results import AttackResult


@dataclass
class Step:
    """One attack of a shrinking cascade: the clips it ran on (still robust), those it fooled, its seconds
    (clean check, crafting and scoring) and the robust flags ``[n]`` after it."""

    label: str
    attacked: int
    fooled: int
    seconds: float
    robust: torch.Tensor


@dataclass
class Cascade:
    """A white-box cascade on ``n`` clips: the clean flags ``[n]`` (right when clean) and one
    :class:`~avrobust.results.AttackResult` per attack label (its flags stay tensors; in a shrinking
    cascade each is the attack's result on the clips it ran on); ``steps``: a shrinking cascade's."""

    n: int
    clean: torch.Tensor
    attacks: dict[str, AttackResult]
    steps: list[Step] = field(default_factory=list)

    @property
    def clean_correct(self) -> int:
        return int(self.clean.sum())

    @property
    def robust(self) -> torch.Tensor:
        """Per clip ``[n]``: right when clean and robust to every attack."""
        if self.steps:
            return self.steps[-1].robust
        worst = self.clean.clone()
        for result in self.attacks.values():
            worst &= result.robust_flags
        return worst


def run_cascade(model: AVModel, dataset: AVDataset, attacks: Sequence[Attack], *, shrink: bool = False,
                batch_size: int = 64, show_progress: bool = False, indices: torch.Tensor | None = None,
                progress_file: str | Path | None = None, precision: str = "fp32") -> Cascade:
    """Run ``attacks`` white box on ``dataset`` (or the clips at ``indices``), in either order (see the
    module docstring).

    With ``progress_file`` the state is saved as the run goes and a rerun of the same cascade (same model,
    clips, attacks, order and batch size) continues where it stopped; the file is removed at the end.
    (Under torchrun the batches are shared instead and no progress file is kept.)
    """
    idx = torch.arange(len(dataset)) if indices is None else indices
    if not shrink:
        scores = attack_and_score(model, {"model": model}, dataset, attacks, indices=idx, batch_size=batch_size,
                                  only_correct=True, progress_file=progress_file, show_progress=show_progress,
                                  precision=precision)
        clean = scores.clean["model"]
        return Cascade(scores.n, clean, {label: attack_entry(o, clean, "model") for label, o in scores.outcomes.items()})
    path = Path(progress_file) if progress_file is not None and not context().enabled else None
    key = None if path is None else {"model": tensor_digest(model.state_dict()), "indices": idx.tolist(),
                                     "batch_size": batch_size, "attacks": [a.describe() for a in attacks]}
    out = _resume(path, key, len(idx))
    inner = None if path is None else path.with_name(path.name + ".step")
    for attack in attacks[len(out.steps):]:
        robust = out.steps[-1].robust if out.steps else None
        alive = idx if robust is None else idx[robust]
        begun = time.perf_counter()
        fooled, after = 0, torch.zeros(len(idx), dtype=torch.bool) if robust is None else robust.clone()
        if len(alive):
            scores = attack_and_score(model, {"model": model}, dataset, [attack], indices=alive,
                                      batch_size=batch_size, only_correct=True, progress_file=inner,
                                      show_progress=show_progress, precision=precision)
            clean, flags = scores.clean["model"], scores.outcomes[attack.label].robust["model"]
            out.attacks[attack.label] = attack_entry(scores.outcomes[attack.label], clean, "model")
            if robust is None:
                out.clean, after = clean.clone(), flags.clone()
                fooled = int(clean.sum()) - int(flags.sum())
            else:
                fooled = len(alive) - int(flags.sum())
                after[robust] = flags
        out.steps.append(Step(attack.label, len(alive), fooled, time.perf_counter() - begun, after))
        if path is not None:
            write_json(path, {"key": key, "clean": out.clean.tolist(), "attacks": out.attacks,
                              "steps": [{**vars(s), "robust": s.robust.tolist()} for s in out.steps]})
    if path is not None:
        path.unlink(missing_ok=True)
    return out


def _resume(path: Path | None, key: dict[str, Any] | None, n: int) -> Cascade:
    """The saved state of the same shrinking cascade, or a fresh one."""
    fresh = Cascade(n, torch.zeros(n, dtype=torch.bool), {})
    if path is None or not path.exists():
        return fresh
    saved = json.loads(path.read_text())
    if saved.get("key") != key:
        return fresh
    steps = [Step(**{**s, "robust": torch.tensor(s["robust"], dtype=torch.bool)}) for s in saved["steps"]]
    return Cascade(n, torch.tensor(saved["clean"], dtype=torch.bool),
                   {label: AttackResult.from_dict(r) for label, r in saved["attacks"].items()}, steps)


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
