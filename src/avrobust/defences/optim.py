"""The optimiser and the learning-rate schedule of the training loop (:mod:`avrobust.defences.trainer`)."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from avrobust.defences.runstate import Schedule
from avrobust.models.finetune import parameter_groups

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float,
                   backbone_lr: float | None, fusion_lr: float | None = None) -> torch.optim.Optimizer:
    """AdamW (decoupled decay) or SGD (momentum 0.9, Nesterov) over the parameter groups of
    :func:`~avrobust.models.finetune.parameter_groups` (pretrained backbones and attention fusions' mixing
    layers at their own rates)."""
    groups = parameter_groups(model, lr, backbone_lr, fusion_lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def warmup_factor(step: int, warm: int, steps: int, cosine: bool) -> float:
    """The peak rate's multiplier at update ``step`` (0-based): linear from 1/warm to 1 over the first ``warm``
    updates, then cosine to 0 at ``steps`` (or constant)."""
    if step < warm:
        return (step + 1) / warm
    if not cosine:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(steps - warm, 1)))


def make_schedule(optimizer: torch.optim.Optimizer, name: str, steps: int, warm: int) -> Schedule:
    """The per-update schedule ``name`` (cosine or constant) of a run of ``steps`` updates, after ``warm``
    updates of linear warm-up (a LambdaLR, resumable from its update count)."""
    if warm > 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(
            warmup_factor, warm=warm, steps=max(steps, 1), cosine=name == "cosine"))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
