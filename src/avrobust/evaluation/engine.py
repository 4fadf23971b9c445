"""THE attack-and-score loop: craft adversarial clips on a source model, score them on victims.

Every robustness number avrobust reports comes through :func:`attack_and_score`: the white-box
cascade (the source is the only victim and only the clips it gets right are crafted), the defence
suite's transferred attack, transfer matrices and the Section 3 analyses. Per batch it classifies
the clean clips with every victim, runs every attack on the source, checks the perturbations
against their budgets, measures perceptibility and classifies the adversarial clips with every
victim. A victim's clip is **robust** when the victim gets it right clean and adversarial.

Randomness: each attack's generator is reseeded per batch from the attack's seed and the batch's
end offset (:func:`attack_generator`), so results do not depend on which attacks or batches ran
before. Under torchrun each process handles every W-th batch and the per-clip flags are summed, so
the results are those of one process. With ``progress_file`` the state is saved after every batch
and a rerun of the same job (same models, clips, attacks, batch size) continues where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks.base import Attack
from avrobust.attacks.joint import joint_norm
from avrobust.attacks.temporal_modality import modality_agreement
from avrobust.attacks.threat import within_budget
from avrobust.checkpoint import tensor_digest
from avrobust.console import progress
from avrobust.data import AVDataset
from avrobust.device import autocast
from avrobust.distributed import all_reduce_max, all_reduce_sum, context
from avrobust.errors import ConfigError
from avrobust.evaluation.memory import within_memory
from avrobust.evaluation.metrics import check_finite
from avrobust.evaluation.perceptibility import PerceptibilityMeter, max_norm
from avrobust.io import write_json
from avrobust.models.classifier import eval_mode, float32_outputs
from avrobust.models.interface import AVModel, model_device
from avrobust.types import AVBatch


#: receives ``(attack label, batch number, clip indices [B], adversarial clips, labels [B])``
Sink = Callable[[str, int, torch.Tensor, AVBatch, torch.Tensor], None]


class BudgetViolation(RuntimeError):
    """An attack returned a perturbation outside its budget or range (a bug, never expected)."""


@dataclass
class Outcome:
    """One attack over all clips.

    Attributes:
        robust: per victim, bool ``[n]``: right when clean and on the adversarial clip.
        cosine: per victim, the sum over crafted clips of cos(softmax p_a, softmax p_v) on the
            adversarial clip (the victim's cross-modal agreement).
        meter: perceptibility of the crafted perturbations; seconds: crafting time.
    """

    attack: Attack
    robust: dict[str, torch.Tensor]
    cosine: dict[str, float]
    meter: PerceptibilityMeter
    seconds: float = 0.0


@dataclass
class Scores:
    """What :func:`attack_and_score` returns: ``n`` clips, per victim the clean flags ``[n]``, per
    attack label its :class:`Outcome`."""

    n: int
    clean: dict[str, torch.Tensor]
    outcomes: dict[str, Outcome]


def attack_generator(attack: Attack, offset: int, device: torch.device) -> torch.Generator:
    """A per-batch generator seeded by the attack's seed and the batch's end offset: results do not
    depend on which attacks ran before."""
    g = torch.Generator(device=device)
    g.manual_seed(attack.seed * 1_000_003 + offset)
    return g


def check_budget(attack: Attack, clean: AVBatch, adv: AVBatch) -> None:
    """Raise :class:`BudgetViolation` if ``adv`` leaves the attack's budgets, range or modalities."""
    for m in ("video", "audio"):
        x, xa = getattr(clean, m), getattr(adv, m)
        if m not in attack.threat.modalities:
            if not torch.equal(x, xa):
                raise BudgetViolation(f"{attack.name} changed the {m}, which it was not allowed to attack")
            continue
        if not bool(within_budget(xa, x, attack.threat.budget(m)).all()):
            worst = max_norm(x, xa, attack.threat.budget(m).norm)
            raise BudgetViolation(f"{attack.name} left the {m} budget (eps {attack.threat.budget(m).eps:g}, "
                                  f"measured {worst:g}) or range; this is a bug, please report it")
    eps = attack.threat.joint_l2
    if eps is not None:
        norms = joint_norm({"video": adv.video, "audio": adv.audio}, {"video": clean.video, "audio": clean.audio})
        if bool((norms > eps * (1 + 1e-5) + 1e-5).any()):
            raise BudgetViolation(f"{attack.name} left the joint L2 budget (eps {eps:g}, measured {float(norms.max()):g}); "
                                  "this is a bug, please report it")


@torch.no_grad()
def classify_clips(model: AVModel, batch: AVBatch, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and cross-modal cosine, both ``[N]`` (outputs checked finite; ``where`` names the
    clips in the error)."""
    out = float32_outputs(model(batch.video, batch.audio))
    check_finite(out, where)
    return out.logits.argmax(1), modality_agreement(out)


def attack_and_score(source: AVModel, victims: Mapping[str, AVModel], dataset: AVDataset,
                     attacks: Sequence[Attack], *, indices: torch.Tensor | None = None, batch_size: int = 64,
                     only_correct: bool = False, progress_file: str | Path | None = None,
                     show_progress: bool = False, description: str = "attack", precision: str = "fp32",
                     sink: Sink | None = None) -> Scores:
    """Craft every attack on ``source`` and score on every victim (``label -> model``).

    Args:
        only_correct: craft only the clips the source gets right when clean (the white-box cascade:
            the others are not robust anyway, and crafting them would be wasted).
        indices: the clips (default: all); progress_file: see the module docstring (one process only).
        precision: the models' forward passes under autocast (:func:`avrobust.device.autocast`); the
            perturbations stay float32. A batch that does not fit in memory is run in pieces
            (:mod:`~avrobust.evaluation.memory`).
        sink: called per batch and attack with ``(attack label, batch number, clip indices, adversarial
            clips, labels)`` after the budget check (an adversarial set keeps them; :mod:`.adversarial_set`).
    """
    if len({a.label for a in attacks}) != len(attacks):
        raise ConfigError("attack labels must be unique within one evaluation")
    idx = torch.arange(len(dataset)) if indices is None else indices
    n, ctx = len(idx), context()
    device = model_device(source)
    state = _fresh_state(victims, attacks, n)
    path = Path(progress_file) if progress_file is not None and not ctx.enabled else None
    key = None if path is None else {
        "models": {k: tensor_digest(m.state_dict()) for k, m in {"source": source, **victims}.items()},
        "indices": idx.tolist(), "batch_size": batch_size, "attacks": {a.label: a.describe() for a in attacks}}
    done = _load_progress(path, key, state)
    chunks = dataset.batch_indices(batch_size, indices=idx)
    with ExitStack() as modes:
        modes.enter_context(autocast(device, precision))
        for model in {id(m): m for m in (source, *victims.values())}.values():
            modes.enter_context(eval_mode(model))
        pos = 0
        for k, chunk in enumerate(progress(chunks, total=len(chunks), description=description, enabled=show_progress)):
            sl, pos = slice(pos, pos + len(chunk)), pos + len(chunk)
            if not ctx.mine(k) or k < done:  # another process's batch, or one finished before a restart
                continue
            batch, labels = dataset.batch(chunk)
            batch, labels = batch.to(device), labels.to(device)
            if k == ctx.rank:  # this process's first batch: the data must fit every model
                for model in (source, *victims.values()):
                    model.check_batch(batch)
            emit = None if sink is None else (lambda label, adv, y, k=k, chunk=chunk: sink(label, k, chunk, adv, y))
            _score_batch(source, victims, attacks, batch, labels, sl, pos, only_correct, state, emit)
            if path is not None:
                write_json(path, {"key": key, "batches": k + 1, **_dump(state)})
    if ctx.enabled:
        _reduce(state)
    if path is not None:
        path.unlink(missing_ok=True)
    return Scores(n, state["clean"], state["outcomes"])


def _score_batch(source: AVModel, victims: Mapping[str, AVModel], attacks: Sequence[Attack], batch: AVBatch,
                 labels: torch.Tensor, sl: slice, end: int, only_correct: bool, state: dict[str, Any],
                 emit: Callable[[str, AVBatch, torch.Tensor], None] | None = None) -> None:
    def classify(model: AVModel, clips: AVBatch, where: str) -> tuple[torch.Tensor, torch.Tensor]:
        return within_memory(lambda m: classify_clips(m, clips, where), model, clips.size)

    right = {v: classify(model, batch, " on clean clips")[0] == labels for v, model in victims.items()}
    for v, ok in right.items():
        state["clean"][v][sl] = ok.cpu()
    crafted = torch.ones_like(labels, dtype=torch.bool)
    if only_correct:
        own = next((v for v, model in victims.items() if model is source), None)
        crafted = right[own] if own is not None else classify(source, batch, " on clean clips")[0] == labels
    if not bool(crafted.any()):
        return
    sub, sub_labels = (batch.index(crafted), labels[crafted]) if only_correct else (batch, labels)
    for attack in attacks:
        outcome: Outcome = state["outcomes"][attack.label]
        start = time.perf_counter()
        adv = within_memory(lambda m, a=attack: a(m, sub, sub_labels, generator=attack_generator(a, end, batch.video.device)),
                          source, sub.size)
        outcome.seconds += time.perf_counter() - start
        check_budget(attack, sub, adv)
        if emit is not None:
            emit(attack.label, adv, sub_labels)
        outcome.meter.update(sub, adv)
        for v, model in victims.items():
            pred, cosine = classify(model, adv, f" on {attack.label} examples")
            flags = torch.zeros(batch.size, dtype=torch.bool)
            flags[crafted.cpu()] = (pred == sub_labels).cpu()
            outcome.robust[v][sl] = flags & right[v].cpu()
            outcome.cosine[v] += float(cosine.sum())


def _fresh_state(victims: Mapping[str, AVModel], attacks: Sequence[Attack], n: int) -> dict[str, Any]:
    return {"clean": {v: torch.zeros(n, dtype=torch.bool) for v in victims},
            "outcomes": {a.label: Outcome(a, {v: torch.zeros(n, dtype=torch.bool) for v in victims},
                                          {v: 0.0 for v in victims},
                                          PerceptibilityMeter(a.threat.video.norm, a.threat.audio.norm))
                         for a in attacks}}


def _dump(state: dict[str, Any]) -> dict[str, Any]:
    return {"clean": {v: f.tolist() for v, f in state["clean"].items()},
            "outcomes": {label: {"robust": {v: f.tolist() for v, f in o.robust.items()}, "cosine": o.cosine,
                                 "meter": o.meter.state(), "seconds": o.seconds}
                         for label, o in state["outcomes"].items()}}


def _load_progress(path: Path | None, key: dict[str, Any] | None, state: dict[str, Any]) -> int:
    """Restore a saved state of the same job into ``state``; return the number of batches done."""
    if path is None or not path.exists():
        return 0
    saved = json.loads(path.read_text())
    if saved.get("key") != key:
        return 0
    state["clean"] = {v: torch.tensor(f, dtype=torch.bool) for v, f in saved["clean"].items()}
    for label, o in saved["outcomes"].items():
        outcome = state["outcomes"][label]
        outcome.robust = {v: torch.tensor(f, dtype=torch.bool) for v, f in o["robust"].items()}
        outcome.cosine, outcome.seconds = o["cosine"], o["seconds"]
        outcome.meter.load_state(o["meter"])
    return int(saved["batches"])


def _reduce(state: dict[str, Any]) -> None:
    """Each batch was handled by one process: summing the flags and sums gathers them exactly."""
    state["clean"] = {v: all_reduce_sum(f.to(torch.int32)).bool() for v, f in state["clean"].items()}
    for outcome in state["outcomes"].values():
        outcome.robust = {v: all_reduce_sum(f.to(torch.int32)).bool() for v, f in outcome.robust.items()}
        sums = all_reduce_sum(torch.tensor(list(outcome.cosine.values()), dtype=torch.float64))
        outcome.cosine = {v: float(c) for v, c in zip(outcome.cosine, sums)}
        outcome.meter.merge_ranks()
        outcome.seconds = all_reduce_max(outcome.seconds)
