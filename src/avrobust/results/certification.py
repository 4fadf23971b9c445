"""The ``certification`` kind (``avrobust certify``): a certifier's per-clip certificates on one model and
the certified accuracy at each radius (the share of clips predicted right by the certified classifier with
a certified radius at least that large; abstentions count as wrong)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avrobust.results.base import ReportContext, Result, Section, register_result
from avrobust.tables import Table, frac

ORDER = 37  # after the model cards, before transfer


@register_result("certification")
@dataclass(kw_only=True, eq=False)
class CertificationResult(Result):
    """One certification: the certifier and its settings, per clip the certified class (-1: abstained),
    the true class and the certified radius (0 when abstaining; in the certifier's units, stated in
    ``radius_units``), and the certified accuracy at each of ``radii``."""

    order: ClassVar[float] = ORDER
    model: str
    checkpoint: str
    data: str
    split: str
    n: int
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

    def data_source(self) -> tuple[str, str]:
        return self.data, self.split

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, CertificationResult)
            table = Table(["radius", "certified accuracy"], [[f"{x:g}", frac(a)] for x, a in zip(r.radii, r.certified_accuracy)],
                          f"{r.certifier}: certified accuracy against radius ({r.radius_units})", numeric={0, 1})
            options = ", ".join(f"{k} {v}" for k, v in r.options.items())
            out.append(Section(f"Certified: {r.model or path.stem} ({r.certifier})", [
                f"`{r.data}` ({r.split}, {r.n} clips), {options}, seed {r.seed}; the smoothed classifier is right on "
                f"{frac(r.clean_accuracy)} of the clips and abstains on {frac(r.abstained)}; {r.seconds} s."],
                [table], group="White box", order=ORDER))
        return out
