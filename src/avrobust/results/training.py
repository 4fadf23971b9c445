"""The ``training`` kind: a run's ``summary.json`` (cost, curriculum, final stage, validation metrics,
per-epoch history) and its report section (validation curves, curriculum table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avrobust.plotting import line_plot
from avrobust.results.base import ReportContext, Result, Section, register_result
from avrobust.tables import Table, frac


@register_result("training")
@dataclass(kw_only=True, eq=False)
class TrainingResult(Result):
    """A run's ``summary.json``: cost (passes, segments, seconds), curriculum, final stage, metrics, history."""

    order: ClassVar[float] = 10
    model: str
    model_config: dict[str, Any]
    data_spec: str
    method: str
    method_options: dict[str, Any]
    train_config: dict[str, Any]
    epochs: int
    seconds_per_epoch: float
    total_train_seconds: float
    forward_passes: int
    backward_passes: int
    forward_segments: int
    curriculum: list[dict[str, Any]]
    final_stage: dict[str, Any] | None
    metrics: dict[str, float]
    history: list[dict[str, Any]]
    run_dir: str | None = None
    device: str = ""  # where it trained (the precision is train_config's)
    #: per branch loaded with pretrained weights: the key report and, for fetched weights, their provenance
    pretrained: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        # a checkpoint's metadata copy (checkpoint.json, with its format_version) repeats the summary
        return "history" in data and "train_config" in data and "format_version" not in data

    def data_source(self) -> tuple[str, str]:
        return self.data_spec, "train/val"

    def source_label(self, path: Path) -> str:
        return path.parent.name

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        return [_section(path, r, ctx.figures) for path, r in items if isinstance(r, TrainingResult)]


def _section(path: Path, r: TrainingResult, figures: Path) -> Section:
    h, name = r.history, r.model or path.parent.name
    sec = Section(f"Training: {name} ({path.parent.name})", [
        f"Method {r.method}, {r.epochs} epochs, {r.seconds_per_epoch:.1f} s per epoch, {r.forward_passes:,} forward and "
        f"{r.backward_passes:,} backward clip passes; final validation accuracy {frac(r.metrics.get('clean_accuracy'))}."],
        group="Models" if r.method == "standard" else "Defences")
    for p in r.pretrained:  # where each pretrained backbone's weights came from
        sec.paragraphs.append(f"{p['branch'].capitalize()} backbone: {p['file']}" + (
            f", trained on {p['trained_on']}, licence {p['licence']}" if "licence" in p else "") + ".")
    if h and "val_clean_accuracy" in h[0]:
        fig = figures / f"{path.parent.name}-training.png"
        keys = [k for k in ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy", "pgd_robust_accuracy")
                if f"val_{k}" in h[0]]  # PGD-10's robust accuracy when trained with --robust-val
        line_plot([e["epoch"] for e in h], {k: [e[f"val_{k}"] for e in h] for k in keys},
                  fig, xlabel="epoch", ylabel="validation accuracy %", title=f"{name}: validation accuracy")
        sec.figures.append(fig)
    if r.curriculum:
        keys = [k for k in ("rho", "mask_ratio", "dropout", "attack_steps") if k in r.curriculum[0]]
        sec.tables.append(Table(["epoch", *keys], [[str(c["epoch"]), *(str(c[k]) for k in keys)] for c in r.curriculum],
                                numeric=set(range(len(keys) + 1))))
    return sec


def training_runs(found: Sequence[tuple[Path, Result]]) -> dict[str, TrainingResult]:
    """Training results by run directory: where the summary lies and where it says it was written."""
    runs: dict[str, TrainingResult] = {}
    for p, r in found:
        if isinstance(r, TrainingResult):
            for where in filter(None, (r.run_dir, str(p.parent))):
                runs[str(Path(where).resolve())] = r
    return runs


def training_of(checkpoint: str, runs: dict[str, TrainingResult]) -> TrainingResult | None:
    """The training run a checkpoint came from, when the report holds it (``runs``: :func:`training_runs`)."""
    return runs.get(str(Path(checkpoint).resolve())) if checkpoint else None
