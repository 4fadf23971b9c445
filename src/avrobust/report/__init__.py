"""``avrobust report``: Markdown and self-contained HTML from the result files avrobust writes.

It reads, from the given files and directories (searched two levels deep), every result file
(:func:`avrobust.results.read_result` recognises its ``kind``). The report opens with a summary
(:mod:`avrobust.report.summary`: every model's clean and worst-case robust accuracy and strongest
attack, the transfer summary, the defence comparison) and a table of contents, then follows the story
(:data:`~avrobust.report.render.GROUPS`): data (:mod:`avrobust.report.data`, with a picture of a few
clips of each evaluated dataset), models (training curves), white box (attack tables,
robust accuracy against eps or steps from ``evaluate --sweep``, adversarial examples to see and hear,
:mod:`avrobust.report.examples`), transfer (summary and heatmaps), analyses, defences.
``report.md`` refers to ``figures/`` beside it; ``report.html`` embeds every figure and WAV as a data
URI and references nothing outside itself but the table files; every table is also written to
``tables/`` as CSV and as a LaTeX booktabs ``tabular``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.errors import ConfigError
from avrobust.io import claim_dir, write_text
from avrobust.report.examples import examples_section
from avrobust.report.render import GROUPS, Section, render_html, render_markdown, write_tables
from avrobust.report.sections import BUILDERS, sweep_figure
from avrobust.report.data import data_section
from avrobust.report.summary import summary_section, training_of, training_runs
from avrobust.results import EvaluationResult, Record, parse_result

ORDER = ("training", "evaluation", "transfer", "analysis", "ablation")


def find_results(paths: Sequence[str | Path]) -> list[tuple[Path, Record]]:
    """``(path, result)`` for every result file under ``paths`` (files, or directories two levels deep)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ConfigError(f"{p} does not exist; pass result files or the directories that hold them")
        files += [p] if p.is_file() else sorted([*p.glob("*.json"), *p.glob("*/*.json")])
    found = []
    for f in dict.fromkeys(files):
        if f.name == "checkpoint.json":  # the checkpoint's metadata copy repeats summary.json
            continue
        try:
            result = parse_result(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
        if result is not None and result.kind in BUILDERS:
            found.append((f, result))
    if not found:
        raise ConfigError("no avrobust results found there; run evaluate --json, transfer, analyze or train first")
    return found


def build_report(paths: Sequence[str | Path], out: str | Path, *, title: str = "avrobust report",
                 overwrite: bool = False, examples: int = 2) -> dict[str, Any]:
    """Write ``out/report.md``, ``out/report.html``, ``out/figures/`` and ``out/tables/`` (every table
    as CSV and LaTeX); return what was included. ``examples``: adversarial examples per evaluated model."""
    out = Path(out)
    claim_dir(out, "report.html", "a report", overwrite=overwrite)
    found = find_results(paths)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    runs = training_runs(found)
    datasets: dict[tuple[str, str], Any] = {}  # splits loaded once, shared by the data pictures and examples
    sections = [summary_section(found, runs), data_section(found, figures, datasets)]
    sweeps: dict[tuple[Any, ...], list[tuple[Section, EvaluationResult]]] = {}
    for path, result in sorted(found, key=lambda x: (ORDER.index(x[1].kind), str(x[0]))):
        sec = BUILDERS[result.kind](path, result, figures)
        sections.append(sec)
        if isinstance(result, EvaluationResult):
            run = training_of(result, runs)
            if run is not None and run.method != "standard":
                sec.group = "Defences"
            if result.sweep:
                key = (result.model, result.data, result.sweep["parameter"], tuple(result.sweep["values"]))
                sweeps.setdefault(key, []).append((sec, result))
            extra = examples_section(path, result, figures, examples, datasets=datasets)
            if extra is not None:
                extra.group = sec.group
                sections.append(extra)
    for k, group in enumerate(sweeps.values()):
        group[0][0].figures.append(sweep_figure([r for _, r in group], figures / f"sweep-{k}.png"))
    sections.sort(key=lambda s: GROUPS.index(s.group))  # stable: within a group, the order above
    tables = write_tables(sections, out / "tables")
    write_text(out / "report.md", render_markdown(title, sections, out))
    write_text(out / "report.html", render_html(title, sections, out))
    return {"report": str(out / "report.html"), "markdown": str(out / "report.md"),
            "sections": [s.title for s in sections], "figures": [str(f) for s in sections for f in s.figures],
            "tables": [str(t) for t in tables]}


__all__ = ["Section", "build_report", "find_results"]
