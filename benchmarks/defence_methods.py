"""Every training method, evaluated honestly (issue 5, item 5); run by hand, not a test.

Trains ``standard``, ``mixup``, ``pgd-at``, ``trades``, ``crmt-at``, ``avat`` and the fast baselines
``fgsm-rs``, ``n-fgsm`` and ``free-at`` (replays = the attack steps) (same model, data, epochs, attack
steps and budgets; one seed), then runs ``avrobust evaluate --suite defence`` on each
defended checkpoint with the ``standard`` model as the undefended surrogate of the transferred TMA:
clean accuracy, FGSM, PGD-10, PGD-50 x 3 restarts, APGD-CE, APGD-DLR, MI-FGSM, TIA, MMA, TMA (white
box, adaptive, on the defended model), TMA transferred, the worst case per clip and the
gradient-masking warnings.

    PYTHONPATH=src .venv/bin/python benchmarks/defence_methods.py --out runs/defence-methods

Writes ``OUT/<method>/`` (run directories), ``OUT/<method>-eval.json`` and ``OUT/defence_methods.{json,md}``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from avrobust.io import write_json, write_text
from avrobust.jobs import evaluate_checkpoint
from avrobust.jobs import train_model

METHODS = {"standard": "standard", "mixup": "mixup", "pgd-at": "pgd-at:steps={k}", "trades": "trades:steps={k}",
           "crmt-at": "crmt-at:steps={k}", "avat": "avat:steps={k}", "fgsm-rs": "fgsm-rs", "n-fgsm": "n-fgsm",
           "free-at": "free-at:replays={k}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/defence-methods"))
    parser.add_argument("--data", default="synth:clips_per_class=40")
    parser.add_argument("--model", default="alexnet-sum-vgg")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="training attack steps")
    parser.add_argument("--eval-steps", type=int, default=10, help="steps of suite attacks without their own")
    parser.add_argument("--n", type=int, default=64, help="test clips evaluated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = {}
    for name, spec in METHODS.items():
        run = args.out / name
        spec = spec.format(k=args.steps)
        summary = train_model(args.data, args.model, run, epochs=args.epochs, seed=args.seed, method=spec,
                              overwrite=True)
        rows[name] = {"method": spec, "seconds_per_epoch": summary["seconds_per_epoch"],
                      "train_seconds": summary["total_train_seconds"]}
    for name in METHODS:
        start = time.perf_counter()
        ev = evaluate_checkpoint(args.out / name, split="test", suite="defence", surrogate=args.out / "standard",
                                 steps=args.eval_steps, seed=args.seed, limit=args.n, show_progress=True)
        write_json(args.out / f"{name}-eval.json", ev)
        rows[name].update({"clean_accuracy": ev["clean_accuracy"], "worst_case": ev["worst_case_robust_accuracy"],
                           "robust": {k: v["robust_accuracy"] for k, v in ev["attacks"].items()},
                           "warnings": ev["warnings"], "zero_gradient_share": ev["zero_gradient_share"],
                           "eval_seconds": round(time.perf_counter() - start, 1)})
    result = {"settings": vars(args) | {"out": str(args.out)}, "machine": f"{platform.processor() or platform.machine()}, "
              f"{torch.get_num_threads()} torch threads", "methods": rows}
    write_json(args.out / "defence_methods.json", result)
    write_text(args.out / "defence_methods.md", render(result))
    print(render(result))


def render(result: dict) -> str:
    rows = result["methods"]
    attacks = list(next(iter(rows.values()))["robust"])
    short = [a.replace("pgd:steps=50,restarts=3", "pgd50x3").replace("pgd:steps=10", "pgd10")
             .replace(" (transfer from alexnet-sum-vgg)", " transfer") for a in attacks]
    lines = ["| method | clean | " + " | ".join(short) + " | worst case | s / epoch | warnings |",
             "|---" * (len(attacks) + 5) + "|"]
    for name, r in rows.items():
        cells = " | ".join(f"{100 * r['robust'][a]:.1f}" for a in attacks)
        lines.append(f"| {name} | {100 * r['clean_accuracy']:.1f} | {cells} | **{100 * r['worst_case']:.1f}** | "
                     f"{r['seconds_per_epoch']:.1f} | {len(r['warnings'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
