"""``avrobust report``: Markdown and self-contained HTML from the JSON results avrobust writes.

It reads, from the given files and directories (searched two levels deep):

* evaluation results (``avrobust evaluate --json``, the demo's ``<role>-test.json``): clean,
  audio-only and visual-only accuracy and, per attack, robust accuracy, ASR, budgets, steps and
  perceptibility, with a bar chart of robust accuracy;
* transfer matrices (``avrobust transfer``): the per-attack summary and the heatmaps;
* analyses (``avrobust analyze``): the set-up and the plot;
* training runs (``summary.json`` of ``avrobust train``): validation accuracy per epoch.

``report.md`` refers to ``figures/*.png`` beside it; ``report.html`` embeds every figure as a data
URI and references nothing outside itself.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avrobust.checkpoint import atomic_write_bytes
from avrobust.errors import ConfigError


@dataclass
class Section:
    """One report section: a title, paragraphs, tables ``(header, rows)`` and figure paths."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def _kind(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if "matrix" in data and "summary" in data:
        return "transfer"
    if "settings" in data and "rows" in data and "summary" in data:
        return "ablation"
    if "kind" in data and "results" in data and "setup" in data:
        return "analysis"
    if "clean_accuracy" in data and "attacks" in data:
        return "evaluation"
    if "history" in data and "train_config" in data:
        return "training"
    return None


def find_results(paths: Sequence[str | Path]) -> list[tuple[Path, str, dict[str, Any]]]:
    """``(path, kind, data)`` for every recognised JSON under ``paths`` (files, or directories two levels deep)."""
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
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        kind = _kind(data)
        if kind:
            found.append((f, kind, data))
    if not found:
        raise ConfigError("no avrobust results found there; run evaluate --json, transfer, analyze or train first")
    return found


