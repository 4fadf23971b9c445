"""The headline question of issue 4, run by hand (not a test).

At equal budgets and steps, does TMA (and TIA, MMA) beat MI-FGSM, NI-FGSM, MIG and PAM in
black-box ASR averaged over victims? For every seed k: the 8-model zoo trained with base seed 8k
(``avrobust train-zoo --seed 8k``; an existing finished zoo is reused), then a transfer matrix from
the chosen surrogates to all 8 models with attack seed k, at each budget scale. The black-box ASR of
a seed is the mean over its (surrogate, victim) pairs; the table gives mean +- std over seeds.

    PYTHONPATH=src .venv/bin/python benchmarks/headline_transfer.py --seeds 0 1 2 --out runs/headline

Writes ``OUT/seed<k>-x<scale>.{json,md,png}`` (one transfer matrix each) and ``OUT/headline.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.io import write_json, write_text
from avrobust.data import load_dataset
from avrobust.evaluation.transfer import load_members, transfer_matrix
from avrobust.jobs.transfer import write_transfer as write_outputs
from avrobust.stats import mean_std
from avrobust.jobs.train import ZOO_FILE, train_zoo

ATTACKS = "mifgsm,nifgsm,mig,pam,tia,mma,tma"


def zoo_dir(root: Path, k: int, data: str, epochs: int) -> Path:
    """The zoo of seed ``k``, trained unless a finished one is there."""
    out = root / f"zoo-s{k}"
    done = (out / ZOO_FILE).exists() and json.loads((out / ZOO_FILE).read_text()).get("complete")
    if not done:
        train_zoo(data, out, epochs=epochs, seed=8 * k, resume=(out / ZOO_FILE).exists(), show_progress=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("runs/headline"))
    ap.add_argument("--zoo-root", type=Path, default=Path("runs"), help="zoo-s<k> directories live here")
    ap.add_argument("--data", default="synth")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--surrogates", default="AsV", help="comma-separated zoo aliases crafting the attacks")
    ap.add_argument("--attacks", default=ATTACKS)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--n", type=int, default=100, help="test clips")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0], help="budget multipliers of the defaults")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.data, "test")
    idx = torch.arange(min(args.n, len(dataset)))
    wanted = args.surrogates.split(",")
    per_seed: dict[str, dict[str, list[float]]] = {}
    runs = []
    for k in args.seeds:
        zoo = zoo_dir(args.zoo_root, k, args.data, args.epochs)
        members = load_members([zoo])
        surrogates = [m for m in members if m.label in wanted]
        for scale in args.scales:
            threat = ThreatModel().scaled(scale)
            attacks = build_attacks([args.attacks], threat, steps=args.steps, seed=k)
            start = time.perf_counter()
            result = transfer_matrix(surrogates, members, dataset, attacks, indices=idx)
            write_outputs(result, args.out / f"seed{k}-x{scale:g}.json")
            runs.append({"seed": k, "scale": scale, "seconds": round(time.perf_counter() - start, 1),
                         "victim_clean_accuracy": {v: d["clean_accuracy"] for v, d in result["victims"].items()}})
            for attack, s in result["summary"].items():
                cell = per_seed.setdefault(f"x{scale:g}", {}).setdefault(attack, [])
                cell.append(s["black_box_asr"])
                per_seed[f"x{scale:g}"].setdefault(f"{attack} (white box)", []).append(s["white_box_asr"])
            print(f"seed {k} scale {scale:g}: " + ", ".join(
                f"{a} {100 * s['black_box_asr']:.1f}" for a, s in result["summary"].items()), flush=True)
    table = {scale: {a: dict(zip(("mean", "std"), mean_std(v)), values=v) for a, v in rows.items()}
             for scale, rows in per_seed.items()}
    headline = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                "args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "table": table}
    write_json(args.out / "headline.json", headline)
    write_text(args.out / "headline.md", render(headline))
    print(render(headline))


def render(headline: dict) -> str:
    lines = []
    for scale, rows in headline["table"].items():
        k = float(scale[1:])
        lines += [f"Budget {scale} the defaults (video {8 * k:g}/255, audio {0.01 * k:g}, L-inf, both modalities):", "",
                  "| attack | black-box ASR % mean +- std over seeds | per seed | white-box ASR % |", "|---|---|---|---|"]
        for attack, r in rows.items():
            if attack.endswith("(white box)"):
                continue
            w = rows[f"{attack} (white box)"]
            std = "" if r["std"] is None else f" +- {100 * r['std']:.1f}"
            lines.append(f"| {attack} | {100 * r['mean']:.1f}{std} | {' / '.join(f'{100 * v:.1f}' for v in r['values'])} "
                         f"| {100 * w['mean']:.1f} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
