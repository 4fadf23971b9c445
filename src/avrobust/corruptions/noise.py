"""Sensor noise: gaussian, impulse, shot and speckle. The frames get ImageNet-C's noise; the waveform
gets noise of the same kind, scaled per clip to AVRobustBench's SNRs (40, 30, 20, 10, 0 dB)."""

from __future__ import annotations

import torch

from avrobust.corruptions.base import Corruption, register_corruption
from avrobust.corruptions.sound import NOISE_SNR_DB, at_snr
from avrobust.types import AVBatch

FAMILY = "noise"


class _Noise(Corruption):
    """Audio half shared by the family: :meth:`noise` at the severity's SNR."""

    family = FAMILY
    audio_levels = tuple(f"{s:g} dB" for s in NOISE_SNR_DB)

    def noise(self, audio: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return at_snr(batch.audio, self.noise(batch.audio, g), NOISE_SNR_DB[severity - 1])


@register_corruption("gaussian")
class Gaussian(_Noise):
    video_effect = "additive Gaussian noise of std sigma on every pixel value"
    video_levels = (0.08, 0.12, 0.18, 0.26, 0.38)
    audio_effect = "white Gaussian noise at the SNR"

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        x = batch.video
        return x + self.video_levels[severity - 1] * torch.randn(x.shape, generator=g, device=x.device)

    def noise(self, audio: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return torch.randn(audio.shape, generator=g, device=audio.device)


@register_corruption("impulse")
class Impulse(_Noise):
    video_effect = "salt-and-pepper: this share of pixel values set to 0 or 1"
    video_levels = (0.03, 0.06, 0.09, 0.17, 0.27)
    audio_effect = "clicks: 5 % of samples get +-1 impulses, scaled to the SNR"

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        x = batch.video
        hit = torch.rand(x.shape, generator=g, device=x.device) < self.video_levels[severity - 1]
        salt = torch.rand(x.shape, generator=g, device=x.device) < 0.5
        return torch.where(hit, salt.to(x.dtype), x)

    def noise(self, audio: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        u = torch.rand(audio.shape, generator=g, device=audio.device)
        return (u > 0.975).to(audio.dtype) - (u < 0.025).to(audio.dtype)


@register_corruption("shot")
class Shot(_Noise):
    video_effect = "Poisson photon noise: Poisson(x * c) / c (fewer photons, more noise)"
    video_levels = (60, 25, 12, 5, 3)
    audio_effect = "Poisson noise of the min-max normalised waveform (rate 50), centred, scaled to the SNR"

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        c = self.video_levels[severity - 1]
        return torch.poisson(batch.video * c, generator=g) / c

    def noise(self, audio: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        lo, hi = audio.min(-1, keepdim=True).values, audio.max(-1, keepdim=True).values
        norm = torch.where(hi > lo, (audio - lo) / (hi - lo).clamp(min=1e-12), torch.full_like(audio, 0.5))
        return torch.poisson(norm * 50, generator=g) / 50 - norm


@register_corruption("speckle")
class Speckle(_Noise):
    video_effect = "multiplicative noise: x + x * N(0, sigma)"
    video_levels = (0.15, 0.2, 0.35, 0.45, 0.6)
    audio_effect = "multiplicative noise: the waveform times white noise, scaled to the SNR"

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        x = batch.video
        return x + x * self.video_levels[severity - 1] * torch.randn(x.shape, generator=g, device=x.device)

    def noise(self, audio: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return audio * torch.randn(audio.shape, generator=g, device=audio.device)