def _f(x: Any, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def _evaluation(path: Path, data: dict[str, Any], figures: Path) -> Section:
    from avrobust.plotting import bar_plot

    name = data.get("model") or path.stem
    sec = Section(f"Evaluation: {name} ({path.name})", [
        f"Data `{data.get('data')}` ({data.get('split')}, {data.get('n')} clips). Clean accuracy "
        f"{_f(data.get('clean_accuracy'))}, audio-only {_f(data.get('audio_only_accuracy'))}, visual-only "
        f"{_f(data.get('visual_only_accuracy'))}."])
    attacks = data.get("attacks") or {}
    if attacks:
        sec.paragraphs.append(f"Worst case over the attacks: {_f(data.get('worst_case_robust_accuracy'))}. ASR: share "
                              "of the clean-correct clips the attack makes wrong.")
        rows = []
        for label, r in attacks.items():
            b = r["budget"]
            rows.append([label, "+".join(r["modalities"]), f"{b['video']['norm']} {b['video']['eps']:.4g} / "
                         f"{b['audio']['norm']} {b['audio']['eps']:.4g}", str(r["steps"]), _f(r["robust_accuracy"]),
                         _f(r["attack_success_rate"]), _f(r.get("psnr_db"), ".1f"), _f(r.get("ssim")),
                         _f(r.get("snr_db"), ".1f"), _f(r.get("segmental_snr_db"), ".1f")])
        sec.tables.append((["attack", "attacked", "eps video / audio", "steps", "robust acc", "ASR", "PSNR dB",
                            "SSIM", "SNR dB", "segSNR dB"], rows))
        fig = figures / f"{path.stem}-robust.png"
        bar_plot(list(attacks), {"robust accuracy": [r["robust_accuracy"] for r in attacks.values()]}, fig,
                 ylabel="robust accuracy %", title=f"{name}: robust accuracy per attack (clean {_f(data['clean_accuracy'])})")
        sec.figures.append(fig)
    for line in data.get("warnings") or []:
        sec.paragraphs.append(f"**Warning:** {line}.")
    return sec


def _ablation(path: Path, data: dict[str, Any], figures: Path) -> Section:
    from avrobust.ablation import TABLE_HEADER, plot, settings_line, table_rows

    s = data["settings"]
    sec = Section(f"Defence ablation ({path.name})", [f"{s['model']} on `{s['data']}`: {settings_line(s)}"])
    sec.tables.append((TABLE_HEADER, table_rows(data)))
    fig = figures / f"{path.stem}-ablation.png"
    plot(data, fig)
    sec.figures.append(fig)
    return sec


def _transfer(path: Path, data: dict[str, Any], figures: Path) -> Section:
    from avrobust.evaluation.transfer import plot_heatmaps

    sec = Section(f"Transfer matrix ({path.name})", [
        f"Data `{data['data']}` ({data['split']}, {data['n']} clips); surrogates {', '.join(data['surrogates'])}; "
        f"victims {', '.join(data['victims'])}. Black box excludes white-box pairs (victim = surrogate or member)."])
    rows = [[a, _f(s["black_box_asr"]), _f(s["black_box_asr_std"]), str(s["black_box_pairs"]), _f(s["white_box_asr"])]
            for a, s in data["summary"].items()]
    sec.tables.append((["attack", "black-box ASR", "std over pairs", "pairs", "white-box ASR"], rows))
    fig = figures / f"{path.stem}-heatmaps.png"
    plot_heatmaps(data, fig)
    sec.figures.append(fig)
    return sec


def _analysis(path: Path, data: dict[str, Any], figures: Path) -> Section:
    from avrobust.analysis import ANALYSES

    setup = data["setup"]
    sec = Section(f"Analysis: {data['kind']} ({path.name})", [
        f"Surrogate {setup['surrogate']}, victims {', '.join(setup['victims']) or 'none'}; data `{setup['data']}` "
        f"({setup['n']} clips), {setup['steps']} steps, seed {setup['seed']}; {data['seconds']} s."])
    fig = figures / f"{path.stem}-{data['kind']}.png"
    ANALYSES.create(data["kind"]).plot(data, str(fig))
    sec.figures.append(fig)
    return sec


def _training(path: Path, data: dict[str, Any], figures: Path) -> Section:
    from avrobust.plotting import line_plot

    h = data["history"]
    name = data.get("model") or path.parent.name
    sec = Section(f"Training: {name} ({path.parent.name})", [
        f"Method {data.get('method')}, {data.get('epochs')} epochs, {data.get('seconds_per_epoch', 0):.1f} s per epoch, "
        f"{data.get('forward_passes', 0):,} forward and {data.get('backward_passes', 0):,} backward clip passes; "
        f"final validation accuracy {_f(data.get('metrics', {}).get('clean_accuracy'))}."])
    if h and "val_clean_accuracy" in h[0]:
        fig = figures / f"{path.parent.name}-training.png"
        line_plot([r["epoch"] for r in h], {k: [r[f"val_{k}"] for r in h] for k in
                                           ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy")},
                  fig, xlabel="epoch", ylabel="validation accuracy %", title=f"{name}: validation accuracy")
        sec.figures.append(fig)
    curriculum = data.get("curriculum") or []
    if curriculum:
        keys = [k for k in ("rho", "mask_ratio", "dropout", "attack_steps") if k in curriculum[0]]
        sec.tables.append((["epoch", *keys], [[str(c["epoch"]), *(str(c[k]) for k in keys)] for c in curriculum]))
    return sec


BUILDERS = {"evaluation": _evaluation, "transfer": _transfer, "analysis": _analysis, "training": _training,
            "ablation": _ablation}
ORDER = ("training", "evaluation", "ablation", "transfer", "analysis")


def build_report(paths: Sequence[str | Path], out: str | Path, *, title: str = "avrobust report",
                 overwrite: bool = False) -> dict[str, Any]:
    """Write ``out/report.md``, ``out/report.html`` and ``out/figures/``; return what was included."""
    out = Path(out)
    if (out / "report.html").exists() and not overwrite:
        raise ConfigError(f"{out} already holds a report; pass --overwrite or choose another --out")
    found = find_results(paths)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    found.sort(key=lambda x: (ORDER.index(x[1]), str(x[0])))
    sections = [BUILDERS[kind](path, data, figures) for path, kind, data in found]
    atomic_write_bytes(out / "report.md", render_markdown(title, sections, out).encode())
    atomic_write_bytes(out / "report.html", render_html(title, sections).encode())
    return {"report": str(out / "report.html"), "markdown": str(out / "report.md"),
            "sections": [s.title for s in sections], "figures": [str(f) for s in sections for f in s.figures]}


def render_markdown(title: str, sections: Sequence[Section], root: Path) -> str:
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for header, rows in s.tables:
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
        for f in s.figures:
            lines += [f"![{f.stem}]({f.relative_to(root).as_posix()})", ""]
    return "\n".join(lines)


def render_html(title: str, sections: Sequence[Section]) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
             "</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        parts.append(f"<h2>{e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        for header, rows in s.tables:
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
            parts.append("</table>")
        for f in s.figures:
            data = base64.b64encode(f.read_bytes()).decode()
            parts.append(f"<p><img alt='{e(f.stem)}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
