"""The paper's Section 3 analyses as functions and the ``avrobust analyze KIND`` job.

Kinds (letters as in the issue): ``masking`` (a), ``modality`` (b), ``temporal-masking`` (c),
``alignment`` (d), ``iterations`` (e), ``eps`` (f). Each writes ``OUT/<kind>.json`` and
``OUT/<kind>.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avrobust.analysis import corruption, transferability
from avrobust.analysis.study import Study
from avrobust.errors import ConfigError
from avrobust.registry import Registry
from avrobust.results import AnalysisResult


@dataclass(frozen=True)
class Analysis:
    """``run(study, values, attacks)`` computes; ``plot(result, path)`` draws; ``values`` names the swept list."""

    run: Callable[..., dict[str, Any]]
    plot: Callable[[dict[str, Any], str], None]
    values: str | None
    takes_attacks: bool


ANALYSES: Registry[Analysis] = Registry("analysis")
for _name, _alias, _analysis in (
    ("masking", "a", Analysis(corruption.masking, corruption.plot, "ratios", False)),
    ("modality", "b", Analysis(transferability.modality, transferability.plot_modality, None, True)),
    ("temporal-masking", "c", Analysis(transferability.temporal_masking, transferability.plot_temporal_masking,
                                       "ratios", False)),
    ("alignment", "d", Analysis(transferability.alignment, transferability.plot_alignment, None, True)),
    ("iterations", "e", Analysis(transferability.iterations, transferability.plot_iterations, "steps", True)),
    ("eps", "f", Analysis(transferability.eps, transferability.plot_eps, "budget scales", True)),
):
    ANALYSES.register(_name, aliases=(_alias,))(lambda a=_analysis: a)


def run_analysis(kind: str, study: Study, out: str | Path, *, values: Sequence[float] | None = None,
                 attacks: Sequence[str] | None = None) -> AnalysisResult:
    """Run analysis ``kind`` and write ``out/<kind>.json`` and ``out/<kind>.png``; return the result."""
    name = ANALYSES.canonical(kind)
    analysis: Analysis = ANALYSES.create(name)
    kwargs: dict[str, Any] = {}
    if values:
        if analysis.values is None:
            raise ConfigError(f"analysis {name} sweeps no list; drop --values")
        kwargs["values"] = list(values)
    if attacks:
        if not analysis.takes_attacks:
            raise ConfigError(f"analysis {name} has a fixed set of attacks; drop --attack")
        kwargs["attacks"] = list(attacks)
    start = time.perf_counter()
    results = analysis.run(study, **kwargs)
    result = AnalysisResult(analysis=name, setup=study.describe(), results=results,
                            seconds=round(time.perf_counter() - start, 1))
    out = Path(out)
    result.write(out / f"{name}.json")
    analysis.plot(result, str(out / f"{name}.png"))
    return result


__all__ = ["ANALYSES", "Analysis", "Study", "run_analysis"]
