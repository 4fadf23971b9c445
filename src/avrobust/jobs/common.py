"""What every job that reads a trained model shares: which data it is evaluated on, and which clips."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from avrobust.checkpoint import Checkpoint, check_classes, load_checkpoint
from avrobust.data import AVDataset, load_dataset
from avrobust.errors import ConfigError


def run_data(meta: Mapping[str, Any], data: str | None, split: str, who: str = "the checkpoint") -> AVDataset:
    """The ``split`` of ``data``, by default of the data the model was trained on; refused when the
    classes differ or no data is known."""
    spec = data or meta.get("data_spec")
    if not spec:
        raise ConfigError(f"{who} records no data spec; pass --data")
    dataset = load_dataset(spec, split)
    check_classes(meta, dataset, who)
    return dataset


def first_clips(dataset: AVDataset, limit: int | None) -> torch.Tensor | None:
    """Indices of the first ``limit`` clips (``None``: all)."""
    if limit is None:
        return None
    if limit < 1:
        raise ConfigError(f"--n must be >= 1, got {limit}")
    return torch.arange(min(limit, len(dataset)))


def load_peer(run_dir: str, dataset: AVDataset, role: str) -> Checkpoint:
    """A second trained model (a surrogate, a twin) for ``dataset``: refused when its classes differ."""
    loaded = load_checkpoint(run_dir)
    check_classes(loaded.meta, dataset, f"the {role} {run_dir}")
    return loaded
