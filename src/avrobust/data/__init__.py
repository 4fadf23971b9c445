"""Datasets: the embedded ``synth`` set, saved sets and (later) real video folders."""

from avrobust.data.datasets import DATASETS, SPLITS, AVDataset, load_dataset

__all__ = ["DATASETS", "SPLITS", "AVDataset", "load_dataset"]
