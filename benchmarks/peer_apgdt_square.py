"""Peer check of ``apgd-t`` and ``square`` against torchattacks' APGDT and Square (issue 29); run by hand,
figures go to benchmarks/RESULTS.md.

Video-only L-inf, the audio held fixed: the audio-visual model is wrapped as an image classifier of
``[N, T*C, H, W]`` (torchattacks' layout), so both libraries attack the same function under the same
budget. The two cannot share random streams (different restarts, proposals and sampling order), so the
check is statistical: success rates (clean-correct clips misclassified) on the first N test clips, with
Wilson 95 % intervals and the paired difference's interval (McNemar-style, from the discordant clips).
Schedules are set to coincide where both expose them: APGD steps, restarts, rho 0.75, 9 target classes;
Square's query budget and p_init 0.8 with the paper's halving schedule. Where they differ by design it
is said in RESULTS.md (our video squares alternate single frames and spatio-temporal cubes; theirs are
squares through all T*C channels, i.e. cubes only).

    PYTHONPATH=src python benchmarks/peer_apgdt_square.py RUN --data synth:eval_clips_per_class=25 --n 250 \
        --eps 16/255 --steps 20 --queries 500
"""

from __future__ import annotations

import argparse
import json
import math
import time
from fractions import Fraction
from pathlib import Path

import torch
import torchattacks
from torch import nn

from avrobust.attacks import ThreatModel, create_attack
from avrobust.checkpoint import load_checkpoint
from avrobust.data import load_dataset


class VideoOnly(nn.Module):
    """The AV model as an image classifier of ``[N, T*C, H, W]``, each clip's audio held fixed.

    torchattacks calls the model on subsets of the batch (the clips still robust), so each row is matched
    to its clip by the nearest clean video (checked: within ``eps`` in L-inf) and given that clip's audio.
    """

    def __init__(self, model: nn.Module, video: torch.Tensor, audio: torch.Tensor, eps: float) -> None:
        super().__init__()
        self.model, self.audio, self.eps = model, audio, eps
        self.frames, self.clean = video.shape[1], video.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, tc, h, w = x.shape
        flat = x.flatten(1)
        rows = torch.cdist(flat, self.clean).argmin(1)
        assert ((flat - self.clean[rows]).abs().amax(1) <= self.eps + 1e-5).all(), "a row matched no clip"
        return self.model(x.view(n, self.frames, tc // self.frames, h, w), self.audio[rows]).logits


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    z, p = 1.96, k / n
    mid, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (mid - half, mid + half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", default=None, help="dataset spec (default: the run's)")
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--eps", default="2/255")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    eps = float(Fraction(args.eps))
    ckpt = load_checkpoint(args.run)
    model = ckpt.model.eval()
    test = load_dataset(args.data or ckpt.meta["data_spec"], "test")
    n = min(args.n, len(test))
    k = ckpt.meta["model_config"]["num_classes"]
    threat = ThreatModel.build("video", eps_video=eps)
    ours = {"apgd-t": create_attack("apgd-t", threat, steps=args.steps, targets=min(9, k - 1)),
            "square": create_attack("square", threat, steps=args.queries, p_init=0.8)}
    fooled: dict[str, list[bool]] = {f"{lib}/{a}": [] for lib in ("avrobust", "torchattacks") for a in ours}
    seconds = {key: 0.0 for key in fooled}
    correct: list[bool] = []
    for start in range(0, n, args.batch_size):
        batch, labels = test.batch(slice(start, min(start + args.batch_size, n)))
        wrapped = VideoOnly(model, batch.video, batch.audio, eps).eval()
        flat = batch.video.flatten(1, 2)
        with torch.no_grad():
            ok = wrapped(flat).argmax(1) == labels
        correct += ok.tolist()
        peers = {"apgd-t": torchattacks.APGDT(wrapped, norm="Linf", eps=eps, steps=args.steps, n_restarts=1,
                                              rho=0.75, n_classes=k, seed=start),
                 "square": torchattacks.Square(wrapped, norm="Linf", eps=eps, n_queries=args.queries, n_restarts=1,
                                               p_init=0.8, loss="margin", resc_schedule=True, seed=start)}
        for name, attack in ours.items():
            tic = time.perf_counter()
            adv = attack(model, batch, labels).video
            seconds[f"avrobust/{name}"] += time.perf_counter() - tic
            assert (adv - batch.video).abs().max() <= eps + 1e-6
            with torch.no_grad():
                fooled[f"avrobust/{name}"] += (wrapped(adv.flatten(1, 2)).argmax(1) != labels).tolist()
            tic = time.perf_counter()
            adv = peers[name](flat, labels)
            seconds[f"torchattacks/{name}"] += time.perf_counter() - tic
            assert (adv - flat).abs().max() <= eps + 1e-6
            with torch.no_grad():
                fooled[f"torchattacks/{name}"] += (wrapped(adv).argmax(1) != labels).tolist()
        print(f"{min(start + args.batch_size, n)}/{n} clips", flush=True)
    m = sum(correct)
    rows = {}
    for key, flags in fooled.items():
        k_ = sum(f and c for f, c in zip(flags, correct))
        rows[key] = {"fooled": k_, "of": m, "rate": k_ / m, "wilson95": wilson(k_, m),
                     "seconds_per_clip": seconds[key] / n}
    pairs = {}
    for name in ours:
        a, b = fooled[f"avrobust/{name}"], fooled[f"torchattacks/{name}"]
        only_a = sum(x and not y and c for x, y, c in zip(a, b, correct))
        only_b = sum(y and not x and c for x, y, c in zip(a, b, correct))
        diff = (only_a - only_b) / m
        se = math.sqrt(max(only_a + only_b - (only_a - only_b) ** 2 / m, 0)) / m
        pairs[name] = {"ours_only": only_a, "theirs_only": only_b, "difference": diff,
                       "ci95": (diff - 1.96 * se, diff + 1.96 * se)}
    out = {"run": str(args.run), "data": args.data or ckpt.meta["data_spec"], "clips": n, "clean_correct": m,
           "eps_video": args.eps, "apgd_steps": args.steps, "queries": args.queries, "attacks": rows, "paired": pairs}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
