"""``avrobust evaluate``: a checkpoint's clean, audio-only and visual-only accuracy and its robustness."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.attacks import ThreatModel
from avrobust.checkpoint import load_checkpoint
from avrobust.errors import ConfigError
from avrobust.evaluation import EvaluationPlan, Surrogate, evaluate_classifier
from avrobust.jobs.common import first_clips, load_peer, run_data
from avrobust.results import EvaluationResult


def evaluate_checkpoint(
    run_dir: str | Path, data: str | None = None, split: str = "test", batch_size: int = 128,
    *, attacks: Sequence[str] = (), threat: ThreatModel | None = None, steps: int | None = None,
    restarts: int | None = None, seed: int = 0, limit: int | None = None, show_progress: bool = False,
    suite: str | None = None, surrogate: str | Path | None = None, progress_file: str | Path | None = None,
    sweep: str | None = None, precision: str = "fp32",
) -> EvaluationResult:
    """Evaluate a checkpoint on ``split`` of ``data`` (default: the data spec it was trained on).

    Args:
        attacks, threat, steps, restarts, seed, suite, sweep, precision: the
            :class:`~avrobust.evaluation.EvaluationPlan`
            (attacks as ``--attack`` values, ``"fgsm,pgd"`` or ``"pgd:steps=50"``; empty: clean only).
        limit: evaluate the first ``limit`` clips only.
        surrogate: a run directory; TMA crafted on it is transferred to this model and enters the
            worst case (and the gradient-masking checks).
        progress_file: where the attack cascade saves its progress after every batch; a rerun
            continues from it (see :func:`~avrobust.evaluation.cascade.run_cascade`).
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    plan = EvaluationPlan(tuple(attacks), threat, steps, restarts, seed, suite, sweep, precision)  # checked now
    ckpt = load_checkpoint(run_dir)
    dataset = run_data(ckpt.meta, data, split)
    source = None
    if surrogate is not None:
        loaded = load_peer(surrogate, dataset, "surrogate")
        source = Surrogate(loaded.meta.get("model_name") or Path(surrogate).name, loaded.model, str(surrogate))
    return evaluate_classifier(ckpt.model, dataset, plan, surrogate=source, indices=first_clips(dataset, limit),
                               batch_size=batch_size, model_name=ckpt.meta.get("model_name", ""),
                               checkpoint=str(run_dir), progress_file=progress_file, show_progress=show_progress)
