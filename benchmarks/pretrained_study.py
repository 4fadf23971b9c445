"""Pretrained zoo models against scratch ones on `digits` (issue 28); run by hand, figures go to
benchmarks/RESULTS.md.

Each run is two commands in fresh processes, so each one's peak memory is its own:
``/usr/bin/time -v avrobust train ...`` (fine-tuned, or ``--trainable-blocks 0``: frozen backbones) and
``avrobust evaluate`` on the test split. The table gives, per (model, mode), the mean ± std over seeds
of the clean, audio-only and visual-only test accuracy, the seconds per epoch and the training
process's peak resident memory. Runs already done (their evaluation file exists) are skipped, so an
interrupted study continues.

    PYTHONPATH=src python benchmarks/pretrained_study.py ROOT --data digits:size=112,sample_rate=16000 \
        --epochs 6 --seeds 0 1 2 --runs PMsY:finetune PMsY:frozen
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

AVROBUST = str(Path(sys.executable).with_name("avrobust"))
KEYS = ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy")


def run(root: Path, data: str, model: str, mode: str, seed: int, epochs: int, batch_size: int,
        backbone_lr: float | None, extra: list[str]) -> None:
    name = f"{model}-{mode}-s{seed}"
    out, ev = root / "runs" / name, root / "eval" / f"{name}.json"
    if ev.exists():
        return
    ev.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["/usr/bin/time", "-v", AVROBUST, "train", "--data", data, "--model", model, "--epochs", str(epochs),
           "--seed", str(seed), "--batch-size", str(batch_size), "--out", str(out), "--overwrite"]
    if mode == "frozen":
        cmd += ["--trainable-blocks", "0"]
    elif backbone_lr is not None:
        cmd += ["--backbone-lr", str(backbone_lr)]
    cmd += extra
    print(" ".join(cmd[2:]), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stdout[-2000:] + done.stderr[-2000:])
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    (out / "peak_kib.txt").write_text(str(peak))
    subprocess.run([AVROBUST, "evaluate", "--checkpoint", str(out), "--json", str(ev)], check=True,
                   capture_output=True)


def ms(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    a = np.asarray(values, dtype=float) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}" if len(a) > 1 else f"{a.mean():.{digits}f}"


def finished(root: Path, entry: str, seeds: list[int]) -> list[dict]:
    """The finished seeds of run ``entry`` (``MODEL:MODE``): per seed the test accuracies, the cost, the
    validation accuracy after every epoch and the run's resolved train config."""
    model, mode = entry.split(":")
    runs = []
    for s in seeds:
        name = f"{model}-{mode}-s{s}"
        ev = root / "eval" / f"{name}.json"
        if not ev.exists():
            continue
        r, summary = json.loads(ev.read_text()), json.loads((root / "runs" / name / "summary.json").read_text())
        runs.append({"seed": s, **{k: r[k] for k in KEYS}, "seconds_per_epoch": round(summary["seconds_per_epoch"], 1),
                     "peak_mib": round(int((root / "runs" / name / "peak_kib.txt").read_text()) / 1024),
                     "val_clean_accuracy_per_epoch": [h["val_clean_accuracy"] for h in summary["history"]],
                     "train_config": summary["train_config"]})
    return runs


