"""Defences and training: the one loop (``trainer``, run state in ``runstate``) and one module per registered
method: ``standard``, ``mixup``, ``pgd_at``, ``trades``, ``crmt`` (crmt-at), the fast baselines ``fast``
(fgsm-rs, n-fgsm) and ``free`` (free-at), and ours, ``avat``
(efficient crafting in ``sampling``, the curriculum in ``curriculum``). A new method is one module with
``@register_method("name")`` on a :class:`TrainingMethod`."""

from avrobust.defences.base import METHODS, TrainingMethod, create_method, method_for, register_method
from avrobust.registry import import_submodules
from avrobust.defences.curriculum import Curriculum, Schedule
from avrobust.defences.runstate import TrainState, prepare_run_dir
from avrobust.defences.trainer import TrainConfig, train

import_submodules(__name__)  # every method module registers itself

__all__ = ["METHODS", "Curriculum", "Schedule", "TrainingMethod", "TrainConfig", "TrainState", "create_method", "method_for",
           "prepare_run_dir", "register_method", "train"]
