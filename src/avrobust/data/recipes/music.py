"""``music``: MIT MUSIC solo videos, the ids JSON and the downloaded videos
(:func:`avrobust.data.sources.music`)."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import sources
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class MusicOptions(DecodeOptions):
    """``root``: the videos; ``annotations``: MUSIC's JSON of video ids per instrument."""

    root: str
    annotations: str


@register_dataset("music")
class Music(VideoRecipe):
    """MIT MUSIC solo videos: the ids JSON and the downloaded videos."""

    Options = MusicOptions

    def items(self, options: MusicOptions) -> Found:
        return sources.music(options.root, options.annotations)
