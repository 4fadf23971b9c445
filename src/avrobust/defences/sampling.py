"""Efficient perturbation crafting on sampled segments (the paper's defence, PAPER.md).

A clip has T aligned segments (frame ``t`` and audio samples ``t*S:(t+1)*S``). Crafting samples
``T' = max(1, round(rho * T))`` of them, one per window of ``T / T'`` segments, attacks the shorter
clip made of those segments only (so one attack step costs about ``rho`` of a full one), then
gives every frame and audio segment the perturbation of its nearest sampled segment (ties go to
the earlier one; ``spread="linear"`` interpolates linearly between the two sampled segments around it
instead) and projects the result onto the budget and the valid range. Training then uses the full clip.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from avrobust.attacks.threat import ThreatModel, project
from avrobust.errors import ConfigError
from avrobust.types import AVBatch


def check_rho(rho: float) -> float:
    """``rho`` as a float in (0, 1], or a one-line error."""
    if not (isinstance(rho, (int, float)) and 0.0 < rho <= 1.0):
        raise ConfigError(f"the sampling ratio rho must lie in (0, 1], got {rho}")
    return float(rho)


def sample_segments(frames: int, rho: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted indices of ``max(1, round(rho * frames))`` segments, one drawn uniformly per window.

    Window ``i`` covers segments ``[floor(i T / T'), floor((i + 1) T / T'))``; with ``rho = 1`` every
    segment is kept and nothing is drawn.
    """
    rho = check_rho(rho)
    count = max(1, round(rho * frames))
    if count >= frames:
        return torch.arange(frames)
    bounds = [i * frames // count for i in range(count + 1)]
    widths = torch.tensor([bounds[i + 1] - bounds[i] for i in range(count)])
    offsets = (torch.rand(count, generator=generator) * widths).long().clamp_max(widths - 1)
    return torch.tensor(bounds[:-1]) + offsets


def nearest_sampled(frames: int, sampled: torch.Tensor) -> torch.Tensor:
    """For every segment ``t < frames``, the position in ``sampled`` of its nearest sampled segment
    (ties: the earlier one), ``[frames]``."""
    t = torch.arange(frames)[:, None]
    distance = (t - sampled[None, :].to(t)).abs()
    return distance.argmin(dim=1)  # argmin returns the first minimum: the earlier segment on ties


SPREADS = ("nearest", "linear")


def check_spread(spread: str) -> str:
    """``spread`` if it is one of :data:`SPREADS`, or a one-line error."""
    if spread not in SPREADS:
        raise ConfigError(f"unknown spread {spread!r}; valid choices: {', '.join(SPREADS)}")
    return spread


def spread_matrix(frames: int, sampled: torch.Tensor, spread: str = "nearest") -> torch.Tensor:
    """``[T, T']`` weights giving each of the T segments a mix of the T' sampled segments' perturbations:
    one-hot at the nearest (``nearest``), or linear interpolation between the sampled segments on either
    side, the nearest one beyond the first and last (``linear``). Rows sum to 1."""
    check_spread(spread)
    weights = torch.zeros(frames, len(sampled))
    if spread == "nearest" or len(sampled) == 1:
        weights[torch.arange(frames), nearest_sampled(frames, sampled)] = 1.0
        return weights
    s = sampled.double()
    for t in range(frames):
        hi = int(torch.searchsorted(s, torch.tensor(float(t), dtype=torch.float64)))
        if hi == 0 or hi == len(s):
            weights[t, min(hi, len(s) - 1)] = 1.0
            continue
        w = (t - s[hi - 1]) / (s[hi] - s[hi - 1])
        weights[t, hi - 1], weights[t, hi] = float(1 - w), float(w)
    return weights


def spread_delta(frames: int, sampled: torch.Tensor, delta_video: torch.Tensor, delta_audio: torch.Tensor,
                 spread: str = "nearest") -> tuple[torch.Tensor, torch.Tensor]:
    """Full-length perturbations from those of the sampled segments: ``delta_video`` ``[N, T', C, H, W]``
    -> ``[N, T, C, H, W]``, ``delta_audio`` ``[N, T' S]`` -> ``[N, T S]``, by copy (``nearest``) or
    interpolation (``linear``), see :func:`spread_matrix`. Not projected."""
    n, t_short = delta_video.shape[:2]
    delta_a = delta_audio.view(n, t_short, -1)
    if check_spread(spread) == "nearest":  # a copy: indexing, no weighted sum
        pos = nearest_sampled(frames, sampled).to(delta_video.device)
        delta_v, delta_a = delta_video[:, pos], delta_a[:, pos]
    else:
        weights = spread_matrix(frames, sampled, spread)
        delta_v = torch.einsum("ts,ns...->nt...", weights.to(delta_video), delta_video)
        delta_a = torch.einsum("ts,nsl->ntl", weights.to(delta_a), delta_a)
    return delta_v, delta_a.reshape(n, -1)


def _perturbed(clean: AVBatch, video: torch.Tensor, audio: torch.Tensor, threat: ThreatModel) -> AVBatch:
    """``clean`` with the attacked modalities set to ``video``/``audio`` projected onto the budget and range."""
    video = project(video, clean.video, threat.video) if "video" in threat.modalities else clean.video
    audio = project(audio, clean.audio, threat.audio) if "audio" in threat.modalities else clean.audio
    return clean.with_inputs(video.detach(), audio.detach())


def expand_perturbation(clean: AVBatch, short_clean: AVBatch, short_adv: AVBatch, sampled: torch.Tensor,
                        threat: ThreatModel, spread: str = "nearest") -> AVBatch:
    """Full-length adversarial clips from an attack on the sampled segments.

    Args:
        clean: the full clips, T segments; short_clean, short_adv: the sampled clips before and
            after the attack, T' segments; sampled: their segment indices ``[T']``.
        threat: budgets; the expanded perturbation is projected onto them and the valid range.
        spread: ``nearest`` (copy) or ``linear`` (interpolate), see :func:`spread_matrix`.
    """
    delta_v, delta_a = spread_delta(clean.frames, sampled, short_adv.video - short_clean.video,
                                    short_adv.audio - short_clean.audio, spread)
    return _perturbed(clean, clean.video + delta_v, clean.audio + delta_a, threat)


def craft_on_segments(attack: Callable[..., AVBatch], batch: AVBatch, rho: float, threat: ThreatModel,
                      generator: torch.Generator | None = None, spread: str = "nearest",
                      init: AVBatch | None = None) -> AVBatch:
    """Run ``attack`` (a closure over model and labels) on sampled segments and expand the result;
    with ``rho = 1`` it is the attack on the full clip. ``init`` (full-length clips): the attack's
    starting point, cut to the same segments and passed as ``attack(short, init=short_init)``."""
    sampled = sample_segments(batch.frames, rho, generator)
    full = len(sampled) == batch.frames
    short = batch if full else batch.select_segments(sampled)
    if init is None:
        adv = attack(short)
    else:
        adv = attack(short, init=init if full else init.select_segments(sampled))
    return adv if full else expand_perturbation(batch, short, adv, sampled, threat, spread)


def craft_resampled(step: Callable[[AVBatch, AVBatch | None], AVBatch], batch: AVBatch, steps: int, rho: float,
                    threat: ThreatModel, generator: torch.Generator | None = None, spread: str = "nearest",
                    init: AVBatch | None = None) -> AVBatch:
    """``steps`` attack steps, each on freshly sampled segments, instead of all of them on one sample.

    Step k samples segments (as :func:`sample_segments`), cuts the clean clips and the current adversarial
    ones to them and takes one step from there, ``step(short_clean, short_current)`` (a closure over model
    and labels; ``short_current`` is None at the first step without ``init``, so the attack's own start
    applies). The change on the sampled segments is spread to every segment (copy or interpolation, as
    :func:`expand_perturbation`), added to the current perturbation and projected onto the budget and the
    valid range. A step costs what it costs in :func:`craft_on_segments` (one gradient on ``rho`` of the
    segments); a momentum attack loses its momentum between steps (its buffer belongs to other segments).
    With ``rho = 1`` and a memoryless attack (I-FGSM) this is the ``steps``-step attack.
    """
    if steps < 1:
        raise ConfigError(f"resampled crafting needs steps >= 1, got {steps}")
    current = None if init is None else _perturbed(batch, init.video, init.audio, threat)
    for _ in range(steps):
        sampled = sample_segments(batch.frames, rho, generator)
        full = len(sampled) == batch.frames
        short = batch if full else batch.select_segments(sampled)
        start = None if current is None else (current if full else current.select_segments(sampled))
        new = step(short, start)
        if full:
            current = new
            continue
        base, now = (short, batch) if start is None else (start, current)
        delta_v, delta_a = spread_delta(batch.frames, sampled, new.video - base.video, new.audio - base.audio,
                                        spread)
        current = _perturbed(batch, now.video + delta_v, now.audio + delta_a, threat)
    return current
