"""``avrobust report``: Markdown and self-contained HTML from the result files avrobust writes.

It reads, from the given files and directories (searched two levels deep), every result file
(:func:`avrobust.results.read_result` recognises its ``kind``) and builds one section per result
(:mod:`avrobust.report.sections`): evaluations (accuracies, attack table, robust-accuracy bars),
transfer matrices (summary and heatmaps), analyses (their plot), training runs (validation curves,
curriculum) and ablations (table and plot). ``report.md`` refers to ``figures/*.png`` beside it;
``report.html`` embeds every figure as a data URI and references nothing outside itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.errors import ConfigError
from avrobust.io import claim_dir, write_text
from avrobust.report.render import Section, render_html, render_markdown
from avrobust.report.sections import BUILDERS
from avrobust.results import Record, parse_result

ORDER = ("training", "evaluation", "ablation", "transfer", "analysis")


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
                 overwrite: bool = False) -> dict[str, Any]:
    """Write ``out/report.md``, ``out/report.html`` and ``out/figures/``; return what was included."""
    out = Path(out)
    claim_dir(out, "report.html", "a report", overwrite=overwrite)
    found = find_results(paths)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    found.sort(key=lambda x: (ORDER.index(x[1].kind), str(x[0])))
    sections = [BUILDERS[result.kind](path, result, figures) for path, result in found]
    write_text(out / "report.md", render_markdown(title, sections, out))
    write_text(out / "report.html", render_html(title, sections))
    return {"report": str(out / "report.html"), "markdown": str(out / "report.md"),
            "sections": [s.title for s in sections], "figures": [str(f) for s in sections for f in s.figures]}


__all__ = ["Section", "build_report", "find_results"]
