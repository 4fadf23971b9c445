"""Subsample augmentation, MMCert's base classifier (Wang et al., CVPR 2024): train on clips of which only
``k_video`` random frames and ``k_audio`` random audio segments are kept (the others black and silent), the
inputs ``mmcert:k_video=...,k_audio=...`` will show the model, so that its vote over subsamples is right
often enough to certify."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.defences.base import SeededMethod, register_method
from avrobust.defences.standard import supervised_loss
from avrobust.errors import ConfigError
from avrobust.seeding import generator
from avrobust.types import AVBatch


@register_method("subsample-aug")
class SubsampleAugmentation(SeededMethod):
    """Cross-entropy on clips reduced to random frames and audio segments.

    Args:
        k_video: frames kept per clip (default 1); k_audio: audio segments kept (default 1), each at most T.
        unimodal_weight: as ``standard``.
    """

    rank = 46

    def __init__(self, k_video: int = 1, k_audio: int = 1, unimodal_weight: float = 1.0) -> None:
        if int(k_video) != k_video or int(k_audio) != k_audio or min(k_video, k_audio) < 1:
            raise ConfigError(f"subsample-aug: k_video and k_audio must be whole numbers >= 1, got {k_video} and {k_audio}")
        if not unimodal_weight >= 0:
            raise ConfigError(f"subsample-aug: unimodal_weight must be >= 0, got {unimodal_weight}")
        self.k_video, self.k_audio, self.unimodal_weight = int(k_video), int(k_audio), float(unimodal_weight)
        self._gen = generator(0)

    def subsampled(self, batch: AVBatch) -> AVBatch:
        """The batch with all but ``k_video`` frames black and all but ``k_audio`` segments silent, per clip."""
        if max(self.k_video, self.k_audio) > batch.frames:
            raise ConfigError(f"subsample-aug: k_video ({self.k_video}) and k_audio ({self.k_audio}) must be at most "
                              f"the clips' {batch.frames} frames")

        def dropped(k: int) -> torch.Tensor:
            ranks = torch.rand(batch.size, batch.frames, generator=self._gen).argsort(1).argsort(1)
            return (ranks >= k).to(batch.video.device)

        return batch.mask_segments(dropped(self.k_video), dropped(self.k_audio))

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        shown = self.subsampled(batch)
        return supervised_loss(model(shown.video, shown.audio), labels, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {"k_video": self.k_video, "k_audio": self.k_audio, "unimodal_weight": self.unimodal_weight}
