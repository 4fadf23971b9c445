"""Summary statistics over seeds, models or pairs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (``None`` where undefined: no values, or one for the std)."""
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None
