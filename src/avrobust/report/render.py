"""Report rendering: Markdown with figures beside it, and one self-contained HTML file (figures and
audio as data URIs), both opening with the summary and a table of contents, sections grouped by the
story they tell (:data:`avrobust.results.GROUPS`)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path

from avrobust.results.base import Section

#: the most audio embedded in one HTML report (bytes, before base64); the rest is linked, with a note
AUDIO_CAP = 8 * 2**20


def write_tables(sections: Sequence[Section], folder: Path) -> list[Path]:
    """Write every table as ``folder/NN-slug.csv`` and ``.tex`` (booktabs); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, k = [], 0
    for s in sections:
        s.table_files = []
        for table in s.tables:
            k += 1
            stem = folder / f"{k:02d}-{s.anchor[:40]}"
            csv, tex = stem.with_suffix(".csv"), stem.with_suffix(".tex")
            csv.write_text(table.csv())
            tex.write_text(table.latex())
            s.table_files.append((csv, tex))
            paths += [csv, tex]
    return paths


def _toc(sections: Sequence[Section], link: str) -> list[str]:
    lines, group = [], None
    for s in sections:
        if s.group != group:
            group = s.group
            lines.append(link.format(anchor=_slug(group), text=group, indent=""))
        if s.title != s.group:
            lines.append(link.format(anchor=s.anchor, text=s.title, indent="  "))
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_markdown(title: str, sections: Sequence[Section], root: Path) -> str:
    """The report as Markdown; figures, audio and table files are referred to relative to ``root``."""
    lines = [f"# {title}", ""]
    group = None
    for i, s in enumerate(sections):
        if s.group != group:
            group = s.group
            lines += [f"## {group}", ""]
        if s.title != s.group:
            lines += [f"### {s.title}", ""]
        lines += [x for p in s.paragraphs for x in (p, "")]
        for j, table in enumerate(s.tables):
            lines += [table.markdown(), ""]
            if j < len(s.table_files):
                csv, tex = (f.relative_to(root).as_posix() for f in s.table_files[j])
                lines += [f"([CSV]({csv}), [LaTeX]({tex}))", ""]
        lines += [x for f in s.figures for x in (f"![{f.stem}]({f.relative_to(root).as_posix()})", "")]
        lines += [x for cap, f in s.audio for x in (f"[{cap}]({f.relative_to(root).as_posix()})", "")]
        lines += [x for p in s.notes for x in (p, "")]
        if i == 0 and len(sections) > 1:  # the contents right after the summary
            lines += ["**Contents**", "", *_toc(sections[1:], "{indent}- [{text}](#{anchor})"), ""]
    return "\n".join(lines)


def render_html(title: str, sections: Sequence[Section], root: Path | None = None) -> str:
    """The report as one HTML file that references nothing outside itself (CSV and LaTeX links point
    to the files beside it); audio beyond :data:`AUDIO_CAP` is left out with a note."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}h1{margin:0.3em 0}"
             "table{border-collapse:collapse;margin:0.6em 0}td,th{border:1px solid #ccc;padding:2px 7px;text-align:left}"
             ".num{text-align:right}caption{font-weight:bold;text-align:left}img{max-width:100%}"
             ".files{font-size:small;color:#666}figure{display:inline-block;margin:0.3em}"
             "</style></head><body>", f"<h1>{e(title)}</h1>"]
    group, budget = None, AUDIO_CAP
    for i, s in enumerate(sections):
        if s.group != group:
            group = s.group
            parts.append(f"<h2 id='{_slug(group)}'>{e(group)}</h2>")
        if s.title != s.group:
            parts.append(f"<h3 id='{s.anchor}'>{e(s.title)}</h3>")
        parts += [f"<p>{_inline(p)}</p>" for p in s.paragraphs]
        for j, table in enumerate(s.tables):
            parts.append(table.html())
            if j < len(s.table_files) and root is not None:
                csv, tex = (f.relative_to(root).as_posix() for f in s.table_files[j])
                parts.append(f"<div class='files'><a href='{e(csv)}'>CSV</a> · <a href='{e(tex)}'>LaTeX</a></div>")
        for f in s.figures:
            data = base64.b64encode(f.read_bytes()).decode()
            parts.append(f"<p><img alt='{e(f.stem)}' src='data:image/png;base64,{data}'></p>")
        for cap, f in s.audio:
            size = f.stat().st_size
            if size > budget:
                parts.append(f"<p class='files'>{e(cap)}: not embedded (the report's audio size cap of "
                             f"{AUDIO_CAP // 2**20} MiB is reached); {e(f.name)} is beside the report</p>")
                continue
            budget -= size
            data = base64.b64encode(f.read_bytes()).decode()
            parts.append(f"<figure><figcaption>{e(cap)}</figcaption>"
                         f"<audio controls preload='auto' src='data:audio/wav;base64,{data}'></audio></figure>")
        parts += [f"<p>{_inline(p)}</p>" for p in s.notes]
        if i == 0 and len(sections) > 1:
            parts += ["<nav><b>Contents</b><ul>", *_toc(sections[1:], "<li>{indent}<a href='#{anchor}'>{text}</a></li>"),
                      "</ul></nav>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def _inline(text: str) -> str:
    """Escaped text with Markdown's ``code`` and **bold** as HTML."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
