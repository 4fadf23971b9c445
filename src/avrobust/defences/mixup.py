"""Mixup (Zhang et al., ICLR 2018, https://arxiv.org/abs/1710.09412), a robustness baseline of
CRMT and the paper: train on ``lam x_i + (1 - lam) x_j`` of both modalities with the same ``lam``
and pair, and ``lam CE(., y_i) + (1 - lam) CE(., y_j)``, ``lam ~ Beta(alpha, alpha)`` per batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from avrobust.defences.base import register_method, TrainingMethod, generator_state, restore_generator
from avrobust.defences.standard import supervised_loss
from avrobust.errors import ConfigError
from avrobust.seeding import generator
from avrobust.types import AVBatch


@register_method("mixup")
class Mixup(TrainingMethod):
    """Mixup of whole clips, video and audio with the same pair and weight.

    Args:
        alpha: Beta(alpha, alpha) parameter, > 0 (default 1.0); unimodal_weight: as ``standard``.
    """

    rank = 40

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"mixup": "mixup"}

    def __init__(self, alpha: float = 1.0, unimodal_weight: float = 1.0) -> None:
        if not alpha > 0:
            raise ConfigError(f"mixup: alpha must be > 0, got {alpha}")
        if not unimodal_weight >= 0:
            raise ConfigError(f"mixup: unimodal_weight must be >= 0, got {unimodal_weight}")
        self.alpha, self.unimodal_weight = float(alpha), float(unimodal_weight)
        self._rng = np.random.default_rng(0)
        self._gen = generator(0)

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        self._rng, self._gen = np.random.default_rng(seed), generator(seed)
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"numpy": self._rng.bit_generator.state, "torch": generator_state(self._gen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["numpy"]
        self._gen = restore_generator(state["torch"])

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        lam = float(self._rng.beta(self.alpha, self.alpha))
        perm = torch.randperm(batch.size, generator=self._gen).to(labels.device)
        video = lam * batch.video + (1 - lam) * batch.video[perm]
        audio = lam * batch.audio + (1 - lam) * batch.audio[perm]
        out = model(video, audio)
        return (lam * supervised_loss(out, labels, self.unimodal_weight)
                + (1 - lam) * supervised_loss(out, labels[perm], self.unimodal_weight))

    def options(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "unimodal_weight": self.unimodal_weight}