def table(root: Path, runs: list[str], seeds: list[int]) -> None:
    print("| model | backbones | seeds | clean | audio-only | visual-only | s / epoch | peak MiB (training) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for entry in runs:
        rs = finished(root, entry, seeds)
        if rs:
            model, mode = entry.split(":")
            print(f"| {model} | {mode} | {len(rs)} | " + " | ".join(ms([r[k] for r in rs]) for k in KEYS)
                  + f" | {ms([r['seconds_per_epoch'] for r in rs], digits=0)} | {ms([r['peak_mib'] for r in rs], digits=0)} |")


def record(root: Path, path: Path, scheme: str, label: str, entry: str, seeds: list[int], settings: dict) -> None:
    """Put the finished seeds of run ``entry`` under ``schemes[scheme]`` of the comparison file ``path`` (JSON)
    and rewrite its Markdown table beside it from every scheme the file holds."""
    data = json.loads(path.read_text()) if path.exists() else {"kind": "lr-schemes", "schemes": {}}
    data["schemes"][scheme] = {"label": label, **settings, "runs": finished(root, entry, seeds)}
    path.write_text(json.dumps(data, indent=1) + "\n")
    lines = ["| scheme | seeds | clean | audio-only | visual-only | val acc after epoch 1 | val acc at the end | s / epoch "
             "| peak MiB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sch in data["schemes"].values():
        rs = sch["runs"]
        lines.append(f"| {sch['label']} | {len(rs)} | " + " | ".join(ms([r[k] for r in rs]) for k in KEYS)
                     + f" | {np.mean([r['val_clean_accuracy_per_epoch'][0] for r in rs]):.3f} | "
                     + f"{ms([r['val_clean_accuracy_per_epoch'][-1] for r in rs])} | "
                     + f"{ms([r['seconds_per_epoch'] for r in rs], digits=0)} | {ms([r['peak_mib'] for r in rs], digits=0)} |")
    per_seed = "; ".join(f"{sch['label']}: clean " + " / ".join(f"{r['clean_accuracy']:.4f}" for r in sch["runs"])
                         + f" (seeds {', '.join(str(r['seed']) for r in sch['runs'])})" for sch in data["schemes"].values())
    head = path.with_suffix(".md").read_text().split("\n\n")[0] if path.with_suffix(".md").exists() else ""
    path.with_suffix(".md").write_text("\n\n".join([head, "\n".join(lines), f"Per seed: {per_seed}."]) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--data", default="digits:size=112,sample_rate=16000")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--runs", nargs="+", default=["PMsY:finetune", "PMsY:frozen"],
                    help="MODEL:finetune or MODEL:frozen (frozen: --trainable-blocks 0)")
    ap.add_argument("--backbone-lr", type=float, default=None,
                    help="the fine-tuned backbones' learning rate (default: avrobust's, a tenth of the heads')")
    ap.add_argument("--lr", type=float, default=None, help="the heads' learning rate (default: avrobust's)")
    ap.add_argument("--warmup", type=float, default=None, help="epochs of warm-up (default: avrobust's)")
    ap.add_argument("--dropout", type=float, default=None, help="the model's dropout (default: avrobust's, 0)")
    ap.add_argument("--method", default=None, help="the training method spec (default: avrobust's, standard)")
    ap.add_argument("--fusion-lr", type=float, default=None,
                    help="an attention fusion's mixing layers' learning rate (default: avrobust's, the heads')")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--record", type=Path, default=None,
                    help="also put these runs into this comparison file (JSON, and its .md table) as --scheme")
    ap.add_argument("--scheme", default=None, help="the scheme's key in --record")
    ap.add_argument("--label", default=None, help="the scheme's words in the table")
    args = ap.parse_args()
    if args.record and not args.scheme:
        ap.error("--record needs --scheme (the scheme's key in the file)")
    passed = ("lr", "warmup", "dropout", "method", "fusion_lr")  # handed to 'avrobust train' as they are
    if not args.table_only:
        for seed in args.seeds:
            for entry in args.runs:
                model, mode = entry.split(":")
                extra = [x for k in passed if getattr(args, k) is not None
                         for x in (f"--{k.replace('_', '-')}", str(getattr(args, k)))]
                run(args.root, args.data, model, mode, seed, args.epochs, args.batch_size, args.backbone_lr, extra)
    print(f"`{args.data}`, {args.epochs} epochs, test split\n")
    table(args.root, args.runs, args.seeds)
    if args.record:
        settings = {k: getattr(args, k) for k in ("backbone_lr", *passed) if getattr(args, k) is not None}
        record(args.root, args.record, args.scheme, args.label or args.scheme, args.runs[0], args.seeds, settings)


if __name__ == "__main__":
    main()
