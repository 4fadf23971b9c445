"""The ``corruption`` kind: a model's accuracy under natural corruptions (or failing modalities) per
corruption and severity, on the pair and on each half; the model card embeds one of each (sections
``corruptions`` and ``failures``). Relative robustness is accuracy over clean accuracy; the corruption
error CE of a corruption is the model's summed error over its severities divided by a reference
model's (ImageNet-C's mCE, with the reference named by the user instead of AlexNet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from avrobust.plotting import heatmap_grid, line_plot
from avrobust.results.base import MeasuredResult, ReportContext, Result, Section, register_result
from avrobust.tables import Table, pct

ORDER = 36  # beside the model cards
GROUP = "Benchmark"


@register_result("corruption")
@dataclass(kw_only=True, eq=False)
class CorruptionResult(MeasuredResult):
    """Accuracy ``accuracy[modality][corruption][severity - 1]`` (modality ``both``: the pair; ``video`` or
    ``audio``: that half alone, for corruptions that touch it), the clean accuracy of the same clips,
    and the cost (``corrupt_seconds``: making the corruptions, the rest of ``seconds``: forward passes)."""

    order: ClassVar[float] = ORDER
    failures: bool
    accuracy: dict[str, dict[str, list[float]]]
    clean_accuracy: float
    seed: int = 0
    seconds: float = 0.0
    corrupt_seconds: float = 0.0
    device: str = ""
    noise_dir: str | None = None
    #: corruption error per corruption (pair) against ``reference``, and their mean (mCE)
    reference: str | None = None
    ce: dict[str, float] = field(default_factory=dict)
    mce: float | None = None

    def names(self) -> list[str]:
        return list(self.accuracy.get("both", {}))

    def mean(self, modality: str = "both") -> float | None:
        """Mean accuracy over every corruption and severity of ``modality``."""
        cells = [a for row in self.accuracy.get(modality, {}).values() for a in row]
        return sum(cells) / len(cells) if cells else None

    def relative(self, modality: str = "both") -> float | None:
        """Mean accuracy over clean accuracy."""
        m = self.mean(modality)
        return None if m is None or self.clean_accuracy <= 0 else m / self.clean_accuracy

    def compare(self, reference: CorruptionResult, label: str) -> None:
        """Fill ``ce`` and ``mce`` against ``reference`` (the corruptions both measured, on the pair)."""
        ce = {}
        for name, row in self.accuracy.get("both", {}).items():
            ref = reference.accuracy.get("both", {}).get(name)
            if ref is not None and len(ref) == len(row) and sum(1 - a for a in ref) > 0:
                ce[name] = sum(1 - a for a in row) / sum(1 - a for a in ref)
        self.reference, self.ce = label, ce
        self.mce = sum(ce.values()) / len(ce) if ce else None

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        out = []
        for path, r in items:
            assert isinstance(r, CorruptionResult)
            out.append(corruption_section(r, r.model or path.stem, ctx.figures / f"{path.stem}"))
        return out


def corruption_table(r: CorruptionResult, modality: str) -> Table:
    """One row per corruption: accuracy % at each severity, the mean, relative robustness (and CE)."""
    rows_ = r.accuracy.get(modality, {})
    width = max((len(v) for v in rows_.values()), default=0)
    ce = modality == "both" and bool(r.ce)
    rows = []
    for name, accs in rows_.items():
        mean = sum(accs) / len(accs)
        rel = pct(mean / r.clean_accuracy) if r.clean_accuracy > 0 else "—"
        rows.append([name, *[pct(a) for a in accs], *["—"] * (width - len(accs)), pct(mean), rel,
                     *([f"{r.ce[name]:.2f}" if name in r.ce else "—"] if ce else [])])
    header = ["corruption" if not r.failures else "failure", *[f"s{s}" for s in range(1, width + 1)], "mean %",
              "relative %", *(["CE"] if ce else [])]
    what = {"both": "on both streams", "video": "on the frames only", "audio": "on the waveform only"}[modality]
    return Table(header, rows, f"accuracy % {what}", set(range(1, len(header))))


def corruption_section(r: CorruptionResult, label: str, stem: Path) -> Section:
    """The tables (pair, then each half), the heatmap and accuracy against severity."""
    kind = "failing modalities" if r.failures else "natural corruptions"
    means = ", ".join(f"{m} {pct(r.mean(m))} %" for m in r.accuracy)
    intro = (f"{label} under {len(r.names())} {kind} on `{r.data}` ({r.split}, {r.n} clips, seed {r.seed}): clean "
             f"{pct(r.clean_accuracy)} %; mean accuracy {means}; relative robustness {pct(r.relative())} %"
             + (f"; mCE {r.mce:.2f} against {r.reference}" if r.mce is not None else "") + f". {r.seconds:.0f} s, of "
             f"which {r.corrupt_seconds:.1f} s making the corruptions" + (f" (recordings from {r.noise_dir})" if r.noise_dir else "")
             + f"; {r.device}.")
    tables = [corruption_table(r, m) for m in r.accuracy]
    figures = []
    names = r.names()
    width = max((len(v) for v in r.accuracy["both"].values()), default=0)
    if names and width > 1:
        panels = {m: ([[*row, *[float("nan")] * (width - len(row))] for row in r.accuracy[m].values()], [])
                  for m in r.accuracy}
        rows = {m: list(r.accuracy[m]) for m in r.accuracy}
        common = [m for m in panels if rows[m] == names]
        figures.append(heatmap_grid({m: panels[m] for m in common}, names, [str(s) for s in range(1, width + 1)],
                                    stem.with_name(f"{stem.name}-{'failures' if r.failures else 'corruptions'}.png"),
                                    title=f"{label}: accuracy under {kind}", xlabel="severity", ylabel=kind,
                                    label="accuracy %", marked=""))
        series = {m: [_mean_at(r.accuracy[m], s) for s in range(width)] for m in r.accuracy}
        figures.append(line_plot(list(range(1, width + 1)), series,
                                 stem.with_name(f"{stem.name}-{'failures' if r.failures else 'corruptions'}-severity.png"),
                                 xlabel="severity", ylabel="mean accuracy %", title=f"{label}: accuracy against severity"))
    title = "Failing modalities" if r.failures else "Natural corruptions"
    return Section(f"{title}: {label}", [intro], tables, figures, group=GROUP, order=ORDER)


def _mean_at(rows: dict[str, list[float]], s: int) -> float | None:
    cells = [row[s] for row in rows.values() if len(row) > s]
    return sum(cells) / len(cells) if cells else None
