"""The ``certification`` kind (``avrobust certify``): a certifier's per-clip certificates on one model and
the certified accuracy at each radius (the share of clips predicted right by the certified classifier with
a certified radius at least that large; abstentions count as wrong)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avrobust.plotting import line_plot
from avrobust.results.base import MeasuredResult, ReportContext, Result, Section, register_result
from avrobust.tables import Table, frac

ORDER = 37  # after the model cards, before transfer


@register_result("certification")
@dataclass(kw_only=True, eq=False)
class CertificationResult(MeasuredResult):
    """One certification: the certifier and its settings, per clip the certified class (-1: abstained),
    the true class and the certified radius (0 when abstaining; in the certifier's units, stated in
    ``radius_units``), and the certified accuracy at each of ``radii``."""

    order: ClassVar[float] = ORDER
    certifier: str
    options: dict[str, Any]
    radius_units: str
    radii: list[float]
    certified_accuracy: list[float]
    clean_accuracy: float
    abstained: float
    predictions: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    radius: list[float] = field(default_factory=list)
    seed: int = 0
    seconds: float = 0.0
    device: str = ""
    #: two-budget certifiers (MMCert): per clip, for r_v = 0..T changed frames the most changed audio segments
    #: still certified (-1: none); ``grid[r_v][r_a]``: the certified accuracy at (r_v, r_a)
    frontier: list[list[int]] = field(default_factory=list)
    grid: list[list[float]] = field(default_factory=list)

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, CertificationResult)
            out.append(certification_section(r, r.model or path.stem, ctx.figures / path.stem))
        return out


def certification_section(r: CertificationResult, label: str, stem: Path, group: str = "White box") -> Section:
    """Certified accuracy against radius (a table and a plot) and, for two budgets, the (r_v, r_a) grid."""
    table = Table(["radius", "certified accuracy"], [[f"{x:g}", frac(a)] for x, a in zip(r.radii, r.certified_accuracy)],
                  f"{r.certifier}: certified accuracy against radius ({r.radius_units})", numeric={0, 1})
    tables = [table]
    if r.grid:
        tables.append(Table(["frames changed \\ segments changed", *map(str, range(len(r.grid[0])))],
                            [[str(v), *[frac(a) for a in row]] for v, row in enumerate(r.grid)],
                            f"{r.certifier}: certified accuracy for r_video frames (rows) and r_audio segments (columns)",
                            numeric=set(range(len(r.grid[0]) + 1))))
    figures = []
    if len(r.radii) > 1:
        figures.append(line_plot(r.radii, {r.certifier: r.certified_accuracy},
                                 stem.with_name(f"{stem.name}-{r.certifier}-certified.png"), xlabel=f"radius ({r.radius_units})",
                                 ylabel="certified accuracy %", title=f"{label}: certified accuracy against radius"))
    options = ", ".join(f"{k} {v}" for k, v in r.options.items())
    return Section(f"Certified: {label} ({r.certifier})", [
        f"`{r.data}` ({r.split}, {r.n} clips), {options}, seed {r.seed}; the certified classifier is right on "
        f"{frac(r.clean_accuracy)} of the clips and abstains on {frac(r.abstained)}; {r.seconds} s on {r.device or 'cpu'}."],
        tables, figures, group=group, order=ORDER)
