"""The ``zoo`` kind (``avrobust train-zoo``): one entry per trained model; read, not reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from avrobust.record import Record
from avrobust.results.base import Result, register_result
from avrobust.tables import Table, frac


@dataclass(kw_only=True, eq=False)
class ZooEntry(Record):
    """One trained zoo model: name, alias, seed, run directory, training time, validation metrics."""

    model: str
    alias: str
    seed: int
    run_dir: str
    train_seconds: float
    val: dict[str, float]


@register_result("zoo")
@dataclass(kw_only=True, eq=False)
class ZooResult(Result):
    """``avrobust train-zoo``: one entry per trained model (``complete`` once all are)."""

    order: ClassVar[float] = 60
    reported: ClassVar[bool] = False  # its runs' summaries are reported instead
    data: str
    epochs: int
    seed: int
    models: list[ZooEntry]
    complete: bool
    train_seconds: float

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        return "models" in data and "complete" in data


def zoo_table(zoo: ZooResult, title: str = "") -> Table:
    """One row per zoo model: alias, seed, validation accuracies and training seconds."""
    rows = [[e.model, e.alias, str(e.seed), frac(e.val["clean_accuracy"]), frac(e.val["audio_only_accuracy"]),
             frac(e.val["visual_only_accuracy"]), f"{e.train_seconds:.0f}"] for e in zoo.models]
    return Table(["model", "alias", "seed", "val acc", "audio", "visual", "train s"], rows, title, {2, 3, 4, 5, 6})
