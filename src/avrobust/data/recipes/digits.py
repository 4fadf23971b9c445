"""``digits``: real handwritten digits seen and spoken (:mod:`avrobust.data.digit_clips`), built once per
option set and split into the cache (speech synthesis takes seconds)."""

from __future__ import annotations

from avrobust.data import digit_clips
from avrobust.data.datasets import AVDataset
from avrobust.data.recipe import Recipe, register_dataset


@register_dataset("digits")
class Digits(Recipe):
    """Real handwritten digit scans and the spoken words, writers and voices disjoint across splits."""

    Options = digit_clips.DigitsConfig

    def cache_key(self, options: digit_clips.DigitsConfig) -> str:
        return digit_clips.cache_key(options)

    def build(self, options: digit_clips.DigitsConfig, split: str) -> AVDataset:
        t = digit_clips.generate(options, split)
        return AVDataset(t["video"], t["audio"], t["labels"], list(digit_clips.WORDS), options.fps, options.sample_rate,
                         split=split, extras={k: t[k] for k in ("video_missing", "audio_missing")})
