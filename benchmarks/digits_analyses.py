"""Tables of the Section 3 analyses a-f on `digits`, mean +- std over zoo seeds; run by hand.

Reads ROOT/analysis-s<k>/<kind>.json, written for each zoo k by

    avrobust analyze KIND --model ROOT/runs/zoo-s<k>/alexnet-sum-vgg --victims ROOT/runs/zoo-s<k> \
        --n 64 --seed k --out ROOT/analysis-s<k>

and prints one Markdown table per analysis that all seeds finished (black-box ASR is the mean over the
7 victims; white box on the surrogate AsV).

    python benchmarks/digits_analyses.py ROOT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def ms(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    a = np.asarray(values, dtype=float) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}" if len(a) > 1 else f"{a.mean():.{digits}f}"


def main(root: Path) -> None:
    dirs = sorted(root.glob("analysis-s*"))
    for kind in ("masking", "modality", "temporal-masking", "alignment", "iterations", "eps"):
        runs = [json.loads((d / f"{kind}.json").read_text())["results"] for d in dirs if (d / f"{kind}.json").exists()]
        if not runs:
            continue
        print(f"\n#### ({kind}) {len(runs)} seeds\n")
        if kind == "masking":
            ratios = runs[0]["ratios"]
            print("| masking | " + " | ".join(f"rho {r:g}" for r in ratios) + " |\n|---|" + "---:|" * len(ratios))
            for mode in ("synchronous", "asynchronous"):
                print(f"| {mode} accuracy % | " + " | ".join(ms([r["accuracy"][mode][i] for r in runs]) for i in range(len(ratios))) + " |")
        elif kind in ("modality", "temporal-masking", "alignment"):
            res = [r["results"] for r in runs]
            if kind == "modality":
                rows = [(f"{a}, {m} only" if m != "both" else f"{a}, both", (a, m)) for a in res[0] for m in res[0][a]]
                get = lambda r, key, k: r[k[0]][k[1]][key]  # noqa: E731
            else:
                rows = [(k, k) for k in res[0]]
                get = lambda r, key, k: r[k][key]  # noqa: E731
            extra = kind == "alignment"
            print("| attack | white-box ASR % | black-box ASR % |" + (" black-box p_a/p_v cosine |" if extra else "")
                  + "\n|---|---:|---:|" + ("---:|" if extra else ""))
            for label, k in rows:
                line = f"| {label} | {ms([get(r, 'white_box_asr', k) for r in res])} | {ms([get(r, 'black_box_asr', k) for r in res])} |"
                if extra:
                    line += f" {ms([get(r, 'black_box_cosine', k) for r in res], 1.0, 3)} |"
                print(line)
            if extra:
                print("\nPearson r of black-box ASR and cosine, per seed: "
                      + ", ".join(f"{r['pearson_r']:.2f}" for r in runs))
        else:  # iterations, eps: a sweep per attack
            axis = runs[0]["steps"] if kind == "iterations" else runs[0]["scales"]
            name = "steps" if kind == "iterations" else "budget scale"
            print("| attack (white box / black box %) | " + " | ".join(f"{name} {v:g}" for v in axis)
                  + " |\n|---|" + "---|" * len(axis))
            for attack in runs[0]["results"]:
                cells = [f"{ms([r['results'][attack][i]['white_box_asr'] for r in runs])} / "
                         f"{ms([r['results'][attack][i]['black_box_asr'] for r in runs])}" for i in range(len(axis))]
                print(f"| {attack} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
