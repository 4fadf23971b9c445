"""The paper's Section 3 analyses as functions and the ``avrobust analyze KIND`` job.

Each analysis is a function of a :class:`Study` registered with
:func:`~avrobust.analysis.base.register_analysis` in its module (:mod:`.corruption`: ``masking`` (a);
:mod:`.transferability`: ``modality`` (b), ``temporal-masking`` (c), ``alignment`` (d),
``iterations`` (e), ``eps`` (f); :mod:`.crossmodal`: ``audio-reach``, beyond the paper); ``avrobust analyze --help`` lists what is registered. Each writes
``OUT/<name>.json`` and ``OUT/<name>.png``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.analysis.study import Study
from avrobust.errors import ConfigError
from avrobust.registry import import_submodules
from avrobust.analysis.base import ANALYSES, Analysis, analysis, register_analysis
from avrobust.results.analysis import AnalysisResult

import_submodules(__name__)  # every analysis module registers its analyses


def run_analysis(kind: str, study: Study, out: str | Path, *, values: Sequence[float] | None = None,
                 attacks: Sequence[str] | None = None) -> AnalysisResult:
    """Run analysis ``kind`` and write ``out/<kind>.json`` and ``out/<kind>.png``; return the result."""
    name = ANALYSES.canonical(kind)
    chosen = analysis(name)
    kwargs: dict[str, Any] = {}
    if values:
        if chosen.values is None:
            raise ConfigError(f"analysis {name} sweeps no list; drop --values")
        kwargs["values"] = list(values)
    if attacks:
        if not chosen.takes_attacks:
            raise ConfigError(f"analysis {name} has a fixed set of attacks; drop --attack")
        kwargs["attacks"] = list(attacks)
    start = time.perf_counter()
    results = chosen.run(study, **kwargs)
    result = AnalysisResult(analysis=name, setup=study.describe(), results=results,
                            seconds=round(time.perf_counter() - start, 1))
    out = Path(out)
    result.write(out / f"{name}.json")
    chosen.plot(result, str(out / f"{name}.png"))
    return result


__all__ = ["ANALYSES", "Analysis", "Study", "analysis", "register_analysis", "run_analysis"]
