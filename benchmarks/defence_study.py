"""Tables of a defence comparison run with ``avrobust ablate --suite defence`` (issues 15 and 18); run by hand.

Reads ``ABLATION_DIR/ablation.json`` (or an ablation JSON file given directly) and prints Markdown: per
variant, mean +- std over seeds of the clean accuracy, the robust accuracy under every attack of the
suite and the worst case per clip, seconds per epoch and the epoch time over PGD-AT's (same seed); then
each variant's worst case and clean accuracy minus PGD-AT's, paired by seed (mean and the per-seed
differences), which is what the issue's "within 1 point of PGD-AT" asks about. ``--against V`` pairs the differences against variant V
instead (e.g. an idea for avat against the configuration it modifies).

    python benchmarks/defence_study.py /tmp/s18/digits
    python benchmarks/defence_study.py benchmarks/results/issue18-synth-ablation.json --against sampling
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SHORT = {"pgd:steps=10": "pgd10", "pgd:steps=50,restarts=3": "pgd50x3"}


def ms(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    a = np.asarray(values, dtype=float) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}" if len(a) > 1 else f"{a.mean():.{digits}f}"


def main(root: Path, against: str = "pgd-at") -> None:
    result = json.loads((root if root.suffix == ".json" else root / "ablation.json").read_text())
    rows = result["rows"]
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    attacks = list(rows[0]["robust_accuracy"])
    base = {r["seed"]: r for r in rows if r["variant"] == "pgd-at"}
    print(f"Settings: {json.dumps(result['settings'])}\n")
    print("| variant | seeds | epochs | clean | " + " | ".join(SHORT.get(a, a) for a in attacks)
          + " | worst case | s / epoch | epoch time / pgd-at |")
    print("|---|---:|---:|---:|" + "---:|" * len(attacks) + "---:|---:|---:|")
    for v in variants:
        mine = [r for r in rows if r["variant"] == v]
        ratio = [r["seconds_per_epoch"] / base[r["seed"]]["seconds_per_epoch"] for r in mine if r["seed"] in base]
        cells = " | ".join(ms([r["robust_accuracy"][a] for r in mine]) for a in attacks)
        epochs = sorted({r["epochs"] for r in mine})
        print(f"| {v} | {len(mine)} | {'/'.join(map(str, epochs))} | {ms([r['clean_accuracy'] for r in mine])} | "
              f"{cells} | **{ms([r['worst_case_robust_accuracy'] for r in mine])}** | "
              f"{ms([r['seconds_per_epoch'] for r in mine], 1.0, 2)} | {ms(ratio, 1.0, 3) if ratio else ''} |")
    ref = {r["seed"]: r for r in rows if r["variant"] == against}
    if not ref:
        raise SystemExit(f"no variant {against!r} in {root}; choose one of {', '.join(variants)}")
    print(f"\nPaired by seed against {against} (points; per-seed differences in brackets):\n")
    print(f"| variant | worst case - {against} | clean - {against} | train s - {against}'s |\n|---|---|---|---|")
    for v in variants:
        mine = [r for r in rows if r["variant"] == v and r["seed"] in ref and v != against]
        if not mine:
            continue
        cells = []
        for key, scale in (("worst_case_robust_accuracy", 100.0), ("clean_accuracy", 100.0), ("train_seconds", 1.0)):
            d = [scale * (r[key] - ref[r["seed"]][key]) for r in mine]
            cells.append(f"{np.mean(d):+.1f} [{', '.join(f'{x:+.1f}' for x in d)}]")
        print(f"| {v} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ablation", type=Path, help="an ablation directory or its ablation.json")
    parser.add_argument("--against", default="pgd-at", help="the variant the paired differences are taken against")
    args = parser.parse_args()
    main(args.ablation, args.against)
