"""Datasets: the in-memory :class:`AVDataset`, and the registered datasets (one module each in
:mod:`avrobust.data.recipes`; the embedded ``synth`` and ``digits``, saved sets and real video folders)
built from a spec by :func:`load_dataset`."""

from avrobust.data.datasets import SPLITS, AVDataset
from avrobust.data.recipe import DATASETS, Recipe, load_dataset, parse_data_spec, register_dataset
from avrobust.registry import import_submodules

import_submodules("avrobust.data.recipes")  # every dataset module registers itself

__all__ = ["DATASETS", "SPLITS", "AVDataset", "Recipe", "load_dataset", "parse_data_spec", "register_dataset"]
