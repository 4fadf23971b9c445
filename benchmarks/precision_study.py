"""Mixed precision against float32, paired per clip (run by hand; figures go to benchmarks/RESULTS.md).

Reads two evaluation files of the same checkpoint, clips and attacks, one run with ``--precision fp32``
and one with ``--precision bf16`` (or fp16), and prints per attack: each robust accuracy, the paired
difference (bf16 - fp32) with a bootstrap 95 % interval over clips (2,000 resamples, seed 0), the clips
whose outcome differs each way, and the speed ratio of the whole evaluations.

Usage: PYTHONPATH=src python benchmarks/precision_study.py eval-fp32.json eval-bf16.json
"""

from __future__ import annotations

import sys

import torch

from avrobust.results import read_result


def bootstrap(diff: torch.Tensor, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``diff`` (per-clip differences) over clip resamples."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(diff), (resamples, len(diff)), generator=g)
    means = diff[idx].double().mean(1).sort().values
    return float(means[int(0.025 * resamples)]), float(means[int(0.975 * resamples) - 1])


def main() -> None:
    base, other = (read_result(p) for p in sys.argv[1:3])
    assert base.n == other.n and list(base.attacks) == list(other.attacks), "evaluate the same clips and attacks"
    print(f"{base.n} clips of {base.data} ({base.split}); {base.precision} vs {other.precision} on {base.device}")
    print("| attack | robust acc " + base.precision + " | robust acc " + other.precision +
          " | paired difference (points) | 95 % interval | clips robust only in " + base.precision +
          " / only in " + other.precision + " |")
    print("|---|---:|---:|---:|---|---:|")
    for label, a in base.attacks.items():
        b = other.attacks[label]
        fa, fb = a.robust_flags.int(), b.robust_flags.int()
        lo, hi = bootstrap((fb - fa).float())
        print(f"| {label} | {100 * a.robust_accuracy:.1f} | {100 * b.robust_accuracy:.1f} | "
              f"{100 * (b.robust_accuracy - a.robust_accuracy):+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
              f"{int(((fa == 1) & (fb == 0)).sum())} / {int(((fa == 0) & (fb == 1)).sum())} |")
    print(f"clean accuracy {base.clean_accuracy:.3f} / {other.clean_accuracy:.3f}; seconds {base.seconds:.0f} / "
          f"{other.seconds:.0f} ({other.precision} takes {other.seconds / base.seconds:.2f}x the time of {base.precision})")


if __name__ == "__main__":
    main()
