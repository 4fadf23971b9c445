"""Evaluation: clean and unimodal accuracy of a model or checkpoint on a dataset split.

The JSON result (``SCHEMA_VERSION``) holds ``n``, ``clean_accuracy``, ``audio_only_accuracy``
(the audio head p_a alone), ``visual_only_accuracy`` (p_v alone) and an ``attacks`` object that the
attack engine fills (one entry per attack).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from avrobust.checkpoint import load_checkpoint
from avrobust.console import progress
from avrobust.data import AVDataset, load_dataset
from avrobust.errors import CheckpointError, ConfigError
from avrobust.evaluation.metrics import Counts, check_finite
from avrobust.models.classifier import AVClassifier

SCHEMA_VERSION = 1


@torch.no_grad()
def clean_counts(
    model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *, show_progress: bool = False,
    indices: torch.Tensor | None = None,
) -> Counts:
    """Count correct fused / audio-only / visual-only predictions (model in eval mode, restored)."""
    was_training = model.training
    model.eval()
    counts = Counts()
    device = next(model.parameters()).device
    try:
        batches = dataset.batches(batch_size, indices=indices)
        total = dataset.num_batches(batch_size) if indices is None else -(-len(indices) // batch_size)
        for i, (batch, labels) in enumerate(progress(batches, total=total, description="evaluate", enabled=show_progress)):
            if i == 0:
                model.check_batch(batch)
            batch.validate()
            batch = batch.to(device)
            output = model(batch.video, batch.audio)
            check_finite(output, f" on batch {i}")
            counts.update(output, labels.to(device))
    finally:
        model.train(was_training)
    return counts


def evaluate_model(model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *,
                   show_progress: bool = False) -> dict[str, Any]:
    """Clean metrics of ``model`` on ``dataset`` as a JSON-ready dict."""
    start = time.perf_counter()
    metrics = clean_counts(model, dataset, batch_size, show_progress=show_progress).metrics()
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
    *, show_progress: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint on ``split`` of ``data`` (default: the data spec it was trained on)."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    ckpt = load_checkpoint(run_dir)
    spec = data or ckpt.meta.get("data_spec")
    if not spec:
        raise ConfigError("the checkpoint records no data spec; pass --data")
    dataset = load_dataset(spec, split)
    check_classes(ckpt.meta, dataset)
    result = evaluate_model(ckpt.model, dataset, batch_size, show_progress=show_progress)
    result["checkpoint"] = str(run_dir)
    result["model"] = ckpt.meta.get("model_name", "")
    return result
