"""``avrobust evaluate``: a checkpoint's clean, audio-only and visual-only accuracy and its robustness."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.attacks.base import Attack
from avrobust.checkpoint import load_checkpoint
from avrobust.data import AVDataset
from avrobust.errors import ConfigError
from avrobust.evaluation.defence import TRANSFER_LABEL, defence_checks, suite_attacks, transfer_robustness
from avrobust.evaluation.robust import robust_evaluation, worst_case
from avrobust.evaluation.runner import evaluate_model
from avrobust.evaluation.sweep import parse_sweep, run_sweep
from avrobust.jobs.common import check_classes, first_clips, run_data
from avrobust.results import EvaluationResult


def evaluate_checkpoint(
    run_dir: str | Path, data: str | None = None, split: str = "test", batch_size: int = 128,
    *, attacks: Sequence[str] = (), threat: ThreatModel | None = None, steps: int | None = None,
    restarts: int | None = None, seed: int = 0, limit: int | None = None, show_progress: bool = False,
    suite: str | None = None, surrogate: str | Path | None = None, progress_file: str | Path | None = None,
    sweep: str | None = None,
) -> EvaluationResult:
    """Evaluate a checkpoint on ``split`` of ``data`` (default: the data spec it was trained on).

    Args:
        attacks: ``--attack`` values (``"fgsm,pgd"`` or ``"pgd:steps=50"``); empty: clean only.
        threat: budgets and modalities (default :class:`ThreatModel`); steps, restarts, seed:
            defaults for every attack that takes them (a spec's own options win).
        limit: evaluate the first ``limit`` clips only.
        suite: a named attack suite run before ``attacks`` (``defence``, see
            :mod:`~avrobust.evaluation.defence`); it also runs the gradient-masking checks.
        surrogate: a run directory; TMA crafted on it is transferred to this model and enters the
            worst case (and the checks).
        progress_file: where the attack cascade saves its progress after every batch; a rerun
            continues from it (see :func:`~avrobust.evaluation.robust.robust_evaluation`).
        sweep: ``eps=2/255,4/255,8/255`` or ``steps=1,2,5,10``: ``attacks`` again at each value
            (:mod:`~avrobust.evaluation.sweep`), stored as the result's ``sweep``.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    if sweep is not None:
        parse_sweep(sweep)  # a bad sweep fails before any work
    attack_list = build_attacks([*(suite_attacks(suite) if suite else []), *attacks], threat, steps=steps,
                                restarts=restarts, seed=seed)
    ckpt = load_checkpoint(run_dir)
    dataset = run_data(ckpt.meta, data, split)
    indices = first_clips(dataset, limit)
    start = time.perf_counter()
    result = evaluate_classifier(ckpt.model, dataset, attack_list, batch_size=batch_size, indices=indices,
                                 show_progress=show_progress, progress_file=progress_file)
    result.checkpoint, result.model = str(run_dir), ckpt.meta.get("model_name", "")
    if surrogate is not None:
        source = load_checkpoint(surrogate)
        check_classes(source.meta, dataset, f"the surrogate {surrogate}")
        tma = build_attacks(["tma"], threat, steps=steps, seed=seed)[0]
        label = TRANSFER_LABEL.format(surrogate=source.meta.get("model_name") or Path(surrogate).name)
        result.attacks[label] = transfer_robustness(ckpt.model, source.model, dataset, tma, indices=indices,
                                                    batch_size=min(batch_size, 64), show_progress=show_progress)
        result.surrogate = str(surrogate)
        flags = [torch.tensor(r.robust_flags, dtype=torch.bool) for r in result.attacks.values()]
        result.worst_case_robust_accuracy = worst_case(torch.ones(result.n, dtype=torch.bool), flags)
    if sweep is not None:
        result.sweep = run_sweep(ckpt.model, dataset, attacks, sweep, threat=threat, steps=steps, restarts=restarts,
                                 seed=seed, indices=indices, batch_size=min(batch_size, 64), show_progress=show_progress)
    if suite or surrogate is not None:
        result.suite = suite
        defence_checks(ckpt.model, dataset, result, indices=indices)
    result.seconds = round(time.perf_counter() - start, 3)
    return result


def evaluate_classifier(model: nn.Module, dataset: AVDataset, attacks: Sequence[Attack], *, batch_size: int = 128,
                        indices: torch.Tensor | None = None, show_progress: bool = False,
                        progress_file: str | Path | None = None) -> EvaluationResult:
    """Clean metrics of any classifier (native or wrapped) and, with ``attacks``, its white-box cascade."""
    result = evaluate_model(model, dataset, batch_size, indices=indices, show_progress=show_progress)
    if attacks:
        robust = robust_evaluation(model, dataset, attacks, batch_size=min(batch_size, 64), indices=indices,
                                   show_progress=show_progress, progress_file=progress_file)
        result.attacks, result.clean_correct = robust["attacks"], robust["clean_correct"]
        result.worst_case_robust_accuracy = robust["worst_case_robust_accuracy"]
    return result
