"""Tables rendered for the terminal (:mod:`avrobust.cli`), Markdown, HTML, CSV and LaTeX
(:mod:`avrobust.report`), and how numbers are written in them; each result kind builds its own tables
(:mod:`avrobust.results`).

Accuracies and rates of one evaluation are fractions (0.873); transfer and ablation tables, which
compare many runs, are percentages with the std over pairs or seeds.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any



@dataclass
class Table:
    """A title, a header and rows of strings; ``numeric`` columns are right-aligned; ``hints`` (row, column) ->
    the full text of a shortened cell, shown on hover in HTML."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""
    numeric: set[int] = field(default_factory=set)
    hints: dict[tuple[int, int], str] = field(default_factory=dict)

    def markdown(self, level: int = 0) -> str:
        """GitHub Markdown; the title as a heading of ``level`` (0: a bold line)."""
        title = ("#" * level + " " + self.title) if level else f"**{self.title}**"
        lines = [title, ""] if self.title else []
        lines += ["| " + " | ".join(self.header) + " |",
                  "|" + "".join("---:|" if i in self.numeric else "---|" for i in range(len(self.header)))]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.rows])

    def html(self) -> str:
        e = html.escape

        def cell(tag: str, i: int, text: str, hint: str | None = None) -> str:
            body = re.sub(r"`([^`]+)`", r"<code>\1</code>", e(text))  # Markdown code spans as HTML
            title = f' title="{e(hint)}"' if hint else ""
            return f"<{tag}{' class=num' if i in self.numeric else ''}{title}>{body}</{tag}>"

        parts = [f"<table>{f'<caption>{e(self.title)}</caption>' if self.title else ''}<tr>"
                 + "".join(cell("th", i, h) for i, h in enumerate(self.header)) + "</tr>"]
        parts += ["<tr>" + "".join(cell("td", i, c, self.hints.get((k, i))) for i, c in enumerate(r)) + "</tr>"
                  for k, r in enumerate(self.rows)]
        return "\n".join(parts + ["</table>"])


    def csv(self) -> str:
        """Comma-separated values with the header as the first row (RFC 4180 quoting)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([[c.replace("`", "") for c in r] for r in (self.header, *self.rows)])
        return out.getvalue()

    def latex(self) -> str:
        """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``); numeric columns right-aligned."""
        cols = "".join("r" if i in self.numeric else "l" for i in range(len(self.header)))

        def row(cells: Sequence[str]) -> str:
            return " & ".join(latex_escape(c) for c in cells) + r" \\"

        lines = [f"% {latex_escape(self.title)}"] if self.title else []
        lines += [rf"\begin{{tabular}}{{{cols}}}", r"\toprule", row(self.header), r"\midrule",
                  *(row(r) for r in self.rows), r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$",
                 "`": "", "[": "{[}", "]": "{]}"}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``±`` as ``$\\pm$``, Markdown backticks dropped)."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


# ---- numbers -------------------------------------------------------------------------------------------
def frac(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def pct(x: float | None, std: float | None = None, digits: int = 1) -> str:
    """``x`` in percent, with ``± std`` when given."""
    if x is None:
        return "-"
    return f"{100 * x:.{digits}f}" + ("" if std is None else f" ± {100 * std:.{digits}f}")


def mean_std_cell(entry: Mapping[str, Any] | None, scale: float = 100.0, digits: int = 1) -> str:
    """A ``{"mean", "std"}`` entry as ``mean ± std`` (scaled; ``-`` when missing)."""
    if not entry or entry.get("mean") is None:
        return "-"
    std = entry.get("std")
    return f"{scale * entry['mean']:.{digits}f}" + ("" if std is None else f" ± {scale * std:.{digits}f}")


def eps_text(eps: float, modality: str) -> str:
    """A budget as users write it: video fractions of 255 as ``8/255``; audio with its level in dBFS."""
    if modality == "video":
        k = Fraction(eps * 255).limit_denominator(8)
        if abs(float(k) / 255 - eps) < 1e-9:
            return f"{k}/255" if k.denominator == 1 else f"{k.numerator}/{255 * k.denominator}"
        return f"{eps:.4g}"
    return f"{eps:g} ({20 * math.log10(eps):.0f} dBFS)" if eps > 0 else "0"


def budget_text(budget: Mapping[str, Any]) -> str:
    """``linf 8/255 / linf 0.01 (-40 dBFS)`` for an attack's ``budget`` entry."""
    return " / ".join(f"{budget[m]['norm']} {eps_text(budget[m]['eps'], m)}" for m in ("video", "audio"))


def markdown_tables(tables: Sequence[Table], level: int = 0) -> str:
    return "\n\n".join(t.markdown(level) for t in tables) + "\n"
