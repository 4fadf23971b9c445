"""Report rendering: Markdown with figures beside it, and one self-contained HTML file (figures as data URIs)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from avrobust.tables import Table


@dataclass
class Section:
    """One report section: a title, paragraphs, tables and figure paths."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def render_markdown(title: str, sections: Sequence[Section], root: Path) -> str:
    """The report as Markdown; figures are referred to relative to ``root``."""
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for table in s.tables:
            lines += [table.markdown(), ""]
        for f in s.figures:
            lines += [f"![{f.stem}]({f.relative_to(root).as_posix()})", ""]
    return "\n".join(lines)


def render_html(title: str, sections: Sequence[Section]) -> str:
    """The report as one HTML file that references nothing outside itself."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
             ".num{text-align:right}caption{font-weight:bold;text-align:left}img{max-width:100%}"
             "</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        parts.append(f"<h2>{e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        parts += [table.html() for table in s.tables]
        for f in s.figures:
            data = base64.b64encode(f.read_bytes()).decode()
            parts.append(f"<p><img alt='{e(f.stem)}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
