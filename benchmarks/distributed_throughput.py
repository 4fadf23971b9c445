"""Throughput with 1 and 2 processes (issue 8); run by hand, not a test.

For each process count P (torchrun, gloo on CPU, ``OMP_NUM_THREADS = cores / P`` so the machine is
used once) it times the CLI end to end, subtracting nothing:

* PGD-10 crafting: ``avrobust evaluate --attack pgd:steps=10`` on the first ``--n`` test clips of
  ``synth``, reported as attacked clips per second (the command's own ``seconds`` for the attack);
* an ``avat`` epoch: ``avrobust adv-train --method avat:steps=10,steps_schedule=constant`` for 2
  epochs, reported as training clips per second of the second epoch.

    PYTHONPATH=src .venv/bin/python benchmarks/distributed_throughput.py --procs 1 2 --out runs/ddp-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def run(args: list[str], procs: int, threads: int) -> None:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
                if procs > 1 else [sys.executable])
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([*launcher, "-m", "avrobust", *args], env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--data", default="synth")
    parser.add_argument("--out", type=Path, default=Path("runs/ddp-bench"))
    args = parser.parse_args()
    victim = args.out / "victim"
    if not (victim / "checkpoint.safetensors").exists():
        run(["train", "--data", args.data, "--model", "AsV", "--out", str(victim), "--epochs", "2"], 1, args.cores)
    rows = []
    train_clips = _train_clips(args.data)
    for p in args.procs:
        threads = max(1, args.cores // p)
        ev = args.out / f"eval-p{p}.json"
        ev.unlink(missing_ok=True)
        run(["evaluate", "--checkpoint", str(victim), "--attack", "pgd:steps=10", "--limit", str(args.n), "--batch-size", "64",
             "--json", str(ev)], p, threads)
        result = json.loads(ev.read_text())
        pgd = result["n"] / result["attacks"]["pgd:steps=10"]["seconds"]  # seconds: the slowest process's
        tr = args.out / f"avat-p{p}"
        run(["adv-train", "--method", "avat:steps=10,steps_schedule=constant", "--data", args.data, "--model", "AsV",
             "--out", str(tr), "--epochs", "2", "--overwrite"], p, threads)
        epoch = json.loads((tr / "summary.json").read_text())["history"][1]["seconds"]
        rows.append({"procs": p, "threads": threads, "pgd10_clips_per_s": round(pgd, 2), "avat_epoch_s": epoch,
                     "avat_clips_per_s": round(train_clips / epoch, 2)})
        print(f"P={p} ({threads} threads each): PGD-10 {pgd:.1f} clips/s; avat epoch {epoch:.1f} s = "
              f"{train_clips / epoch:.1f} clips/s", flush=True)
    (args.out / "throughput.json").write_text(json.dumps(rows, indent=2))


def _train_clips(data: str) -> int:
    from avrobust.data import load_dataset

    return len(load_dataset(data, "train"))


if __name__ == "__main__":
    main()
