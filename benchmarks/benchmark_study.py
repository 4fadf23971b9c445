"""Issue 29's studies of the standard benchmark; run by hand, figures go to benchmarks/RESULTS.md.

``masking``: for each seed, an ``alexnet-sum-vgg`` trained 12 epochs on ``synth`` (seed K), behind the
input quantisation of :class:`avrobust.models.canary.Quantised`: PGD-10 and the benchmark's cascade on
``linf-both`` (the protocol below) on the first N test clips, against the same cascade on the plain model.

``cards``: benchmark existing run directories (``--runs``) with a protocol and print one line each.

    PYTHONPATH=src python benchmarks/benchmark_study.py masking ROOT --seeds 0 1 2 --n 100
    PYTHONPATH=src python benchmarks/benchmark_study.py masking ROOT5000 --seeds 1 --n 100 --queries 5000
    PYTHONPATH=src python benchmarks/benchmark_study.py cards ROOT --runs RUN... --protocol quick --n 64
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from avrobust.attacks import ThreatModel
from avrobust.checkpoint import load_checkpoint
from avrobust.data import load_dataset
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.model_card import run_benchmark
from avrobust.evaluation.suites import Protocol
from avrobust.jobs import train_model
from avrobust.models.canary import Quantised

#: the masking study's cascade: AutoAttack's order at 20 APGD steps, 3 targets, Square with 1000 queries
MASKING = Protocol("masking-study", apgd_steps=20, targets=3, queries=1000, eps_scales=(0.5, 1.0, 2.0, 4.0),
                   eps_steps=10)


def masking(root: Path, seeds: list[int], n: int, queries: int = 1000) -> None:
    protocol = MASKING if queries == MASKING.queries else \
        Protocol(f"masking-study-q{queries}", apgd_steps=MASKING.apgd_steps, targets=MASKING.targets, queries=queries,
                 eps_scales=MASKING.eps_scales, eps_steps=MASKING.eps_steps)
    rows = []
    for seed in seeds:
        run = root / f"asv-s{seed}"
        if not (run / "summary.json").exists():
            train_model("synth", "AsV", run, epochs=12, seed=seed, overwrite=True, show_progress=False)
        model = load_checkpoint(run).model.eval()
        test = load_dataset("synth", "test")
        idx = torch.arange(n)
        row: dict = {"seed": seed}
        for name, net in (("plain", model), ("quantised", Quantised(model))):
            pgd = evaluate_classifier(net, test, EvaluationPlan(("pgd:steps=10",), ThreatModel()), indices=idx)
            card = run_benchmark(net, test, protocol, threats=["linf-both"], indices=idx, model_name=name, seed=seed)
            card.write(root / f"card-{name}-s{seed}.json")
            both = card.threats["linf-both"]
            row[name] = {"clean": card.clean_accuracy, "pgd10": pgd.attacks["pgd:steps=10"].robust_accuracy,
                         **{s.attack: s.robust_accuracy for s in both.cascade}, "seconds": card.seconds,
                         "flags": [f.split(":")[0] for f in card.flags]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    (root / "masking.json").write_text(json.dumps(rows, indent=1))


def cards(root: Path, runs: list[Path], protocol: str, n: int, threats: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for run in runs:
        ckpt = load_checkpoint(run)
        test = load_dataset(ckpt.meta["data_spec"], "test")
        card = run_benchmark(ckpt.model, test, protocol, threats=threats, indices=torch.arange(min(n, len(test))),
                             model_name=f"{ckpt.meta.get('model_name', '')} ({run.name})", checkpoint=str(run),
                             show_progress=True)
        card.write(root / f"card-{run.name}-{protocol}.json")
        summary = {t: {s.attack: (s.attacked, s.fooled, s.seconds) for s in r.cascade} for t, r in card.threats.items()}
        print(json.dumps({"run": str(run), "clean": card.clean_accuracy, "seconds": card.seconds,
                          "robust": {t: r.robust_accuracy for t, r in card.threats.items()}, "cascade": summary,
                          "flags": card.flags}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", choices=["masking", "cards"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--runs", type=Path, nargs="*", default=[])
    ap.add_argument("--protocol", default="quick")
    ap.add_argument("--queries", type=int, default=1000, help="masking: Square's query budget")
    ap.add_argument("--threats", nargs="+", default=["linf-both"])
    args = ap.parse_args()
    if args.study == "masking":
        masking(args.root, args.seeds, args.n, args.queries)
    else:
        cards(args.root, args.runs, args.protocol, args.n, args.threats)


if __name__ == "__main__":
    main()
