"""Standard (non-adversarial) training: cross-entropy of the fused and unimodal logits."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.defences.base import register_method, TrainingMethod
from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput
from avrobust.types import AVBatch


def supervised_loss(out: AVOutput, labels: torch.Tensor, unimodal_weight: float,
                    label_smoothing: float = 0.0) -> torch.Tensor:
    """``CE(fused) + unimodal_weight * (CE(audio head) + CE(visual head))``."""
    loss = F.cross_entropy(out.logits, labels, label_smoothing=label_smoothing)
    if unimodal_weight:
        loss = loss + unimodal_weight * (
            F.cross_entropy(out.audio_logits, labels, label_smoothing=label_smoothing)
            + F.cross_entropy(out.visual_logits, labels, label_smoothing=label_smoothing)
        )
    return loss


@register_method("standard")
class Standard(TrainingMethod):
    """Cross-entropy on clean clips.

    Our decision (not in the paper): the unimodal heads (p_a, p_v) get an auxiliary cross-entropy
    with weight ``unimodal_weight``, because fused-only training lets the faster modality (audio here,
    as on Kinetics-Sounds) starve the other (benchmarks/RESULTS.md). It also makes p_a, p_v meaningful
    for the Modality Misalignment Attack. Set it to 0 for fused-only training.

    Args:
        unimodal_weight: weight of the unimodal terms, >= 0 (default 1.0).
        label_smoothing: in [0, 1).
    """

    rank = 80

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"standard": "standard"}

    def __init__(self, unimodal_weight: float = 1.0, label_smoothing: float = 0.0) -> None:
        if not unimodal_weight >= 0:
            raise ConfigError(f"unimodal_weight must be >= 0, got {unimodal_weight}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must lie in [0, 1), got {label_smoothing}")
        self.unimodal_weight = unimodal_weight
        self.label_smoothing = label_smoothing

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        out = model(batch.video, batch.audio)
        return supervised_loss(out, labels, self.unimodal_weight, self.label_smoothing)

    def options(self) -> dict[str, Any]:
        return {"unimodal_weight": self.unimodal_weight, "label_smoothing": self.label_smoothing}
