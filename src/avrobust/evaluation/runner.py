"""Evaluation: clean, unimodal and robust accuracy of a model or checkpoint on a dataset split.

The JSON result (``SCHEMA_VERSION``) holds ``n``, ``clean_accuracy``, ``audio_only_accuracy``
(the audio head p_a alone), ``visual_only_accuracy`` (p_v alone), an ``attacks`` object (one entry
per attack) and, when attacks ran, ``worst_case_robust_accuracy``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import load_checkpoint
from avrobust.console import progress
from avrobust.data import AVDataset, load_dataset
from avrobust.distributed import all_reduce_sum, context
from avrobust.errors import CheckpointError, ConfigError
from avrobust.evaluation.metrics import Counts, check_finite
from avrobust.evaluation.defence import TRANSFER_LABEL, defence_checks, suite_attacks, transfer_robustness
from avrobust.evaluation.robust import robust_evaluation
from avrobust.models.classifier import AVClassifier

SCHEMA_VERSION = 1


@torch.no_grad()
def clean_counts(
    model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *, show_progress: bool = False,
    indices: torch.Tensor | None = None,
) -> Counts:
    """Count correct fused / audio-only / visual-only predictions (model in eval mode, restored).

    Under torchrun each process counts its share of the batches and the counts are summed exactly.
    """
    was_training = model.training
    model.eval()
    counts = Counts()
    device = next(model.parameters()).device
    ctx = context()
    try:
        chunks = dataset.batch_indices(batch_size, indices=indices)
        for i, chunk in enumerate(progress(chunks, total=len(chunks), description="evaluate", enabled=show_progress)):
            if not ctx.mine(i):
                continue
            batch, labels = dataset.batch(chunk)
            if i == ctx.rank:  # this process's first batch
                model.check_batch(batch)
            batch.validate()
            batch = batch.to(device)
            output = model(batch.video, batch.audio)
            check_finite(output, f" on batch {i}")
            counts.update(output, labels.to(device))
    finally:
        model.train(was_training)
    return Counts.from_tensor(all_reduce_sum(counts.as_tensor())) if ctx.enabled else counts


def evaluate_model(model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *,
                   indices: torch.Tensor | None = None, show_progress: bool = False) -> dict[str, Any]:
    """Clean metrics of ``model`` on ``dataset`` (or the clips at ``indices``) as a JSON-ready dict."""
    start = time.perf_counter()
    metrics = clean_counts(model, dataset, batch_size, indices=indices, show_progress=show_progress).metrics()
    return {
        "schema_version": SCHEMA_VERSION,
        "split": dataset.split,
        "data": dataset.spec,
        **metrics,
        "attacks": {},
        "seconds": round(time.perf_counter() - start, 3),
    }


def check_classes(meta: dict[str, Any], dataset: AVDataset) -> None:
    """Raise if the checkpoint's class names differ from the dataset's."""
    trained = meta.get("class_names", [])
    if trained != dataset.class_names:
        diff = next((i for i, (a, b) in enumerate(zip(trained, dataset.class_names)) if a != b), None)
        where = f"first difference at index {diff}" if diff is not None else "different class counts"
        raise CheckpointError(
            f"the checkpoint was trained on {len(trained)} classes and the data has "
            f"{len(dataset.class_names)} with another mapping ({where}); evaluate on the data it was trained on"
        )


def evaluate_checkpoint(
    run_dir: str | Path, data: str | None = None, split: str = "test", batch_size: int = 128,
    *, attacks: Sequence[str] = (), threat: ThreatModel | None = None, steps: int | None = None,
    restarts: int | None = None, seed: int = 0, limit: int | None = None, show_progress: bool = False,
    suite: str | None = None, surrogate: str | Path | None = None, progress_file: str | Path | None = None,
) -> dict[str, Any]:
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

    Returns:
        The clean metrics plus ``attacks`` (one entry per attack, see
        :func:`~avrobust.evaluation.robust.robust_evaluation`) and ``worst_case_robust_accuracy``.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--n must be >= 1, got {limit}")
    attacks = [*(suite_attacks(suite) if suite else []), *attacks]
    attack_list = build_attacks(attacks, threat, steps=steps, restarts=restarts, seed=seed)
    ckpt = load_checkpoint(run_dir)
    spec = data or ckpt.meta.get("data_spec")
    if not spec:
        raise ConfigError("the checkpoint records no data spec; pass --data")
    dataset = load_dataset(spec, split)
    check_classes(ckpt.meta, dataset)
    indices = None if limit is None else torch.arange(min(limit, len(dataset)))
    start = time.perf_counter()
    result = evaluate_model(ckpt.model, dataset, batch_size, indices=indices, show_progress=show_progress)
    result["checkpoint"] = str(run_dir)
    result["model"] = ckpt.meta.get("model_name", "")
    if attack_list:
        robust = robust_evaluation(ckpt.model, dataset, attack_list, batch_size=min(batch_size, 64),
                                   indices=indices, show_progress=show_progress, progress_file=progress_file)
        result["attacks"] = robust["attacks"]
        result["worst_case_robust_accuracy"] = robust["worst_case_robust_accuracy"]
    if surrogate is not None:
        source = load_checkpoint(surrogate)
        check_classes(source.meta, dataset)
        tma = build_attacks(["tma"], threat, steps=steps, seed=seed)[0]
        label = TRANSFER_LABEL.format(surrogate=source.meta.get("model_name") or Path(surrogate).name)
        result["attacks"][label] = transfer_robustness(ckpt.model, source.model, dataset, tma, indices=indices,
                                                       batch_size=min(batch_size, 64), show_progress=show_progress)
        result["surrogate"] = str(surrogate)
        flags = torch.stack([torch.tensor(r["robust_flags"], dtype=torch.bool) for r in result["attacks"].values()])
        result["worst_case_robust_accuracy"] = float(flags.all(0).sum()) / max(result["n"], 1)
    if suite or surrogate is not None:
        result["suite"] = suite
        defence_checks(ckpt.model, dataset, result, indices=indices)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result
