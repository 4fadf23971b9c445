"""Evaluation: the attack-and-score engine (:mod:`.engine`), clean counts (:mod:`.clean`), the
white-box cascade and transferred attacks (:mod:`.robust`), attack suites (:mod:`.suites`),
gradient-masking checks (:mod:`.masking`), sweeps (:mod:`.sweep`), transfer matrices
(:mod:`.transfer`), perceptibility, and one evaluation from plan to result (:mod:`.evaluate`)."""

from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.plan import EvaluationPlan, Surrogate, evaluate_classifier, evaluation_result
from avrobust.evaluation.metrics import Counts, ModelOutputError

__all__ = ["Counts", "EvaluationPlan", "ModelOutputError", "Surrogate", "clean_counts", "evaluate_classifier",
           "evaluation_result"]
