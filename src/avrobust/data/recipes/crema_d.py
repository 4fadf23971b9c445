"""``crema-d``: CREMA-D's ``VideoFlash/`` and ``AudioWAV/`` folders, six emotions, speaker-disjoint splits
(:func:`avrobust.data.standard_sets.crema_d`)."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import standard_sets
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class CremaDOptions(DecodeOptions):
    """``root``: the folder holding ``VideoFlash/`` and ``AudioWAV/``; ``lists``: a folder with OGM-GE's
    ``train.csv`` and ``test.csv`` (default: speaker-disjoint splits). The clip window is 2 s (clips last
    about 2.5 s) with 4 frames."""

    root: str
    lists: str | None = None
    frames: int = 4
    seconds: float = 2.0


@register_dataset("crema-d", aliases=("cremad",))
class CremaD(VideoRecipe):
    """CREMA-D: acted emotions (6 classes), video from VideoFlash/ and sound from AudioWAV/."""

    Options = CremaDOptions

    def items(self, options: CremaDOptions) -> Found:
        return standard_sets.crema_d(options.root, options.lists)
