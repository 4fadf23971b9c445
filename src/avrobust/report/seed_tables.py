"""Tables over seeds (mean ± std), as studies write them and RESULTS.md quotes them: the cell format
(:func:`ms`), the Section 3 analyses' tables (:func:`analysis_tables`; the table's form follows the result's
shape: accuracy per mode, a sweep per attack, or one row per attack, not its name) and how a study's
blocks (paragraphs and :class:`~avrobust.tables.Table` s) become its Markdown and its CSV and LaTeX files
(:func:`write_blocks`, through the report's :func:`~avrobust.report.render.write_tables`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

from avrobust.report.render import write_tables
from avrobust.results import Section
from avrobust.stats import mean_std
from avrobust.tables import Table

#: what a study stage renders: paragraphs (Markdown text) and tables, in reading order
Block = Union[str, Table]


def ms(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    """``mean ± std`` of ``values`` times ``scale`` (``-`` when empty; the mean alone for one value)."""
    mean, std = mean_std([v * scale for v in values])
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown, a blank line between two."""
    return "\n\n".join(b.markdown() if isinstance(b, Table) else b for b in blocks)


def write_blocks(sections: Mapping[str, Sequence[Block]], folder: Path) -> list[Path]:
    """Every table of every titled block list as ``folder/NN-title.csv`` and ``.tex``; return the paths."""
    return write_tables([Section(title, tables=[b for b in blocks if isinstance(b, Table)])
                         for title, blocks in sections.items()], folder)


def analysis_tables(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Block]:
    """One table per analysis kind; ``runs[kind]`` holds one analysis result file per seed."""
    out: list[Block] = []
    for kind, files in runs.items():
        res = [f["results"] for f in files]
        if not res:
            continue
        out.append(f"#### ({kind}) {len(res)} seeds, surrogate {files[0]['setup']['surrogate']}, "
                   f"victims {', '.join(files[0]['setup']['victims'])}, {files[0]['setup']['n']} clips")
        if "accuracy" in res[0]:  # accuracy under masking, per mode and ratio
            ratios = res[0]["ratios"]
            out.append(Table(["masking: accuracy %", *(f"rho {r:g}" for r in ratios)],
                             [[mode, *(ms([r["accuracy"][mode][i] for r in res]) for i in range(len(ratios)))]
                              for mode in res[0]["accuracy"]], numeric=set(range(1, len(ratios) + 1))))
        elif "per_model" in res[0] and "attack" in res[0]:  # what an audio-only attack reaches, per model
            models = res[0]["per_model"]
            out.append(Table([f"audio-only {res[0]['attack']}", "fusion", "fused ASR %", "visual prediction changed %",
                              "audio prediction changed %", "visual p(true) drop"],
                             [[m, models[m]["fusion"], *(ms([r["per_model"][m][k] for r in res]) for k in
                               ("fused_asr", "visual_changed", "audio_changed")),
                               ms([r["per_model"][m]["visual_true_prob_drop"] for r in res], 1.0, 3)] for m in models],
                             numeric={2, 3, 4, 5}))
        elif all(isinstance(v, list) for v in res[0]["results"].values()):  # a sweep per attack
            axis_key = next(k for k in ("steps", "scales", "ratios") if k in res[0])
            axis = res[0][axis_key]
            out.append(Table(["attack (white box / black box %)", *(f"{axis_key} {v:g}" for v in axis)],
                             [[attack, *(f"{ms([r['results'][attack][i]['white_box_asr'] for r in res])} / "
                                         f"{ms([r['results'][attack][i]['black_box_asr'] for r in res])}"
                                         for i in range(len(axis)))] for attack in res[0]["results"]]))
        else:
            out += _per_attack(res)
    return out


def _per_attack(res: Sequence[Mapping[str, Any]]) -> list[Block]:
    """One row per attack (and per attacked modality where the results nest them)."""
    inner = [r["results"] for r in res]
    rows = []
    for attack, value in inner[0].items():
        if "white_box_asr" in value:
            rows.append((attack, (attack,)))
        else:
            rows += [(f"{attack}, {m}" + ("" if m == "both" else " only"), (attack, m)) for m in value]

    def get(r: Mapping[str, Any], key: str, path: tuple[str, ...]) -> float:
        for part in path:
            r = r[part]
        return r[key]

    extra = "pearson_r" in res[0]
    table = Table(["attack", "white-box ASR %", "black-box ASR %", *(["black-box p_a/p_v cosine"] if extra else [])],
                  numeric={1, 2, 3})
    for label, path in rows:
        table.rows.append([label, ms([get(r, "white_box_asr", path) for r in inner]),
                           ms([get(r, "black_box_asr", path) for r in inner]),
                           *([ms([get(r, "black_box_cosine", path) for r in inner], 1.0, 3)] if extra else [])])
    if not extra:
        return [table]
    return [table, "Pearson r of black-box ASR and cosine, per seed: "
            + ", ".join(f"{r['pearson_r']:.2f}" for r in res if r.get("pearson_r") is not None)]
