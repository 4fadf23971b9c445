"""One evaluation of one classifier, from its plan to its result.

:func:`evaluate_classifier` runs what an :class:`EvaluationPlan` asks for: clean counts, the
white-box cascade (a named suite, then the attacks), TMA transferred from a surrogate, an eps or
steps sweep and the gradient-masking checks. :func:`evaluation_result` then builds the
:class:`~avrobust.results.EvaluationResult` once from those typed parts, taking the worst case once
over every attack. ``avrobust evaluate``, the Python API and the ablation all go through it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.attacks.base import Attack
from avrobust.console import warn
from avrobust.data import AVDataset
from avrobust.device import check_precision, describe
from avrobust.evaluation import cascade
from avrobust.evaluation.cascade import Cascade, transfer_robustness, worst_case
from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.curves import parse_sweep, run_sweep
from avrobust.evaluation.masking import masking_checks, zero_gradient_share
from avrobust.evaluation.metrics import Counts
from avrobust.evaluation.suites import TRANSFER_LABEL, suite_attacks
from avrobust.models.interface import AVModel, model_device
from avrobust.results import AttackResult, EvaluationResult, SweepResult


@dataclass(frozen=True)
class EvaluationPlan:
    """What to run besides the clean metrics; every part is checked when the plan is made.

    Attributes:
        attacks: ``--attack`` values (``"fgsm,pgd"``, ``"pgd:steps=50"``); empty: clean only.
        threat: budgets and modalities (default :class:`ThreatModel`); steps, restarts, seed: defaults
            for every attack that takes them (a spec's own options win).
        suite: a named attack suite (:mod:`~avrobust.evaluation.suites`) run before ``attacks``; it also
            runs the gradient-masking checks.
        sweep: ``eps=2/255,4/255`` or ``steps=1,2,5``: ``attacks`` again at each value.
        precision: ``fp32``, ``bf16`` or ``fp16``: the models' forward passes (perturbations stay float32).
    """

    attacks: tuple[str, ...] = ()
    threat: ThreatModel | None = None
    steps: int | None = None
    restarts: int | None = None
    seed: int = 0
    suite: str | None = None
    sweep: str | None = None
    precision: str = "fp32"
    _built: dict[str, list[Attack]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attacks", tuple(self.attacks))
        check_precision(self.precision)
        if self.sweep is not None:
            parse_sweep(self.sweep)
        # an unknown attack, option or suite fails before any work; the attacks are built once, here
        specs = [*(suite_attacks(self.suite) if self.suite else []), *self.attacks]
        self._built["white"] = build_attacks(specs, self.threat, steps=self.steps, restarts=self.restarts,
                                             seed=self.seed)

    def white_box(self) -> list[Attack]:
        """The cascade's attacks: the suite's, then ``attacks`` (built once, when the plan was made)."""
        return self._built["white"]

    def transferred(self) -> Attack:
        """The attack crafted on a surrogate: TMA with the plan's budgets, steps and seed (built on first use)."""
        if "moved" not in self._built:
            self._built["moved"] = build_attacks(["tma"], self.threat, steps=self.steps, seed=self.seed)
        return self._built["moved"][0]


@dataclass(frozen=True)
class Surrogate:
    """An undefended model whose TMA examples are transferred to the evaluated one: its ``name`` in the
    attack's label and the ``path`` it was loaded from."""

    name: str
    model: AVModel
    path: str


def evaluate_classifier(model: AVModel, dataset: AVDataset, plan: EvaluationPlan | None = None, *,
                        surrogate: Surrogate | None = None, indices: torch.Tensor | None = None,
                        batch_size: int = 128, model_name: str = "", checkpoint: str = "",
                        progress_file: str | Path | None = None, show_progress: bool = False) -> EvaluationResult:
    """Clean metrics of any classifier (zoo, wrapped or ensemble) on ``dataset`` (or the clips at
    ``indices``) and what ``plan`` adds; ``progress_file``: the cascade's resumable progress."""
    plan = plan or EvaluationPlan()
    start, p = time.perf_counter(), plan.precision
    counts = clean_counts(model, dataset, batch_size, indices=indices, show_progress=show_progress, precision=p)
    attacks = plan.white_box()
    attack_batch = min(batch_size, 64)
    ran = cascade.run_cascade(model, dataset, attacks, batch_size=attack_batch, indices=indices,
                              show_progress=show_progress, progress_file=progress_file, precision=p) if attacks else None
    transferred: dict[str, AttackResult] = {}
    if surrogate is not None:
        transferred[TRANSFER_LABEL.format(surrogate=surrogate.name)] = transfer_robustness(
            model, surrogate.model, dataset, plan.transferred(), indices=indices, batch_size=attack_batch,
            show_progress=show_progress, precision=p)
    sweep = run_sweep(model, dataset, plan.attacks, plan.sweep, threat=plan.threat, steps=plan.steps,
                      restarts=plan.restarts, seed=plan.seed, indices=indices, batch_size=attack_batch,
                      show_progress=show_progress, precision=p) if plan.sweep is not None else None
    zero = zero_gradient_share(model, dataset, indices=indices, precision=p) if plan.suite or surrogate else None
    return evaluation_result(dataset, counts, ran, transferred, sweep=sweep, zero_gradients=zero,
                             suite=plan.suite, surrogate=surrogate.path if surrogate else None,
                             unimodal=model.unimodal_definition, model=model_name, checkpoint=checkpoint,
                             device=describe(model_device(model)), precision=p, seconds=time.perf_counter() - start)


def evaluation_result(dataset: AVDataset, counts: Counts, ran: Cascade | None,
                      transferred: dict[str, AttackResult], *, sweep: SweepResult | None = None,
                      zero_gradients: dict[str, float] | None = None, suite: str | None = None,
                      surrogate: str | None = None, unimodal: str | None = None, model: str = "",
                      checkpoint: str = "", device: str = "", precision: str = "fp32",
                      seconds: float = 0.0) -> EvaluationResult:
    """The one place an :class:`~avrobust.results.EvaluationResult` is made: the worst case is the AND
    of every attack's per-clip flags (white box and transferred); with ``zero_gradients`` (a suite or a
    surrogate ran) the gradient-masking checks run and each warning is printed as one line."""
    attacks = {**(ran.attacks if ran else {}), **transferred}
    clean = ran.clean if ran is not None else torch.ones(counts.n, dtype=torch.bool)
    warnings = None
    if zero_gradients is not None:
        warnings = masking_checks(attacks, zero_gradients, counts.n)
        for line in warnings:
            warn(line)
    return EvaluationResult(
        data=dataset.spec, split=dataset.split, **counts.metrics(), attacks=attacks,
        clean_correct=ran.clean_correct if ran is not None else None,
        worst_case_robust_accuracy=worst_case(clean, [a.robust_flags for a in attacks.values()]),
        model=model, checkpoint=checkpoint, surrogate=surrogate, suite=suite, zero_gradient_share=zero_gradients,
        warnings=warnings, unimodal=unimodal, sweep=sweep, device=device, precision=precision,
        seconds=round(seconds, 3))
