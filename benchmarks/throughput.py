"""Throughput at the sizes the field uses (run by hand; figures go to benchmarks/RESULTS.md).

Default size: ``R18sR18`` at width 64 (ResNet-18 per modality, 22.4 M parameters), 8 frames of 112 px and
2 s of 16 kHz audio per clip, 31 classes. For every combination of ``--precisions``, ``--compile`` and
``--channels-last`` it measures, on batches of ``--batch`` random clips (median of ``--repeats`` after a
warm-up):

* a training step (standard cross-entropy, forward, backward, AdamW step), clips/s;
* PGD-10 and TMA-10 (the attack's defaults: 4 transformed copies per step), clips/s;
* peak memory of each (CUDA: ``max_memory_allocated``; CPU: the process's peak RSS, reset before each);
* the data path alone: a uint8 in-memory dataset through :func:`avrobust.data.loader.stream` with 0 and
  ``--workers`` workers (clips/s, no model), against the training step's clips/s.

Usage: PYTHONPATH=src python benchmarks/throughput.py [--device auto] [--precisions fp32,bf16]
       [--compile off,on] [--channels-last off,on] [--batch 4] [--repeats 3] [--json out.json]
       [--quick]  (tiny sizes: the check that the script runs, as tests/test_gpu_check.py does)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.nn import functional as F

from avrobust.attacks import create_attack
from avrobust.data import AVDataset
from avrobust.data.loader import stream
from avrobust.device import autocast, describe, resolve
from avrobust.models import create_model
from avrobust.runtime import tune_allocator
from avrobust.types import AVBatch


def peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (Linux >= 4.0)
        except OSError:
            pass


def peak_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def timed(fn: Callable[[], Any], device: torch.device, repeats: int) -> tuple[float, float | None]:
    """Median seconds of ``fn`` after one warm-up call, and the peak memory (MiB) over the timed calls."""
    fn()
    peak_reset(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), peak_mib(device)


def build(args: argparse.Namespace, device: torch.device, channels_last: bool, compiled: bool) -> Any:
    torch.manual_seed(0)
    model = create_model(args.model, args.classes, args.sample_rate, width=args.width).to(device)
    if channels_last:
        model.use_channels_last()
    return torch.compile(model) if compiled else model


def measure(args: argparse.Namespace, device: torch.device, precision: str, channels_last: bool,
            compiled: bool) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    n, samples = args.batch, int(args.sample_rate * args.seconds)
    video = torch.rand(n, args.frames, 3, args.size, args.size, generator=g).to(device)
    audio = (torch.rand(n, samples, generator=g) * 2 - 1).to(device)
    batch = AVBatch(video, audio, args.frames / args.seconds, args.sample_rate)
    labels = torch.randint(args.classes, (n,), generator=g).to(device)
    row: dict[str, Any] = {"precision": precision, "channels_last": channels_last, "compile": compiled}
    start = time.perf_counter()
    model = build(args, device, channels_last, compiled)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> None:
        model.train()
        with autocast(device, precision):
            loss = F.cross_entropy(model(batch.video, batch.audio).logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    train_step()
    row["first_call_s"] = round(time.perf_counter() - start, 2)  # includes compilation when compiled
    seconds, peak = timed(train_step, device, args.repeats)
    row["train_clips_per_s"], row["train_peak_mib"] = round(n / seconds, 3), peak and round(peak)
    model.eval()
    for name, spec in (("pgd10", {"steps": 10}), ("tma10", {"steps": 10})):
        attack = create_attack(name[:3], **spec)

        def run(attack: Any = attack) -> None:
            with autocast(device, precision):
                attack(model, batch, labels)

        seconds, peak = timed(run, device, max(1, args.repeats // 2) if name == "tma10" else args.repeats)
        row[f"{name}_clips_per_s"], row[f"{name}_peak_mib"] = round(n / seconds, 3), peak and round(peak)
    return row


def loader_rate(args: argparse.Namespace, device: torch.device, workers: int) -> float:
    """Clips/s of the data path alone: uint8 video converted and moved to ``device``, no model."""
    count, samples = max(8 * args.batch, 32), int(args.sample_rate * args.seconds)
    g = torch.Generator().manual_seed(1)
    data = AVDataset(torch.randint(0, 256, (count, args.frames, 3, args.size, args.size), dtype=torch.uint8, generator=g),
                     torch.rand(count, samples, generator=g) * 2 - 1, torch.zeros(count, dtype=torch.long),
                     [str(c) for c in range(args.classes)], args.frames / args.seconds, args.sample_rate)
    chunks = list(torch.arange(count).split(args.batch))
    for _ in stream(data, chunks[:2], device, workers=workers):  # warm-up (worker start-up)
        pass
    start = time.perf_counter()
    for batch, _ in stream(data, chunks, device, workers=workers):
        float(batch.video[0, 0, 0, 0, 0])  # the batch has arrived
    return count / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="R18sR18")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--classes", type=int, default=31)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--compile", default="off", help="off, on or off,on")
    ap.add_argument("--channels-last", default="off", help="off, on or off,on")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (checks that the script runs)")
    args = ap.parse_args()
    if args.quick:
        args.model, args.width, args.frames, args.size, args.seconds, args.sample_rate = "AsV", 8, 2, 16, 0.25, 8000
        args.classes, args.batch, args.repeats = 4, 2, 1
    tune_allocator()
    device = resolve(args.device)
    rows = []
    for precision in args.precisions.split(","):
        for channels_last in (c == "on" for c in args.channels_last.split(",")):
            for compiled in (c == "on" for c in args.compile.split(",")):
                row = measure(args, device, precision, channels_last, compiled)
                print(json.dumps(row), flush=True)
                rows.append(row)
    loader = {w: round(loader_rate(args, device, w), 1) for w in sorted({0, args.workers})}
    print(json.dumps({"loader_clips_per_s": loader}), flush=True)
    out = {"machine": platform.processor() or platform.machine(), "device": describe(device),
           "torch": torch.__version__, "threads": torch.get_num_threads(), "python": sys.version.split()[0],
           "settings": {k: v for k, v in vars(args).items() if k != "json"}, "rows": rows,
           "loader_clips_per_s": loader}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
