"""``vggsound``: VGGSound's CSV over a folder of clips named by video id and start second
(:func:`avrobust.data.standard_sets.vggsound`)."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import standard_sets
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class VggSoundOptions(DecodeOptions):
    """``root``: the clips (``<id>_<start:06d>.mp4``); ``annotations``: ``vggsound.csv``. The window
    (4 s, 8 frames) is centred in each 10-second clip."""

    root: str
    annotations: str
    seconds: float = 4.0


@register_dataset("vggsound")
class VggSound(VideoRecipe):
    """VGGSound: 309 sound classes over 10-second YouTube clips (train/test; val hashed from train)."""

    Options = VggSoundOptions

    def items(self, options: VggSoundOptions) -> Found:
        return standard_sets.vggsound(options.root, options.annotations)
