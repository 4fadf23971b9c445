"""Evaluation: the attack-and-score engine, clean metrics, the white-box cascade, transfer
matrices, the defence suite and perceptibility."""

from avrobust.evaluation.metrics import Counts, ModelOutputError
from avrobust.evaluation.runner import clean_counts, evaluate_model

__all__ = ["Counts", "ModelOutputError", "clean_counts", "evaluate_model"]
