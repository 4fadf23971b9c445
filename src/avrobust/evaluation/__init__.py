"""Evaluation: metrics, the runner, reports."""

from avrobust.evaluation.metrics import Counts, ModelOutputError
from avrobust.evaluation.runner import SCHEMA_VERSION, evaluate_checkpoint, evaluate_model

__all__ = ["Counts", "ModelOutputError", "SCHEMA_VERSION", "evaluate_checkpoint", "evaluate_model"]
