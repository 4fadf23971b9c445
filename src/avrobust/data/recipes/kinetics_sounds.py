"""``kinetics-sounds`` (alias ``ks``): a Kinetics CSV and the downloaded clips
(:func:`avrobust.data.sources.kinetics_sounds`), the ~31 classes of the shipped class list or your own."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import sources
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class KineticsSoundsOptions(DecodeOptions):
    """``root``: the clips; ``annotations``: a Kinetics CSV; ``classes``: a class list file (default: the
    shipped Kinetics-Sounds list)."""

    root: str
    annotations: str
    classes: str | None = None


@register_dataset("kinetics-sounds", aliases=("ks",))
class KineticsSounds(VideoRecipe):
    """Kinetics-Sounds: a Kinetics CSV and the downloaded clips."""

    Options = KineticsSoundsOptions

    def items(self, options: KineticsSoundsOptions) -> Found:
        return sources.kinetics_sounds(options.root, options.annotations, options.classes)
