"""``avrobust report``: Markdown and self-contained HTML from the result files avrobust writes.

It reads, from the given files and directories (searched two levels deep), every result file
(:func:`avrobust.results.read_result` recognises its ``kind``). The report opens with a summary
(:mod:`avrobust.report.summary`: every model's clean and worst-case robust accuracy and strongest
attack, the transfer summary, the defence comparison) and a table of contents, then follows the story
(:data:`avrobust.results.GROUPS`): data (:mod:`avrobust.report.data`, with a picture of a few clips of
each evaluated dataset), models (training curves), white box (attack tables, robust accuracy against
eps or steps from ``evaluate --sweep``, adversarial examples to see and hear,
:mod:`avrobust.report.examples`), transfer (summary and heatmaps), analyses, defences. Each result kind
renders its own sections (:mod:`avrobust.results`); the report knows none of them by name.
``report.md`` refers to ``figures/`` beside it; ``report.html`` embeds every figure and WAV as a data
URI and references nothing outside itself but the table files; every table is also written to
``tables/`` as CSV and as a LaTeX booktabs ``tabular``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avrobust.analysis import analysis
from avrobust.data import AVDataset
from avrobust.errors import ConfigError
from avrobust.io import claim_dir, write_text
from avrobust.report.data import data_section
from avrobust.report.examples import examples_section
from avrobust.report.render import render_html, render_markdown, write_tables
from avrobust.report.summary import by_kind, summary_section
from avrobust.results import ExampleRequest, Result, Section, parse_result


@dataclass
class Context:
    """What the kinds' renderers get (:class:`avrobust.results.ReportContext`): where figures go, every
    result found, and adversarial examples on request (``examples`` per model; splits loaded once)."""

    figures: Path
    found: Sequence[tuple[Path, Result]]
    per_model: int = 2
    datasets: dict[tuple[str, str], AVDataset] = field(default_factory=dict)
    precision: str = "fp32"

    def examples(self, request: ExampleRequest) -> Section | None:
        return examples_section(request, self.figures, self.per_model, datasets=self.datasets,
                                precision=self.precision)

    def plot_analysis(self, result: Result, path: Path) -> None:
        analysis(result["analysis"]).plot(result, str(path))


def find_results(paths: Sequence[str | Path]) -> list[tuple[Path, Result]]:
    """``(path, result)`` for every reported result file under ``paths`` (files, or directories two
    levels deep)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ConfigError(f"{p} does not exist; pass result files or the directories that hold them")
        files += [p] if p.is_file() else sorted([*p.glob("*.json"), *p.glob("*/*.json")])
    found = []
    for f in dict.fromkeys(files):
        try:
            result = parse_result(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
        if result is not None and result.reported:
            found.append((f, result))
    if not found:
        raise ConfigError("no avrobust results found there; run evaluate --json, transfer, analyze or train first")
    return found


def build_report(paths: Sequence[str | Path], out: str | Path, *, title: str = "avrobust report",
                 overwrite: bool = False, examples: int = 2, precision: str = "fp32") -> dict[str, Any]:
    """Write ``out/report.md``, ``out/report.html``, ``out/figures/`` and ``out/tables/`` (every table
    as CSV and LaTeX); return what was included. ``examples``: adversarial examples per evaluated model
    (crafted with forward passes in ``precision``)."""
    out = Path(out)
    claim_dir(out, "report.html", "a report", overwrite=overwrite)
    found = find_results(paths)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    ctx = Context(figures, found, examples, precision=precision)
    sections = [summary_section(found, ctx), data_section(found, figures, ctx.datasets)]
    for kind, items in by_kind(found):
        sections += kind.sections(items, ctx)
    sections.sort(key=lambda s: s.rank)  # stable: within a group, the kinds' order
    tables = write_tables(sections, out / "tables")
    write_text(out / "report.md", render_markdown(title, sections, out))
    write_text(out / "report.html", render_html(title, sections, out))
    return {"report": str(out / "report.html"), "markdown": str(out / "report.md"),
            "sections": [s.title for s in sections], "figures": [str(f) for s in sections for f in s.figures],
            "tables": [str(t) for t in tables]}


__all__ = ["Context", "Section", "build_report", "find_results"]
