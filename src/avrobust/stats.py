"""Summary statistics over seeds, models or pairs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (``None`` where undefined: no values, or one for the std)."""
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def bootstrap_interval(values: Sequence[float], *, rounds: int = 10_000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampled with replacement, seeded)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    if a.size == 0:
        raise ValueError("a bootstrap interval needs at least one value")
    means = a[np.random.default_rng(seed).integers(0, a.size, (rounds, a.size))].mean(1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def paired_difference(a: Sequence[float], b: Sequence[float], **kwargs: float) -> dict[str, float | int]:
    """Mean of ``a - b`` over pairs with its bootstrap interval: ``{"mean", "low", "high", "n"}``."""
    if len(a) != len(b) or not a:
        raise ValueError(f"paired values need equal, non-zero lengths, got {len(a)} and {len(b)}")
    diff = [x - y for x, y in zip(a, b)]
    low, high = bootstrap_interval(diff, **kwargs)  # type: ignore[arg-type]
    return {"mean": statistics.fmean(diff), "low": low, "high": high, "n": len(diff)}
