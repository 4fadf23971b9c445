"""Training: the one loop (``trainer``) and the registered methods: ``standard``, ``pgd-at``,
``trades``, ``mixup``, ``crmt-at`` and ours, ``avat`` (efficient crafting and the curriculum)."""

from avrobust.defenses import adversarial as _adversarial  # noqa: F401  (registers pgd-at, avat, trades)
from avrobust.defenses import crmt as _crmt  # noqa: F401  (registers crmt-at)
from avrobust.defenses import mixup as _mixup  # noqa: F401  (registers mixup)
from avrobust.defenses import standard as _standard  # noqa: F401  (registers "standard")
from avrobust.defenses.base import METHODS, TrainingMethod, create_method, eval_mode
from avrobust.defenses.curriculum import Curriculum, Schedule
from avrobust.defenses.trainer import TrainConfig, prepare_run_dir, train

__all__ = ["METHODS", "Curriculum", "Schedule", "TrainingMethod", "TrainConfig", "create_method", "eval_mode",
           "prepare_run_dir", "train"]
