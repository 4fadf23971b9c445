"""Training: the one loop (``trainer``, run state in ``runstate``) and one module per registered
method: ``standard``, ``mixup``, ``pgd_at``, ``trades``, ``crmt`` (crmt-at), the fast baselines ``fast``
(fgsm-rs, n-fgsm) and ``free`` (free-at), and ours, ``avat``
(efficient crafting in ``sampling``, the curriculum in ``curriculum``)."""

from avrobust.defenses import avat, crmt, fast, free, mixup, pgd_at, standard, trades  # noqa: F401  (registration)
from avrobust.defenses.base import METHODS, TrainingMethod, create_method
from avrobust.defenses.curriculum import Curriculum, Schedule
from avrobust.defenses.runstate import TrainState, prepare_run_dir
from avrobust.defenses.trainer import TrainConfig, train

__all__ = ["METHODS", "Curriculum", "Schedule", "TrainingMethod", "TrainConfig", "TrainState", "create_method",
           "prepare_run_dir", "train"]
