"""``avrobust analyze KIND``: one of the paper's Section 3 analyses, white box on a surrogate and black
box on victims, written as ``OUT/<kind>.json`` and ``OUT/<kind>.png``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.analysis import ANALYSES, Study, run_analysis
from avrobust.attacks import ThreatModel
from avrobust.device import check_precision
from avrobust.errors import ConfigError
from avrobust.evaluation.transfer_matrix import load_members
from avrobust.io import claim_files
from avrobust.jobs.common import first_clips, run_data
from avrobust.results import AnalysisResult


def analyze(kind: str, model: str | Path, out: str | Path = "analysis", *, victims: Sequence[str | Path] = (),
            values: Sequence[float] | None = None, attacks: Sequence[str] = (), data: str | None = None,
            split: str = "test", limit: int | None = 200, steps: int = 10, seed: int = 0, batch_size: int = 64,
            threat: ThreatModel | None = None, overwrite: bool = False, show_progress: bool = True,
            precision: str = "fp32") -> AnalysisResult:
    """Run analysis ``kind`` (a name or its letter a-f) with ``model`` as the surrogate; the victims are
    run or zoo directories (the surrogate itself is left out of them)."""
    name, out = ANALYSES.canonical(kind), Path(out)
    claim_files([out / f"{name}.json", out / f"{name}.png"], overwrite=overwrite)
    surrogate = load_members([model])
    if len(surrogate) != 1:
        raise ConfigError(f"--model takes one run directory; {model} holds {len(surrogate)} (use --victims for the rest)")
    sources = set(surrogate[0].sources)
    vic = [v for v in load_members(victims) if not set(v.sources) & sources] if victims else []
    dataset = run_data(surrogate[0].meta, data, split, f"the surrogate {surrogate[0].label}")
    study = Study(surrogate[0], vic, dataset, first_clips(dataset, limit), threat or ThreatModel(), steps, seed,
                  batch_size, show_progress=show_progress, precision=check_precision(precision))
    return run_analysis(name, study, out, values=values, attacks=attacks or None)


def parse_values(text: str | None) -> list[float] | None:
    """``--values 0,0.25,0.5`` as floats (None when not given); a bad list is a one-line error."""
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--values must be comma-separated numbers, got {text!r}") from None
