"""Attack cost benchmark (run by hand; results go to benchmarks/RESULTS.md).

(a) PGD-10 time over 10 x (one forward + input-gradient backward of the same batch): goal <= 1.10.
(b) our video-only PGD over torchattacks' PGD on the same model and batch, interleaved: the median of
    the per-pair ratios with a bootstrap 95 % interval.
(c) peak memory (RSS growth, CPU) of a PGD-10 attack against one training step.
(d) TMA-10 with 4 transformed copies: one pass per copy (sequential) against all copies in one batched
    pass (``batch_copies=True``), interleaved in one run.

``--allocator tuned`` (the default, as the CLI runs) keeps glibc's large freed blocks in the heap
(:func:`avrobust.runtime.tune_allocator`); ``default`` leaves glibc's settings as they are.

Usage: PYTHONPATH=. python benchmarks/attack_cost.py [--model alexnet-sum-vgg] [--batch 32] [--repeats 11]
       [--allocator tuned|default]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import time

import torch
from torch.nn import functional as F

from avrobust.attacks import ThreatModel, create_attack
from avrobust.data import load_dataset
from avrobust.models import create_model
from avrobust.runtime import tune_allocator


def setup(model_name: str, batch_size: int):
    torch.manual_seed(0)
    data = load_dataset(f"synth:clips_per_class={max(4, batch_size // 10 + 1)}", "train")
    batch, labels = data.batch(slice(0, batch_size))
    model = create_model(model_name, data.num_classes).eval()
    return model, batch, labels


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(first, second, repeats: int) -> tuple[float, float, float, tuple[float, float]]:
    """Two calls run alternately (which goes first alternates too) after a warm-up pair: the median
    seconds of each, the median of the per-pair ratios first / second and its bootstrap 95 % interval."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeats + 1):
        for which in ((0, 1) if i % 2 else (1, 0)):
            start = time.perf_counter()
            (first, second)[which]()
            times[which].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(times[0][1:], times[1][1:])]
    rng = random.Random(0)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return (statistics.median(times[0][1:]), statistics.median(times[1][1:]), statistics.median(ratios),
            (boots[49], boots[1949]))


def grad_floor(model, batch, labels):
    def run():
        for _ in range(10):
            v = batch.video.detach().requires_grad_(True)
            a = batch.audio.detach().requires_grad_(True)
            loss = F.cross_entropy(model(v, a).logits, labels)
            torch.autograd.grad(loss, [v, a])
    return run


def memory_probe(kind: str, model_name: str, batch_size: int) -> None:
    """Print the RSS growth (MiB) of one PGD-10 attack or one training step.

    The batch is random data of the benchmark's shape (generating ``synth`` would set the peak
    first); a one-clip forward warms the kernels up before the baseline is read.
    """
    from avrobust.types import AVBatch

    torch.manual_seed(0)
    model = create_model(model_name, 10).eval()
    batch = AVBatch(torch.rand(batch_size, 8, 3, 32, 32), torch.rand(batch_size, 8000) * 0.2 - 0.1, 8.0, 8000)
    labels = torch.randint(0, 10, (batch_size,))
    with torch.no_grad():
        model(batch.video[:1], batch.audio[:1])
    # the high-water mark is inherited across fork/exec: reset it (Linux) and measure from here
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kib("VmRSS")
    if kind == "attack":
        create_attack("pgd", steps=10)(model, batch, labels)
    else:
        model.train()
        opt = torch.optim.AdamW(model.parameters())
        loss = F.cross_entropy(model(batch.video, batch.audio).logits, labels)
        loss.backward()
        opt.step()
    peak = _status_kib("VmHWM")
    print(json.dumps({"kind": kind, "mib": (peak - base) / 1024}))


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="alexnet-sum-vgg")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--memory-probe", choices=["attack", "train"])
    parser.add_argument("--allocator", choices=["tuned", "default"], default="tuned")
    args = parser.parse_args()
    if args.allocator == "tuned":
        tune_allocator()
    if args.memory_probe:
        memory_probe(args.memory_probe, args.model, args.batch)
        return
    model, batch, labels = setup(args.model, args.batch)
    floor = median_time(grad_floor(model, batch, labels), args.repeats)
    pgd = create_attack("pgd", steps=10)
    ours_both = median_time(lambda: pgd(model, batch, labels), args.repeats)

    import torchattacks

    from tests.attacks.test_peer_torchattacks import VideoOnly

    n, t = batch.video.shape[:2]
    flat = batch.video.reshape(n, -1, *batch.video.shape[3:])
    wrapped = VideoOnly(model, batch.audio, t).eval()
    theirs = torchattacks.PGD(wrapped, eps=8 / 255, alpha=2 / 255, steps=10, random_start=True)
    ours_video = create_attack("pgd", ThreatModel.build("video", step_video=2 / 255), steps=10)
    ours_v, theirs_v, b_ratio, b_interval = interleaved(lambda: ours_video(model, batch, labels),
                                                        lambda: theirs(flat, labels), args.repeats)
    sequential, batched = (create_attack("tma", steps=10, copies=4, batch_copies=b) for b in (False, True))
    tma_batched, tma_seq, d_ratio, d_interval = interleaved(lambda: batched(model, batch, labels),
                                                            lambda: sequential(model, batch, labels), args.repeats)

    def probe(kind: str) -> float:
        out = subprocess.run([sys.executable, __file__, "--memory-probe", kind, "--model", args.model,
                              "--batch", str(args.batch), "--allocator", args.allocator], capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout)["mib"]

    mem_attack, mem_train = probe("attack"), probe("train")
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "allocator": args.allocator,
        "model": args.model, "batch": args.batch, "T": batch.frames,
        "grad_floor_10_s": floor, "pgd10_both_s": ours_both, "a_pgd10_over_floor": ours_both / floor,
        "ours_video_pgd_s": ours_v, "torchattacks_pgd_s": theirs_v, "b_ours_over_torchattacks": b_ratio,
        "b_interval_95": b_interval,
        "c_attack_peak_mib": mem_attack, "c_train_step_peak_mib": mem_train,
        "c_attack_over_train": mem_attack / max(mem_train, 1e-9),
        "d_tma10_sequential_s": tma_seq, "d_tma10_batched_s": tma_batched, "d_batched_over_sequential": d_ratio,
        "d_interval_95": d_interval,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
