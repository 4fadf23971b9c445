"""``folder``: any folder of videos, ``ROOT/<class>/<clip>`` or a CSV of ``path,label[,split]``
(:func:`avrobust.data.sources.folder`)."""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.data import sources
from avrobust.data.recipe import Found, register_dataset
from avrobust.data.recipes.decoded import DecodeOptions, VideoRecipe


@dataclass(frozen=True, kw_only=True)
class FolderOptions(DecodeOptions):
    """``root``: the videos; ``csv``: a CSV of ``path,label[,split]`` relative to ``root`` (default: one
    subfolder per class)."""

    root: str
    csv: str | None = None


@register_dataset("folder")
class Folder(VideoRecipe):
    """Any folder of videos: ROOT/<class>/<clip> or a CSV of path,label[,split]."""

    Options = FolderOptions

    def items(self, options: FolderOptions) -> Found:
        return sources.folder(options.root, options.csv)
