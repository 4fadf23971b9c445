"""Markdown tables of the Section 3 analyses over seeds (mean ± std), as RESULTS.md quotes them; the table's
form follows the result's shape (accuracy per mode, a sweep per attack, or one row per attack), not its name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from avrobust.stats import mean_std


def ms(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    mean, std = mean_std([v * scale for v in values])
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def analysis_tables(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """One table per analysis kind; ``runs[kind]`` holds one analysis result file per seed."""
    out: list[str] = []
    for kind, files in runs.items():
        res = [f["results"] for f in files]
        if not res:
            continue
        out.append(f"#### ({kind}) {len(res)} seeds, surrogate {files[0]['setup']['surrogate']}, "
                   f"victims {', '.join(files[0]['setup']['victims'])}, {files[0]['setup']['n']} clips\n")
        if "accuracy" in res[0]:  # accuracy under masking, per mode and ratio
            ratios = res[0]["ratios"]
            out.append("| masking: accuracy % | " + " | ".join(f"rho {r:g}" for r in ratios) + " |\n|---|" + "---:|" * len(ratios))
            for mode in res[0]["accuracy"]:
                out.append(f"| {mode} | " + " | ".join(ms([r["accuracy"][mode][i] for r in res]) for i in range(len(ratios))) + " |")
        elif all(isinstance(v, list) for v in res[0]["results"].values()):  # a sweep per attack
            axis_key = next(k for k in ("steps", "scales", "ratios") if k in res[0])
            axis = res[0][axis_key]
            out.append(f"| attack (white box / black box %) | " + " | ".join(f"{axis_key} {v:g}" for v in axis)
                       + " |\n|---|" + "---|" * len(axis))
            for attack in res[0]["results"]:
                cells = [f"{ms([r['results'][attack][i]['white_box_asr'] for r in res])} / "
                         f"{ms([r['results'][attack][i]['black_box_asr'] for r in res])}" for i in range(len(axis))]
                out.append(f"| {attack} | " + " | ".join(cells) + " |")
        else:  # one row per attack (and per attacked modality where the results nest them)
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
            out.append("| attack | white-box ASR % | black-box ASR % |" + (" black-box p_a/p_v cosine |" if extra else "")
                       + "\n|---|---:|---:|" + ("---:|" if extra else ""))
            for label, path in rows:
                line = f"| {label} | {ms([get(r, 'white_box_asr', path) for r in inner])} | {ms([get(r, 'black_box_asr', path) for r in inner])} |"
                if extra:
                    line += f" {ms([get(r, 'black_box_cosine', path) for r in inner], 1.0, 3)} |"
                out.append(line)
            if extra:
                out.append("\nPearson r of black-box ASR and cosine, per seed: "
                           + ", ".join(f"{r['pearson_r']:.2f}" for r in res if r.get("pearson_r") is not None))
        out.append("")
    return "\n".join(out)
