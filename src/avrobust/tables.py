"""Every table avrobust shows, built once from the typed results and rendered for the terminal
(:mod:`avrobust.cli`), Markdown and HTML (:mod:`avrobust.report`).

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

from avrobust.results import AblationResult, EvaluationResult, TransferResult, ZooResult


@dataclass
class Table:
    """A title, a header and rows of strings; ``numeric`` columns are right-aligned."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""
    numeric: set[int] = field(default_factory=set)

    def markdown(self, level: int = 0) -> str:
        """GitHub Markdown; the title as a heading of ``level`` (0: a bold line)."""
        title = ("#" * level + " " + self.title) if level else f"**{self.title}**"
        lines = [title, ""] if self.title else []
        lines += ["| " + " | ".join(self.header) + " |",
                  "|" + "".join("---:|" if i in self.numeric else "---|" for i in range(len(self.header)))]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.rows])

    def html(self) -> str:
        e = html.escape

        def cell(tag: str, i: int, text: str) -> str:
            body = re.sub(r"`([^`]+)`", r"<code>\1</code>", e(text))  # Markdown code spans as HTML
            return f"<{tag}{' class=num' if i in self.numeric else ''}>{body}</{tag}>"

        parts = [f"<table>{f'<caption>{e(self.title)}</caption>' if self.title else ''}<tr>"
                 + "".join(cell("th", i, h) for i, h in enumerate(self.header)) + "</tr>"]
        parts += ["<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in self.rows]
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


# ---- tables of the results ------------------------------------------------------------------------------
def clean_table(results: Mapping[str, EvaluationResult], title: str = "") -> Table:
    """One row per evaluated model: clips, clean, audio-only (p_a) and visual-only (p_v) accuracy."""
    where = {f"{r.data} ({r.split})" for r in results.values()}
    return Table(["model", "n", "clean accuracy", "audio-only accuracy", "visual-only accuracy"],
                 [[name, str(r.n), frac(r.clean_accuracy), frac(r.audio_only_accuracy), frac(r.visual_only_accuracy)]
                  for name, r in results.items()], title or f"on {', '.join(sorted(where))}", {1, 2, 3, 4})


def attack_table(attacks: Mapping[str, Mapping[str, Any]], worst: float | None = None, title: str = "") -> Table:
    """One row per attack (an evaluation's ``attacks``): attacked modalities, budgets as written (8/255;
    audio with its dBFS and the measured SNR), steps, robust accuracy, ASR, perceptibility and seconds."""
    def audio(r: Mapping[str, Any]) -> str:
        b = r["budget"]["audio"]
        snr = r.get("snr_db") if "audio" in r["modalities"] else None
        return f"{b['norm']} {eps_text(b['eps'], 'audio')}" + ("" if snr is None else f", SNR {snr:.1f} dB")

    rows = [[label, "+".join(r["modalities"]), f"{r['budget']['video']['norm']} {eps_text(r['budget']['video']['eps'], 'video')}",
             audio(r), str(r["steps"]), frac(r["robust_accuracy"]), frac(r["attack_success_rate"]),
             frac(r.get("psnr_db"), 1), frac(r.get("ssim")), frac(r.get("segmental_snr_db"), 1),
             frac(r.get("seconds"), 1)] for label, r in attacks.items()]
    return Table(["attack", "attacked", "video budget", "audio budget (measured SNR)", "steps", "robust acc", "ASR",
                  "PSNR dB", "SSIM", "segSNR dB", "seconds"], rows,
                 title or f"attacks (worst-case robust accuracy {frac(worst)})", set(range(4, 11)))


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
    return (f"{s['epochs']} epochs, {s['steps']} attack steps, evaluation on {s['n']} test clips against "
            f"{attacks} ({s['eval_steps']} steps where an attack sets none), worst case per clip. "
            "Mean ± std over seeds.")


def zoo_table(zoo: ZooResult, title: str = "") -> Table:
    rows = [[e.model, e.alias, str(e.seed), frac(e.val["clean_accuracy"]), frac(e.val["audio_only_accuracy"]),
             frac(e.val["visual_only_accuracy"]), f"{e.train_seconds:.0f}"] for e in zoo.models]
    return Table(["model", "alias", "seed", "val acc", "audio", "visual", "train s"], rows, title, {2, 3, 4, 5, 6})


def markdown_tables(tables: Sequence[Table], level: int = 0) -> str:
    return "\n\n".join(t.markdown(level) for t in tables) + "\n"
