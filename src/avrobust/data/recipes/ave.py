"""``ave``: the Audio-Visual Event dataset, its annotation file and split lists, one event segment per
clip (:func:`avrobust.data.standard_sets.ave`)."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import standard_sets
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class AveOptions(DecodeOptions):
    """``root``: the videos (``<id>.mp4``); ``annotations``: ``Annotations.txt`` with the split lists beside
    it (default: in ``root``). The window (4 s, 8 frames) is centred in each annotated event."""

    root: str
    annotations: str | None = None
    seconds: float = 4.0


@register_dataset("ave")
class Ave(VideoRecipe):
    """AVE: 28 audio-visual events, the annotated segment of each video."""

    Options = AveOptions

    def items(self, options: AveOptions) -> Found:
        return standard_sets.ave(options.root, options.annotations)
