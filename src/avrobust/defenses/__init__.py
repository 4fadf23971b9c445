"""Training: the one loop and the registered methods (standard now; adversarial ones later)."""

from avrobust.defenses import standard as _standard  # noqa: F401  (registers "standard")
from avrobust.defenses.base import METHODS, TrainingMethod, create_method
from avrobust.defenses.trainer import TrainConfig, prepare_run_dir, train

__all__ = ["METHODS", "TrainingMethod", "TrainConfig", "create_method", "prepare_run_dir", "train"]
