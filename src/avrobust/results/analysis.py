"""The ``analysis`` kind (``avrobust analyze``): one of the paper's Section 3 analyses, its set-up and
results; and the registry of analyses, whose figures the report draws.

An analysis registers itself with ``@register_analysis(name, plot=..., values=...)`` on its function
``run(study, values=..., attacks=...) -> dict`` (see :mod:`avrobust.analysis`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from avrobust.registry import Registry
from avrobust.results.base import ReportContext, Result, Section, register_result


@dataclass(frozen=True)
class Analysis:
    """``run(study, **kwargs) -> results`` computes; ``plot(result, path)`` draws; ``values`` names the swept
    list (None: it sweeps none); ``takes_attacks``: whether ``--attack`` chooses its attacks."""

    run: Callable[..., dict[str, Any]]
    plot: Callable[[Any, str], None]
    values: str | None
    takes_attacks: bool
    description: str = ""


ANALYSES: Registry[Analysis] = Registry("analysis")


def register_analysis(name: str, *, plot: Callable[[Any, str], None], values: str | None = None,
                      aliases: tuple[str, ...] = ()) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator registering an analysis function ``run(study, ...)``; ``values`` names what ``--values``
    sweeps (None: nothing); it takes ``--attack`` when ``run`` has an ``attacks`` parameter."""

    def deco(run: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        params = inspect.signature(run).parameters
        doc = (run.__doc__ or "").strip().splitlines()
        ANALYSES.register(name, aliases=aliases)(Analysis(run, plot, values, "attacks" in params,  # type: ignore[arg-type]
                                                          doc[0] if doc else ""))
        return run

    return deco


def analysis(name: str) -> Analysis:
    """The registered analysis ``name`` (or alias)."""
    return ANALYSES.get(name)  # type: ignore[return-value]


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
            analysis(r.analysis).plot(r, str(fig))
            out.append(Section(f"Analysis: {r.analysis} ({path.name})", [
                f"Surrogate {setup['surrogate']}, victims {', '.join(setup['victims']) or 'none'}; data "
                f"`{setup['data']}` ({setup['n']} clips), {setup['steps']} steps, seed {setup['seed']}; {r.seconds} s."],
                figures=[fig], group="Analyses"))
        return out
