"""Deprecated: :mod:`avrobust.evaluation.clean` (clean counts) and :mod:`avrobust.evaluation.evaluate`
(one evaluation); this module goes in the next release."""

from __future__ import annotations

import warnings

import torch

from avrobust.data import AVDataset
from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.evaluate import evaluate_classifier
from avrobust.models.interface import AVModel
from avrobust.results import EvaluationResult

warnings.warn("avrobust.evaluation.runner is deprecated: use avrobust.evaluation.clean and "
              "avrobust.evaluation.evaluate_classifier", DeprecationWarning, stacklevel=2)


def evaluate_model(model: AVModel, dataset: AVDataset, batch_size: int = 128, *,
                   indices: torch.Tensor | None = None, show_progress: bool = False) -> EvaluationResult:
    """Clean metrics of ``model`` (deprecated: ``evaluate_classifier(model, dataset)``)."""
    return evaluate_classifier(model, dataset, batch_size=batch_size, indices=indices, show_progress=show_progress)


__all__ = ["clean_counts", "evaluate_model"]
