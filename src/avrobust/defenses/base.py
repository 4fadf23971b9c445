"""Training methods: how one batch becomes a loss. The trainer owns everything else.

A method is registered in ``METHODS`` and built with ``create_method(name, **options)``. Adversarial
methods craft their examples inside :meth:`TrainingMethod.loss` (the trainer has already put the
model in train mode; crafting switches to eval mode and back).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.registry import Registry
from avrobust.types import AVBatch

METHODS: Registry[TrainingMethod] = Registry("training method")


class TrainingMethod:
    """Base class: subclasses set ``name`` and implement :meth:`loss`."""

    name = ""

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        """The scalar training loss for one batch (model in train mode)."""
        raise NotImplementedError

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int) -> dict[str, Any]:
        """Called before each epoch (0-based); returns the values to log (e.g. curriculum)."""
        return {}

    def options(self) -> dict[str, Any]:
        """The method's hyper-parameters, for the run summary."""
        return {}


def create_method(name: str, **options: Any) -> TrainingMethod:
    """Build a registered training method."""
    return METHODS.create(name, **options)
