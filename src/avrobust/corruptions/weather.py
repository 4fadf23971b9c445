"""Weather: snow, frost, spatter, wind and rain. The frames follow ImageNet-C's recipes (pixel sizes
scaled from 224-pixel frames, :func:`~avrobust.corruptions.image.px`); the waveform gets the matching
sound bed (:mod:`~avrobust.corruptions.beds`) at 20, 15, 10, 5 and 0 dB SNR.

Departures, because ImageNet-C's assets and libraries are not available here: frost's ice texture is
synthesised (multi-scale noise, pale blue) instead of cropped from six photographs; spatter's water
drops are the blurred liquid layer tinted pale turquoise, without ImageNet-C's edge-based shading.
"""

from __future__ import annotations

import torch

from avrobust.corruptions import beds
from avrobust.corruptions.base import Corruption, register_corruption
from avrobust.corruptions.image import blur, gray, motion_blur, px, uniform, zoom
from avrobust.corruptions.sound import BED_SNR_DB
from avrobust.types import AVBatch

FAMILY = "weather"
BED_LEVELS = tuple(f"{s:g} dB" for s in BED_SNR_DB)


class _Weather(beds._Bed, Corruption):
    family = FAMILY
    audio_levels = BED_LEVELS

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return self.bed_audio(batch.audio, batch.sample_rate, severity, g)


def _precipitation(x: torch.Tensor, c: tuple[float, ...], angles: tuple[float, float], g: torch.Generator,
                   tint: tuple[float, float, float], lighten: tuple[float, float]) -> torch.Tensor:
    """ImageNet-C's snow recipe: a layer new every frame (N(loc, scale) noise zoomed, thresholded and smeared
    along a random direction per clip), tinted, added twice (once turned 180 degrees) to frames lightened
    toward ``gray * lighten[0] + lighten[1]`` by ``1 - mix``."""
    n, t, _, h, w = x.shape
    loc, scale, factor, threshold, radius, sigma, mix = c
    layer = zoom(loc + scale * torch.randn(n, t, 1, h, w, generator=g, device=x.device), factor)
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer).clamp(0, 1)
    layer = motion_blur(layer, px(radius, w), px(sigma, w), uniform(g, n, *angles, x.device))
    layer = (layer * torch.tensor(tint, device=x.device)[:, None, None]).clamp(0, 1)
    x = mix * x + (1 - mix) * torch.maximum(x, gray(x) * lighten[0] + lighten[1])
    return x + layer + layer.flip(-1, -2)


@register_corruption("snow")
class Snow(_Weather):
    video_effect = ("falling snow: a noise layer (loc, scale) zoomed, thresholded and motion-blurred (radius, "
                    "sigma px at 224), over frames lightened toward grey (mix)")
    video_levels = ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
                    (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55))
    audio_effect = "footsteps in snow (synthesised crunches over a soft wind) at the SNR"
    bed = staticmethod(beds.snow)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return _precipitation(batch.video, self.video_levels[severity - 1], (-135.0, -45.0), g, (1.0, 1.0, 1.0), (1.5, 0.5))


@register_corruption("frost")
class Frost(_Weather):
    video_effect = "frost on the lens: x * a + ice texture * b (a synthesised ice texture, fixed through the clip)"
    video_levels = ((1.0, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))
    audio_effect = "ice cracking (synthesised clicks and creaks) at the SNR"
    bed = staticmethod(beds.frost)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        a, b = self.video_levels[severity - 1]
        x = batch.video
        n, _, _, h, w = x.shape
        ice = torch.zeros(n, 1, 1, h, w, device=x.device)
        for scale, weight in ((0.5, 0.2), (2.0, 0.5), (6.0, 0.3)):
            noise = torch.randn(n, 1, 1, h, w, generator=g, device=x.device)
            layer = blur(noise, px(scale, w)).abs()
            ice = ice + weight * layer / layer.amax((-1, -2), keepdim=True).clamp(min=1e-6)
        tint = torch.tensor([0.85, 0.93, 1.0], device=x.device)[:, None, None]
        return a * x + b * (ice.clamp(0, 1) * tint)


@register_corruption("spatter")
class Spatter(_Weather):
    video_effect = ("drops on the lens: a liquid layer N(loc, scale) blurred (sigma px at 224) and thresholded; "
                    "water drops tinted pale turquoise (severity 1-3, intensity) or mud (4-5, blur sigma)")
    video_levels = ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0), (0.65, 0.3, 2, 0.68, 0.5, 0),
                    (0.65, 0.3, 1, 0.65, 1.5, 1), (0.67, 0.4, 1, 0.65, 1.5, 1))
    audio_effect = "water drops (synthesised plinks) at the SNR"
    bed = staticmethod(beds.drops)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        loc, scale, sigma, threshold, strength, mud = self.video_levels[severity - 1]
        x = batch.video
        n, _, _, h, w = x.shape
        liquid = blur(loc + scale * torch.randn(n, 1, 1, h, w, generator=g, device=x.device), px(sigma, w))
        if not mud:
            liquid = torch.where(liquid < threshold, torch.zeros_like(liquid), liquid)
            m = strength * liquid / liquid.amax((-1, -2), keepdim=True).clamp(min=1e-6)
            water = torch.tensor([175, 238, 238], device=x.device)[:, None, None] / 255
            return x + m * water
        m = blur((liquid > threshold).float(), px(strength, w))
        m = torch.where(m < 0.8, torch.zeros_like(m), m)
        brown = torch.tensor([63, 42, 20], device=x.device)[:, None, None] / 255
        return x * (1 - m) + brown * m


@register_corruption("wind")
class Wind(_Weather):
    video_effect = "camera shake in the wind: motion blur (radius, sigma px at 224) at a random angle in +-45 degrees"
    video_levels = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))
    audio_effect = "wind (synthesised rumble and whistle in gusts) at the SNR"
    bed = staticmethod(beds.wind)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        radius, sigma = self.video_levels[severity - 1]
        x = batch.video
        return motion_blur(x, px(radius, x.shape[-1]), px(sigma, x.shape[-1]), uniform(g, x.shape[0], -45, 45, x.device))


@register_corruption("rain")
class Rain(_Weather):
    video_effect = ("rain: streaks (a noise layer zoomed, thresholded, motion-blurred steeply) tinted blue, over "
                    "frames lightened toward grey (alpha)")
    video_levels = ((0.05, 0.2, 3, 0.3, 10, 4, 0.8), (0.05, 0.2, 3.5, 0.3, 10, 5, 0.7), (0.1, 0.2, 4, 0.25, 12, 6, 0.7),
                    (0.1, 0.2, 4.5, 0.25, 15, 8, 0.65), (0.1, 0.25, 5, 0.2, 18, 10, 0.6))
    audio_effect = "rain (synthesised hiss and droplets) at the SNR"
    bed = staticmethod(beds.rain)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return _precipitation(batch.video, self.video_levels[severity - 1], (-120.0, -60.0), g, (0.5, 0.9, 1.2), (1.3, 0.3))
