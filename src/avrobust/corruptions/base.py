"""The corruptions' registry, their interface and :func:`corrupt`.

A corruption is a documented pair: what it does to the frames (video ``[N, T, 3, H, W]`` in [0, 1]) and
what it does to the waveform (audio ``[N, L]`` in [-1, 1]), at severities 1 (mild) to 5 (severe). The
natural ones follow AVRobustBench (Maharana et al., NeurIPS 2025), whose visual halves follow ImageNet-C
(Hendrycks and Dietterich, ICLR 2019); a failure (a stream out of sync, dropped frames, audio dropouts,
a missing modality) is registered the same way. Each module of this package is one family and
registers its corruptions with ``@register_corruption("name")``.

Every corruption is deterministic given its seed, runs batched on the clips' device, keeps the shapes
and the valid ranges, and draws its video and audio randomness from two separate generators, so the
video-only half is exactly the video of the pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from avrobust.errors import ConfigError
from avrobust.registry import Registry
from avrobust.types import AVBatch

CORRUPTIONS: Registry[Corruption] = Registry("corruption", attribute="name")
register_corruption = CORRUPTIONS.register

SEVERITIES = (1, 2, 3, 4, 5)
#: which stream a corruption is applied to: the pair, or one half alone
MODALITIES = ("both", "video", "audio")


class Corruption:
    """Base class: a subclass overrides :meth:`video` and/or :meth:`audio` (each gets the whole batch, for
    its timing) and says what it does in ``video_effect`` / ``audio_effect``, with its per-severity
    parameters in ``video_levels`` / ``audio_levels`` (one entry per severity)."""

    name = ""  # set by the registry
    family = ""
    #: a failing modality rather than a natural corruption (listed and reported apart)
    failure = False
    #: how many severities it has (1: on or off, such as a missing modality)
    levels = 5
    video_effect = ""
    audio_effect = ""
    video_levels: tuple[Any, ...] = ()
    audio_levels: tuple[Any, ...] = ()

    def __init__(self, noise_dir: str | Path | None = None) -> None:
        self.noise_dir = None if noise_dir is None else Path(noise_dir)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        """The corrupted frames (the same shape, in [0, 1])."""
        return batch.video

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        """The corrupted waveform (the same shape, in [-1, 1])."""
        return batch.audio

    def touches(self) -> tuple[str, ...]:
        """The modalities this corruption changes."""
        return tuple(m for m, effect in (("video", self.video_effect), ("audio", self.audio_effect)) if effect)

    def describe(self) -> dict[str, str]:
        """``{"video": text, "audio": text}`` with the per-severity parameters, for listings."""
        out = {}
        for m, effect, levels in (("video", self.video_effect, self.video_levels),
                                  ("audio", self.audio_effect, self.audio_levels)):
            if effect:
                out[m] = effect + (f" (severity 1-{self.levels}: {', '.join(map(_fmt, levels))})" if levels else "")
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_fmt, value)) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


def create_corruption(name: str, noise_dir: str | Path | None = None) -> Corruption:
    """The registered corruption ``name`` (one line listing the valid names otherwise)."""
    return CORRUPTIONS.get(name)(noise_dir=noise_dir)


def generators(seed: int, device: torch.device) -> tuple[torch.Generator, torch.Generator]:
    """The video and the audio generator of ``seed`` (independent streams)."""
    gv, ga = torch.Generator(device=device), torch.Generator(device=device)
    gv.manual_seed(2 * seed + 1)
    ga.manual_seed(2 * seed + 2)
    return gv, ga


def check_severity(corruption: Corruption, severity: int) -> None:
    if int(severity) != severity or not 1 <= severity <= corruption.levels:
        raise ConfigError(f"corruption {corruption.name!r} has severities 1-{corruption.levels}, got {severity}")


def corrupt(batch: AVBatch, name: str | Corruption, severity: int, *, seed: int = 0, modality: str = "both",
            noise_dir: str | Path | None = None) -> AVBatch:
    """``batch`` under corruption ``name`` at ``severity`` (1-5), on ``modality`` (``both``: the pair;
    ``video`` or ``audio``: that half alone). ``noise_dir``: real recordings for the sound beds
    (``NAME*.wav`` or ``NAME/*.wav`` there; default: synthesised beds)."""
    chosen = name if isinstance(name, Corruption) else create_corruption(name, noise_dir)
    check_severity(chosen, severity)
    if modality not in MODALITIES:
        raise ConfigError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    gv, ga = generators(seed, batch.video.device)
    video = chosen.video(batch, severity, gv).clamp(0, 1) if modality in ("both", "video") else batch.video
    audio = chosen.audio(batch, severity, ga).clamp(-1, 1) if modality in ("both", "audio") else batch.audio
    return batch.with_inputs(video.to(batch.video.dtype), audio.to(batch.audio.dtype))


def corruption_names(spec: str | Sequence[str] = "all", *, failures: bool = False) -> list[str]:
    """The names a ``--corruptions`` value selects: ``all`` (every natural corruption, or with ``failures``
    every failure), ``quick`` (a first look: the first corruption of each family, by name), or a
    comma-separated list of registered names."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    chosen = [n for n in CORRUPTIONS if CORRUPTIONS.get(n).failure == failures]
    if items in (["all"], []):
        return chosen
    if items == ["quick"]:
        firsts: dict[str, str] = {}
        for n in chosen:
            firsts.setdefault(CORRUPTIONS.get(n).family, n)
        return sorted(firsts.values())
    return [CORRUPTIONS.canonical(n) for n in items]
