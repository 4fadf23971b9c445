"""The shared part of the decoded video datasets: their decoding options and how a split is decoded
(into a temporary directory, or once into the sharded cache ``cache=DIR`` that ``avrobust prepare``
writes; :mod:`avrobust.data.cache`). Registers nothing itself."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import ClassVar

from avrobust.console import warn
from avrobust.data.cache import load_split, prepare
from avrobust.data.datasets import AVDataset
from avrobust.data.recipe import Found, Recipe
from avrobust.data.decode import DecodeConfig
from avrobust.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class DecodeOptions:
    """Options every decoded dataset takes: ``cache`` (a directory: decode once, reuse), ``frames``,
    ``size`` (px), ``sample_rate`` (Hz), ``seconds`` (the clip window), ``workers`` (decoding threads)
    and ``strict`` (stop at the first bad file instead of skipping it)."""

    cache: str | None = None
    frames: int = 8
    size: int = 64
    sample_rate: int = 16000
    seconds: float = 2.0
    workers: int = 1
    strict: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if not 0 < self.seconds <= 600:
            raise ConfigError(f"seconds must lie in (0, 600], got {self.seconds}")
        if self.frames > 1024 or self.size > 1024:
            raise ConfigError(f"frames and size must be <= 1024, got {self.frames} and {self.size}")
        self.decode_config()  # the decoder's own checks, now

    def decode_config(self) -> DecodeConfig:
        return DecodeConfig(frames=self.frames, size=self.size, sample_rate=self.sample_rate, seconds=self.seconds)


class VideoRecipe(Recipe):
    """A dataset of video files: subclasses give their :meth:`items` and an ``Options`` extending
    :class:`DecodeOptions`."""

    decoded: ClassVar[bool] = True

    def build(self, options: DecodeOptions, split: str) -> AVDataset:
        items, class_names, missing = self.items(options)
        if missing:
            warn(f"{len(missing)} annotated clips of {self.name} are not under root (first: {missing[0]}); "
                 "they are left out")
        config = options.decode_config()
        if options.cache is None:
            with tempfile.TemporaryDirectory(prefix="avrobust-decode-") as tmp:
                prepare(items, class_names, tmp, config, source=self.name, splits=(split,), workers=options.workers,
                        strict=options.strict)
                video, audio, labels, _ = load_split(tmp, split)
        else:
            prepare(items, class_names, options.cache, config, source=self.name, workers=options.workers,
                    strict=options.strict)
            video, audio, labels, _ = load_split(options.cache, split)
        return AVDataset(video, audio, labels, list(class_names), config.fps, options.sample_rate, split=split)

    def items(self, options: DecodeOptions) -> Found:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError
