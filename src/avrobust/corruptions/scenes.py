"""Scenes: underwater, concert, smoke and crowd, AVRobustBench's scene corruptions: a visual effect of
the place and its sound bed (:mod:`~avrobust.corruptions.beds`) at 20, 15, 10, 5 and 0 dB SNR.

Departure: AVRobustBench's crowd pastes photographs of people over the frame; here the occluders are
synthesised silhouettes (a head over shoulders, in dark clothing colours) of the same sizes.
"""

from __future__ import annotations

import torch

from avrobust.corruptions import beds
from avrobust.corruptions.base import Corruption, register_corruption
from avrobust.corruptions.image import blur, brighten, px
from avrobust.corruptions.sound import BED_SNR_DB
from avrobust.types import AVBatch

FAMILY = "scene"


class _Scene(beds._Bed, Corruption):
    family = FAMILY
    audio_levels = tuple(f"{s:g} dB" for s in BED_SNR_DB)

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return self.bed_audio(batch.audio, batch.sample_rate, severity, g)


@register_corruption("underwater")
class Underwater(_Scene):
    video_effect = ("underwater: red kept (share), Gaussian blur (OpenCV kernel px at 224), contrast scaled, "
                    "15 % of a grey haze mixed in (haze level)")
    video_levels = ((0.9, 3, 0.9, 20), (0.7, 5, 0.8, 40), (0.5, 7, 0.7, 60), (0.3, 10, 0.6, 80), (0.1, 15, 0.5, 100))
    audio_effect = "underwater (synthesised rumble and bubbles) at the SNR"
    bed = staticmethod(beds.underwater)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        red, kernel, contrast, haze = self.video_levels[severity - 1]
        x = batch.video * torch.tensor([red, 1.0, 1.0], device=batch.video.device)[:, None, None]
        sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for a kernel size
        x = (contrast * blur(x, px(sigma, x.shape[-1]))).clamp(0, 1)
        return 0.85 * x + 0.15 * haze / 255


@register_corruption("concert")
class Concert(_Scene):
    video_effect = "stage lights: HSV value raised by this much (hue and saturation kept)"
    video_levels = (0.1, 0.2, 0.3, 0.4, 0.5)
    audio_effect = "a concert (synthesised chords, kick drum and crowd) at the SNR"
    bed = staticmethod(beds.concert)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return brighten(batch.video, self.video_levels[severity - 1])


@register_corruption("smoke")
class Smoke(_Scene):
    video_effect = ("smoke: uniform noise blurred (sigma px at 224) added (strength), then scaled by max / "
                    "(max + strength); drifting, new every frame")
    video_levels = ((1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4))
    audio_effect = "fire and a siren (synthesised crackle, roar and a distant siren) at the SNR"
    bed = staticmethod(beds.fire)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        strength, sigma = self.video_levels[severity - 1]
        x = batch.video
        n, t, _, h, w = x.shape
        pattern = blur(torch.rand(n, t, 1, h, w, generator=g, device=x.device), px(sigma, w))
        top = x.amax((2, 3, 4), keepdim=True)
        return (x + strength * pattern) * top / (top + strength)


@register_corruption("crowd")
class Crowd(_Scene):
    video_effect = "a person in front of the camera: a silhouette this share of the frame's side, at a random place"
    video_levels = (0.1, 0.2, 0.3, 0.4, 0.5)
    audio_effect = "crowd babble (six synthesised talkers) at the SNR"
    bed = staticmethod(beds.babble)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        x = batch.video
        n, _, _, h, w = x.shape
        size = self.video_levels[severity - 1]
        cy = size / 2 + (1 - size) * torch.rand(n, 1, 1, generator=g, device=x.device)
        cx = size / 2 + (1 - size) * torch.rand(n, 1, 1, generator=g, device=x.device)
        ys = (torch.arange(h, device=x.device)[None, :, None] + 0.5) / h
        xs = (torch.arange(w, device=x.device)[None, None, :] + 0.5) / w
        dy, dx = (ys - cy) / size, (xs - cx) / size  # in units of the silhouette's size, centre at 0
        head = dx**2 + (dy + 0.25) ** 2 < 0.18**2
        body = (dx**2 / 0.45**2 + (dy - 0.5) ** 2 / 0.55**2 < 1) & (dy > 0.0)
        mask = (head | body).float()[:, None, None]
        colour = 0.05 + 0.3 * torch.rand(n, 1, 3, 1, 1, generator=g, device=x.device)
        return x * (1 - mask) + colour * mask
