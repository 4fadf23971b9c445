"""The ``transfer`` kind (``avrobust transfer``): a transfer matrix's rows, per-attack summaries and
crafting costs; its tables, heatmaps and report sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avrobust.record import Record
from avrobust.plotting import heatmap_grid
from avrobust.results.base import GROUPS, ReportContext, Result, Section, register_result
from avrobust.tables import Table, pct


@dataclass(kw_only=True, eq=False)
class TransferRow(Record):
    """One (surrogate, victim, attack) cell: the victim's ASR, robust and clean accuracy, cross-modal cosine."""

    surrogate: str
    victim: str
    attack: str
    attack_success_rate: float
    robust_accuracy: float
    clean_accuracy: float
    white_box: bool
    modality_cosine: float


@dataclass(kw_only=True, eq=False)
class TransferSummary(Record):
    """Per attack over the matrix: black-box means (std over pairs) and white-box means."""

    black_box_asr: float | None
    black_box_asr_std: float | None
    black_box_pairs: int
    black_box_robust_accuracy: float | None
    black_box_cosine: float | None = None
    black_box_asr_per_victim: dict[str, float | None] = field(default_factory=dict)
    white_box_asr: float | None = None
    white_box_cosine: float | None = None


@register_result("transfer")
@dataclass(kw_only=True, eq=False)
class TransferResult(Result):
    """``avrobust transfer``: the matrix rows, per-attack summaries and crafting costs."""

    order: ClassVar[float] = 30
    n: int
    data: str
    split: str
    surrogates: dict[str, list[str]]
    victims: dict[str, dict[str, Any]]
    attacks: dict[str, dict[str, Any]]
    crafting: list[dict[str, Any]]
    matrix: list[TransferRow]
    summary: dict[str, TransferSummary]
    device: str = ""
    precision: str = "fp32"
    seconds: float = 0.0

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        return "matrix" in data and "summary" in data

    def data_source(self) -> tuple[str, str]:
        return self.data, self.split

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, TransferResult)
            fig = transfer_heatmaps(r, ctx.figures / f"{path.stem}-heatmaps.png")
            out.append(Section(f"Transfer matrix ({path.name})", [
                f"Data `{r.data}` ({r.split}, {r.n} clips); surrogates {', '.join(r.surrogates)}; victims "
                f"{', '.join(r.victims)}. Black box excludes white-box pairs (victim = surrogate or member)."],
                [transfer_summary_table(r.summary)], [fig], group="Transfer"))
        return out

    @classmethod
    def summary(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        part = Section("transfer", group="Summary", order=GROUPS["Transfer"])
        for p, r in items:
            assert isinstance(r, TransferResult)
            best = max(r.summary, key=lambda k: r.summary[k].black_box_asr or 0.0)
            part.tables.append(Table(["attack", "black-box ASR %", "white-box ASR %"],
                                     [[a, pct(s.black_box_asr, s.black_box_asr_std), pct(s.white_box_asr)]
                                      for a, s in r.summary.items()],
                                     f"Transfer ({p.name}): {', '.join(r.surrogates)} to {', '.join(r.victims)}",
                                     {1, 2}))
            part.notes.append(f"Strongest transfer attack in {p.name}: {best} "
                              f"({pct(r.summary[best].black_box_asr)} % black-box ASR).")
        return [part]


def transfer_summary_table(summary: Mapping[str, Mapping[str, Any]], title: str = "") -> Table:
    """Per attack of a transfer ``summary``: black-box ASR (mean ± std over pairs), pairs, white-box ASR,
    victims' robust accuracy (%)."""
    rows = [[a, pct(s["black_box_asr"], s["black_box_asr_std"]), str(s["black_box_pairs"]), pct(s["white_box_asr"]),
             pct(s["black_box_robust_accuracy"])] for a, s in summary.items()]
    return Table(["attack", "black-box ASR %", "pairs", "white-box ASR %", "victims' robust acc %"], rows, title,
                 {1, 2, 3, 4})


def transfer_matrix_table(result: TransferResult, attack: str) -> Table:
    """ASR % of one attack, surrogates as rows and victims as columns; white-box cells in [brackets]."""
    victims = list(result.victims)
    cells = {(r.surrogate, r.victim): r for r in result.matrix if r.attack == attack}
    rows = [[s] + [f"[{pct(cells[s, v].attack_success_rate)}]" if cells[s, v].white_box
                   else pct(cells[s, v].attack_success_rate) for v in victims] for s in result.surrogates]
    return Table(["surrogate", *victims], rows, f"{attack}: ASR % (rows: surrogate, columns: victim)",
                 set(range(1, len(victims) + 1)))


def transfer_heatmaps(result: TransferResult, path: str | Path) -> Path:
    """One ASR heatmap (surrogate x victim) per attack of a transfer matrix; white-box cells outlined."""
    surrogates, victims = list(result.surrogates), list(result.victims)
    panels = {}
    for attack in result.attacks:
        grid = [[0.0] * len(victims) for _ in surrogates]
        marks = []
        for r in result.matrix:
            if r.attack == attack:
                i, j = surrogates.index(r.surrogate), victims.index(r.victim)
                grid[i][j] = r.attack_success_rate
                if r.white_box:
                    marks.append((i, j))
        panels[attack] = (grid, marks)
    return heatmap_grid(panels, surrogates, victims, path, title=f"transfer ASR on {result.data} ({result.n} clips)")
