"""Cost per clip of the card's new sections (issue 37) on AsV (8 frames of 32 px, 1 s at 8 kHz: `digits`)
and PMsY (8 frames of 64 px, 1 s at 16 kHz: `digits:size=64,sample_rate=16000`), on random clips of those
shapes (the cost does not depend on the pixels or the weights):

- corruptions: the section's seconds per clip (15 corruptions x 5 severities, the pair and each half) and
  the share spent making the corruptions (the rest: forward passes);
- failures: seconds per clip;
- certificates: smoothing (n0 = 100, n = 500) and MMCert (k = 1: 64 pairs, exact) seconds per clip, against
  the time of the same number of forward passes in batches of 100 alone.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/card_cost.py [--json OUT]``; the
figures go to benchmarks/RESULTS.md. On a GPU the models run on it (``--device``)."""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from avrobust.certification import certify_model, create_certifier
from avrobust.corruptions import corruption_names
from avrobust.data import AVDataset
from avrobust.device import resolve, synchronize
from avrobust.evaluation.corruption_accuracy import corruption_accuracy
from avrobust.models import create_model

SHAPES = {"AsV": (32, 8000), "PMsY": (64, 16000)}


def clips(n: int, side: int, rate: int) -> AVDataset:
    g = torch.Generator().manual_seed(0)
    video = torch.rand(n, 8, 3, side, side, generator=g)
    audio = 0.2 * torch.randn(n, rate, generator=g).clamp(-4, 4) / 4
    return AVDataset(video, audio, torch.arange(n) % 10, [str(i) for i in range(10)], fps=8.0, sample_rate=rate,
                     spec="random", split="test")


def forward_seconds(model: torch.nn.Module, data: AVDataset, passes: int, batch: int = 100) -> float:
    """Seconds of ``passes`` forward passes of one clip, run ``batch`` at a time."""
    v, a = data.video[:1].to(DEVICE), data.audio[:1].to(DEVICE)
    start = time.perf_counter()
    with torch.no_grad():
        done = 0
        while done < passes:
            m = min(batch, passes - done)
            model(v.repeat(m, 1, 1, 1, 1), a.repeat(m, 1))
            done += m
    synchronize(DEVICE)
    return time.perf_counter() - start


def measure(name: str, n: int, certify_n: int) -> dict:
    side, rate = SHAPES[name]
    data = clips(n, side, rate)
    model = create_model(name, 10, rate).to(DEVICE).eval()
    out: dict = {"model": name, "clips": n, "device": str(DEVICE)}
    nat = corruption_accuracy(model, data, corruption_names(), batch_size=32)
    out["corruptions"] = {"seconds_per_clip": nat.seconds / n, "making_share": nat.corrupt_seconds / nat.seconds}
    fail = corruption_accuracy(model, data, corruption_names(failures=True), failures=True, modalities=("both",),
                               batch_size=32)
    out["failures"] = {"seconds_per_clip": fail.seconds / n, "making_share": fail.corrupt_seconds / fail.seconds}
    idx = torch.arange(certify_n)
    for spec, passes in ((dict(name="smoothing", sigma_video=0.25, n=500), 600), (dict(name="mmcert", k_video=1, k_audio=1), 64)):
        kind = spec.pop("name")
        result = certify_model(model, data, create_certifier(kind, **spec), indices=idx)
        alone = forward_seconds(model, data, passes) * certify_n
        out[kind] = {"seconds_per_clip": result.seconds / certify_n, "forward_seconds_per_clip": alone / certify_n,
                     "overhead": result.seconds / alone - 1}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--certify-n", type=int, default=8)
    parser.add_argument("--models", default="AsV,PMsY")
    args = parser.parse_args()
    DEVICE = resolve(args.device)
    rows = [measure(m, args.n, args.certify_n) for m in args.models.split(",")]
    report = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
              "rows": rows}
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
