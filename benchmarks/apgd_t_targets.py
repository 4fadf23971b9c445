"""APGD-T's targets ranked by logits (AutoAttack) against MALT's linearised distance (issue 39): on the clips
APGD-CE leaves robust, how many each setting fools and at what cost.

For each model (run directories given on the command line) and seed: APGD-CE (20 steps) on the first N
test clips, then on the clips it left robust APGD-T with 20 steps and each of ``logits x 3`` (the quick
protocol's), ``logits x 9`` (AutoAttack's), ``malt x 1`` and ``malt x 3`` targets; the union of everything
they fooled is the reference every setting is counted against.

Run from the repository root:
``PYTHONPATH=. .venv/bin/python benchmarks/apgd_t_targets.py RUN [RUN ...] --n 64 --json OUT``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import load_checkpoint
from avrobust.evaluation import cascade
from avrobust.jobs.common import run_data

SETTINGS = {"logits x 3": "apgd-t:steps=20,targets=3", "logits x 9": "apgd-t:steps=20,targets=9",
            "malt x 1": "apgd-t:steps=20,targets=1,rank=malt", "malt x 3": "apgd-t:steps=20,targets=3,rank=malt"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json")
    args = parser.parse_args()
    out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
           "n": args.n, "seed": args.seed, "settings": SETTINGS, "models": {}}
    threat = ThreatModel()
    for run in args.runs:
        ckpt = load_checkpoint(run)
        data = run_data(ckpt.meta, None, "test")
        idx = torch.arange(min(args.n, len(data)))
        (ce,) = build_attacks(["apgd-ce:steps=20"], threat, seed=args.seed)
        first = cascade.run_cascade(ckpt.model, data, [ce], batch_size=args.batch_size, indices=idx)
        left = idx[first.robust]
        row: dict = {"clean": int(first.clean.sum()), "robust_after_apgd_ce": len(left), "settings": {}}
        fooled_by = {}
        for name, spec in SETTINGS.items():
            (attack,) = build_attacks([spec], threat, seed=args.seed)
            t0 = time.perf_counter()
            ran = cascade.run_cascade(ckpt.model, data, [attack], batch_size=args.batch_size, indices=left)
            fooled_by[name] = ~ran.robust
            row["settings"][name] = {"fooled": int((~ran.robust).sum()), "seconds": round(time.perf_counter() - t0, 2)}
            print(run, name, row["settings"][name], flush=True)
        union = torch.zeros(len(left), dtype=torch.bool)
        for f in fooled_by.values():
            union |= f
        row["fooled_by_any"] = int(union.sum())
        for name, f in fooled_by.items():
            row["settings"][name]["missed_of_union"] = int((union & ~f).sum())
        out["models"][run] = row
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
