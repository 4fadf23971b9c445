"""The ``ablation`` kind (``avrobust ablate``): one row per (variant, seed) and per-variant summaries;
its table, plot, settings line and report section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from avrobust.record import Record
from avrobust.plotting import scatter_plot
from avrobust.results.base import GROUPS, ReportContext, Result, Section, register_result
from avrobust.tables import Table, mean_std_cell


@dataclass(kw_only=True, eq=False)
class AblationRow(Record):
    """One trained and evaluated (variant, seed): cost, clean and robust accuracy."""

    variant: str
    method: str
    seed: int
    run_dir: str
    train_seconds: float
    seconds_per_epoch: float
    forward_segments: int
    n: int
    clean_accuracy: float
    robust_accuracy: dict[str, float]
    worst_case_robust_accuracy: float | None
    epochs: int | None = None  # the run's epochs (an equal-time run's own; None in older files)


@register_result("ablation")
@dataclass(kw_only=True, eq=False)
class AblationResult(Result):
    """``avrobust ablate``: one row per (variant, seed), per-variant mean/std summaries."""

    order: ClassVar[float] = 50
    settings: dict[str, Any]
    rows: list[AblationRow]
    summary: dict[str, dict[str, Any]]

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        return "settings" in data and "rows" in data

    def data_source(self) -> tuple[str, str]:
        return self.settings.get("data", ""), "test"

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, AblationResult)
            s = r.settings
            fig = ablation_plot(r, ctx.figures / f"{path.stem}-ablation.png")
            out.append(Section(f"Defence ablation ({path.name})", [f"{s['model']} on `{s['data']}`: {ablation_settings(s)}"],
                               [ablation_table(r)], [fig], group="Defences"))
        return out

    @classmethod
    def summary(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        part = Section("ablation", group="Summary", order=GROUPS["Defences"])
        for _, r in items:
            assert isinstance(r, AblationResult)
            best = max(r.summary, key=lambda k: r.summary[k]["worst_case_robust_accuracy"]["mean"] or 0.0)
            part.notes.append(f"Ablation: best worst-case robust accuracy {best} "
                              f"({100 * r.summary[best]['worst_case_robust_accuracy']['mean']:.1f} %); see Defences.")
        return [part]


ABLATION_HEADER = ["variant", "method", "seeds", "clean %", "worst-case robust %", "s / epoch", "epoch time / pgd-at",
                   "train s", "Pareto front"]


def ablation_table(result: AblationResult, title: str = "") -> Table:
    """One row per variant (percent; mean ± std over seeds)."""
    rows = []
    for label, e in result.summary.items():
        method = next(r.method for r in result.rows if r.variant == label)
        rows.append([label, f"`{method}`", str(len(e["seeds"])), mean_std_cell(e["clean_accuracy"]),
                     mean_std_cell(e["worst_case_robust_accuracy"]), mean_std_cell(e["seconds_per_epoch"], 1, 2),
                     mean_std_cell(e["epoch_time_over_pgd_at"], 1, 3), mean_std_cell(e["train_seconds"], 1, 0),
                     "yes" if e.get("pareto") else ""])
    return Table(ABLATION_HEADER, rows, title, {2, 3, 4, 5, 6, 7})


def ablation_settings(s: Mapping[str, Any]) -> str:
    """One line: epochs, attack steps, evaluation clips and attacks of an ablation."""
    attacks = ", ".join([*([f"the {s['suite']} suite"] if s.get("suite") else []), *s["attacks"]])
    start = " from the trained runs in `init` (fine-tuning)" if s.get("init") else ""
    rates = "".join(f", {k} {v:g}" for k, v in s.get("train", {}).items())
    return (f"{s['epochs']} epochs{start}{rates}, {s['steps']} attack steps, evaluation on {s['n']} test clips against "
            f"{attacks} ({s['eval_steps']} steps where an attack sets none), worst case per clip. "
            "Mean ± std over seeds.")


def ablation_plot(result: AblationResult, path: str | Path) -> Path:
    """Worst-case robust accuracy (%) against total training seconds, one point per variant (mean ± std),
    and the Pareto front (the variants marked ``pareto`` in the summary) as a dashed staircase."""
    summary = result.summary
    points = {k: (e["train_seconds"]["mean"], e["worst_case_robust_accuracy"]["mean"]) for k, e in summary.items()}
    errors = {k: (e["train_seconds"]["std"] or 0.0, e["worst_case_robust_accuracy"]["std"] or 0.0)
              for k, e in summary.items()}
    front = sorted((points[k] for k, e in summary.items() if e.get("pareto")), key=lambda p: p[0])
    return scatter_plot(points, path, errors=errors, xscale=1.0, legend=True, xlabel="training time (s)",
                        ylabel="worst-case robust accuracy (%)", front=front,
                        title="defences: robust accuracy against training time (mean ± std over seeds)")
