"""Tables of the 3-seed `digits` study (issue 15), from the files its commands wrote; run by hand.

Reads ROOT/runs/zoo-s<k>/zoo.json (validation), ROOT/eval/clean-s<k>-<model>.json (test, clean),
ROOT/eval/pgd-s<k>-<model>-<modality>.json (white-box PGD-10, one modality attacked) and
ROOT/headline/seed<k>-x<scale>.json (transfer matrices), and prints Markdown: the zoo's test accuracies
(mean +- std over the 3 zoos), the unimodal white-box robust accuracies, and for every attack the
black-box ASR with, against MI-FGSM, the paired difference over all (seed, surrogate, victim) pairs
(mean and a 95 % bootstrap interval), so "does TMA transfer better" has an error bar.

    python benchmarks/digits_study.py ROOT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ALIASES = {"alexnet-concat-resnet": "AcR", "alexnet-concat-vgg": "AcV", "alexnet-sum-resnet": "AsR",
           "alexnet-sum-vgg": "AsV", "resnet-concat-resnet": "RcR", "resnet-concat-vgg": "RcV",
           "resnet-sum-resnet": "RsR", "resnet-sum-vgg": "RsV"}
KEYS = ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy")


def ms(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    a = np.asarray(values, dtype=float) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}" if len(a) > 1 else f"{a.mean():.{digits}f}"


def bootstrap(diff: np.ndarray, rounds: int = 10_000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (rounds, len(diff)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main(root: Path) -> None:
    seeds = sorted(int(p.name[5:]) for p in (root / "runs").glob("zoo-s*"))
    print(f"## Zoo, test split (400 clips), mean ± std over zoos {seeds}\n")
    print("| model | clean | audio-only | visual-only | train s (12 epochs) |\n|---|---:|---:|---:|---:|")
    for name, alias in ALIASES.items():
        vals = {k: [] for k in KEYS}
        secs = []
        for k in seeds:
            f = root / "eval" / f"clean-s{k}-{name}.json"
            if f.exists():
                r = json.loads(f.read_text())
                for key in KEYS:
                    vals[key].append(r[key])
            zoo = json.loads((root / "runs" / f"zoo-s{k}" / "zoo.json").read_text())
            secs += [m["train_seconds"] for m in zoo["models"] if m["model"] == name]
        if vals["clean_accuracy"]:
            print(f"| {alias} | " + " | ".join(ms(vals[key]) for key in KEYS) + f" | {ms(secs, digits=0)} |")
    print("\n## White-box PGD-10, one modality attacked (200 test clips, default budgets)\n")
    print("| model | modality | clean | robust acc | per zoo |\n|---|---|---:|---:|---|")
    for name in ("alexnet-sum-vgg", "resnet-sum-resnet"):
        for mod in ("video", "audio"):
            rs = [json.loads(f.read_text()) for k in seeds if (f := root / "eval" / f"pgd-s{k}-{name}-{mod}.json").exists()]
            if rs:
                robust = [r["attacks"]["pgd"]["robust_accuracy"] for r in rs]
                print(f"| {ALIASES[name]} | {mod} only | {ms([r['clean_accuracy'] for r in rs])} | {ms(robust)} | "
                      + " / ".join(f"{v:.3f}" for v in robust) + " |")
    for scale in ("1", "4"):
        files = sorted((root / "headline").glob(f"seed*-x{scale}.json"))
        if not files:
            continue
        cells: dict[str, dict[tuple, float]] = {}
        for f in files:
            t = json.loads(f.read_text())
            for c in t["matrix"]:
                if not c["white_box"]:
                    cells.setdefault(c["attack"], {})[(f.name, c["surrogate"], c["victim"])] = c["attack_success_rate"]
        per_seed = {a: [np.mean([v for key, v in d.items() if key[0] == f.name]) for f in files] for a, d in cells.items()}
        print(f"\n## Transfer at {scale}x the default budgets: black-box ASR %, {len(files)} seeds, "
              f"{len(cells['mifgsm']) // len(files)} pairs per seed\n")
        print("| attack | mean ± std over seeds | per seed | minus MI-FGSM, paired over all pairs [95 % bootstrap] |")
        print("|---|---:|---|---|")
        base = cells["mifgsm"]
        for attack, d in cells.items():
            keys = sorted(d)
            diff = np.array([d[key] - base[key] for key in keys]) * 100
            lo, hi = bootstrap(diff)
            paired = "" if attack == "mifgsm" else f"{diff.mean():+.1f} [{lo:+.1f}, {hi:+.1f}] (n = {len(diff)})"
            print(f"| {attack} | {ms(per_seed[attack], 100, 1)} | " + " / ".join(f"{100 * v:.1f}" for v in per_seed[attack])
                  + f" | {paired} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
