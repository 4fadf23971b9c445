"""Gaussian noise augmentation (Cohen, Rosenfeld and Kolter, ICML 2019, Section 3.3), the base classifier
of randomized smoothing: train on ``x + e`` with ``e ~ N(0, sigma^2 I)`` per modality in raw units (frames
in [0, 1], waveform in [-1, 1]; the noise is not clipped, as the smoothed classifier will see it), so that
``avrobust certify --certifier smoothing:sigma_video=...,sigma_audio=...`` at the same sigmas has a base
model that tolerates its noise."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.defences.base import SeededMethod, register_method
from avrobust.defences.standard import supervised_loss
from avrobust.errors import ConfigError
from avrobust.seeding import generator
from avrobust.types import AVBatch


@register_method("gaussian-aug")
class GaussianAugmentation(SeededMethod):
    """Cross-entropy on noised clips.

    Args:
        sigma_video: noise std on the frames (default 0.25); sigma_audio: on the waveform (default 0.0: clean).
        unimodal_weight: as ``standard``.
    """

    rank = 45

    def __init__(self, sigma_video: float = 0.25, sigma_audio: float = 0.0, unimodal_weight: float = 1.0) -> None:
        if sigma_video < 0 or sigma_audio < 0:
            raise ConfigError(f"gaussian-aug: sigma_video and sigma_audio must be >= 0, got {sigma_video} and {sigma_audio}")
        if not unimodal_weight >= 0:
            raise ConfigError(f"gaussian-aug: unimodal_weight must be >= 0, got {unimodal_weight}")
        self.sigma_video, self.sigma_audio, self.unimodal_weight = float(sigma_video), float(sigma_audio), float(unimodal_weight)
        self._gen = generator(0)

    def noised(self, batch: AVBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's video and audio with this method's noise (drawn on the CPU generator, then moved)."""
        video, audio = batch.video, batch.audio
        if self.sigma_video > 0:
            video = video + self.sigma_video * torch.randn(video.shape, generator=self._gen).to(video.device)
        if self.sigma_audio > 0:
            audio = audio + self.sigma_audio * torch.randn(audio.shape, generator=self._gen).to(audio.device)
        return video, audio

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        return supervised_loss(model(*self.noised(batch)), labels, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {"sigma_video": self.sigma_video, "sigma_audio": self.sigma_audio, "unimodal_weight": self.unimodal_weight}
