"""The ``analysis`` kind (``avrobust analyze``): one of the paper's Section 3 analyses, its set-up and
results. The analyses themselves, and the figure each draws, are registered in :mod:`avrobust.analysis`;
the report draws a figure through its context (:meth:`~avrobust.results.base.ReportContext.plot_analysis`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from avrobust.results.base import ReportContext, Result, Section, register_result


@register_result("analysis")
@dataclass(kw_only=True, eq=False)
class AnalysisResult(Result):
    """``avrobust analyze``: one Section 3 analysis (``analysis`` names it), its set-up and results."""

    order: ClassVar[float] = 40
    analysis: str
    setup: dict[str, Any]
    results: dict[str, Any]
    seconds: float = 0.0

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        return "setup" in data and "results" in data

    @classmethod
    def upgrade(cls, data: dict[str, Any]) -> dict[str, Any]:
        if "analysis" not in data and "kind" in data:  # schema 1 named the analysis "kind"
            return {**data, "analysis": data["kind"]}
        return data

    def data_source(self) -> tuple[str, str]:
        return self.setup.get("data", ""), self.setup.get("split", "test")

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, AnalysisResult)
            setup = r.setup
            fig = ctx.figures / f"{path.stem}-{r.analysis}.png"
            ctx.plot_analysis(r, fig)
            out.append(Section(f"Analysis: {r.analysis} ({path.name})", [
                f"Surrogate {setup['surrogate']}, victims {', '.join(setup['victims']) or 'none'}; data "
                f"`{setup['data']}` ({setup['n']} clips), {setup['steps']} steps, seed {setup['seed']}; {r.seconds} s."],
                figures=[fig], group="Analyses"))
        return out
