"""``saved``: splits written by ``avrobust data SPEC --out ROOT`` as ``ROOT/<split>.safetensors``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avrobust.data.datasets import AVDataset
from avrobust.data.recipe import Recipe, register_dataset


@dataclass(frozen=True, kw_only=True)
class SavedOptions:
    """``root``: the directory holding ``train``/``val``/``test.safetensors``."""

    root: str


@register_dataset("saved")
class Saved(Recipe):
    """Splits saved by ``avrobust data --out ROOT`` as ``ROOT/<split>.safetensors``."""

    Options = SavedOptions

    def build(self, options: SavedOptions, split: str) -> AVDataset:
        return AVDataset.load(Path(options.root) / f"{split}.safetensors")
