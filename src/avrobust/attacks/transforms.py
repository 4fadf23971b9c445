"""Random input transformations for transfer attacks (TIA's pool), differentiable in the inputs.

Each takes video ``[N, T, 3, H, W]``, audio ``[N, T * S]`` and a generator and returns both
transformed. Names: ``mask`` (drop a ratio of aligned segments in both modalities: black frames,
silence), ``scale`` (multiply both by a random factor in [0.5, 1], per clip), ``blur`` (3x3 box blur
of frames, 3-tap moving average of audio), ``mixup`` (``(1 - eta) x + eta x_other`` with another clip
of the batch, eta = 0.2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from avrobust.errors import ConfigError
from avrobust.types import segment_masks

Transform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
MASK_RATIO = 0.25
MIX_ETA = 0.2


def temporal_mask(video: torch.Tensor, audio: torch.Tensor, g: torch.Generator, *, ratio: float = MASK_RATIO,
                  synchronous: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop ``round(ratio * T)`` segments per clip (same ones in both modalities when ``synchronous``)."""
    n, t = video.shape[:2]
    drop_v, drop_a = segment_masks(n, t, ratio, synchronous=synchronous, generator=g, device=video.device)
    keep_v, keep_a = (~drop_v).to(video.dtype), (~drop_a).to(audio.dtype)
    return video * keep_v[:, :, None, None, None], (audio.view(n, t, -1) * keep_a[:, :, None]).view(n, -1)


def scale(video: torch.Tensor, audio: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    s = 0.5 + 0.5 * torch.rand(video.shape[0], generator=g, device=video.device, dtype=video.dtype)
    return video * s.view(-1, 1, 1, 1, 1), audio * s.view(-1, 1)


def blur(video: torch.Tensor, audio: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, t, c, h, w = video.shape
    frames = F.avg_pool2d(video.reshape(n * t, c, h, w), 3, stride=1, padding=1, count_include_pad=False)
    smooth = F.avg_pool1d(audio[:, None], 3, stride=1, padding=1, count_include_pad=False)[:, 0]
    return frames.view_as(video), smooth


def mixup(video: torch.Tensor, audio: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = video.shape[0]
    perm = torch.randperm(n, generator=g, device=video.device) if n > 1 else torch.zeros(1, dtype=torch.long, device=video.device)
    return (1 - MIX_ETA) * video + MIX_ETA * video[perm].detach(), (1 - MIX_ETA) * audio + MIX_ETA * audio[perm].detach()


TRANSFORMS: dict[str, Transform] = {"mask": temporal_mask, "scale": scale, "blur": blur, "mixup": mixup}


def parse_transforms(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """``"mask+scale"``, a tuple of names, or ``None``/``""``/``"none"`` for no transformation."""
    if value is None or value in ("", "none"):
        return ()
    names = tuple(v for v in value.split("+") if v) if isinstance(value, str) else tuple(value)
    unknown = [v for v in names if v not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"unknown transformation {', '.join(unknown)}; valid: {', '.join(TRANSFORMS)} (join with +)")
    return names
