"""The ``benchmark`` kind (``avrobust benchmark``): a model card, the standard protocol's clean and
robust accuracy per threat model with every attack of the cascade, the flags, cost and versions; cards
merge into a leaderboard (:func:`leaderboard_table`), which the report shows once it has two."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from avrobust.record import Flags, Record
from avrobust.results.base import ReportContext, Result, Section, register_result
from avrobust.results.certification import CertificationResult, certification_section
from avrobust.results.corruption import CorruptionResult, corruption_section
from avrobust.specs import short_spec
from avrobust.tables import Table, eps_text, pct

#: the threat models in the order tables show them
THREAT_ORDER = ("linf-video", "linf-audio", "linf-both", "l2-video", "l2-audio", "l2-both")
#: the leaderboard ranks by this threat model (the paper's: both modalities, L-inf)
RANKED_BY = "linf-both"
GROUP = "Benchmark"
ORDER = 35  # after the white-box evaluations, before transfer


@dataclass(kw_only=True, eq=False)
class CascadeStep(Record):
    """One attack of a cascade: the clips it was run on (still robust), those it fooled, the robust
    accuracy after it (over all clips) and its seconds."""

    attack: str
    spec: str
    attacked: int
    fooled: int
    robust_accuracy: float
    seconds: float


@dataclass(kw_only=True, eq=False)
class EpsCurve(Record):
    """APGD-CE's robust accuracy at budgets scaled by each of ``scales``; ``attacked``: the clips attacked at
    each scale (0 where the cascade's own APGD-CE run was reused, or nothing was left), ``seconds``: the
    curve's cost (:func:`avrobust.evaluation.curves.eps_curve` says which clips each scale attacks)."""

    scales: list[float]
    robust_accuracy: list[float]
    attacked: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(kw_only=True, eq=False)
class ThreatResult(Record):
    """One threat model: budgets, clean and robust accuracy (after the whole cascade), the cascade,
    per-clip robust flags ``[n]``, the twin's transfer and the eps curve where measured."""

    budget: dict[str, Any]
    clean_accuracy: float
    robust_accuracy: float
    cascade: list[CascadeStep]
    robust_flags: Flags = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    twin_robust_accuracy: float | None = None
    eps_curve: EpsCurve | None = None
    seconds: float = 0.0
    twin_seconds: float = 0.0

    def white_box_accuracy(self, gradient_free: frozenset[str] = frozenset({"square"})) -> float:
        """Robust accuracy after the gradient attacks alone (before the ``gradient_free`` attacks, by name;
        the masking checks pass the attacks that declare the trait)."""
        gradient = [s for s in self.cascade if s.attack not in gradient_free]
        return gradient[-1].robust_accuracy if gradient else self.clean_accuracy


@register_result("benchmark")
@dataclass(kw_only=True, eq=False)
class BenchmarkResult(Result):
    """``avrobust benchmark``: the model card (see the module docstring)."""

    order: ClassVar[float] = ORDER
    model: str
    checkpoint: str
    data: str
    split: str
    n: int
    protocol: str
    attacks: list[str]
    clean_accuracy: float
    randomised: bool
    zero_gradient_share: dict[str, float]
    threats: dict[str, ThreatResult]
    flags: list[str]
    seed: int
    seconds: float
    seconds_per_clip: float
    device: str
    precision: str
    versions: dict[str, str]
    twin: str | None = None
    #: clean accuracy of the fused model missing a modality (audio silenced; frames replaced by their mean)
    no_audio_accuracy: float | None = None
    no_video_accuracy: float | None = None
    #: the card's other sections: natural corruptions, failing modalities, certificates
    corruptions: CorruptionResult | None = None
    failures: CorruptionResult | None = None
    certified: list[CertificationResult] = field(default_factory=list)
    #: seconds per stage: checks (randomness, clean accuracy, zero gradients), each threat model, corruptions...
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def data_source(self) -> tuple[str, str]:
        return self.data, self.split

    def name(self, path: Path | None = None) -> str:
        """How tables name the card's model."""
        return self.model or (Path(self.checkpoint).name if self.checkpoint else (path.stem if path else "model"))

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        cards = [(p, r) for p, r in items if isinstance(r, BenchmarkResult)]
        out = []
        for p, r in cards:
            out.append(card_section(p, r))
            stem = ctx.figures / p.stem
            out += [corruption_section(c, r.name(p), stem) for c in (r.corruptions, r.failures) if c is not None]
            out += [certification_section(c, r.name(p), stem, group=GROUP) for c in r.certified]
        if len(cards) >= 2:
            out.insert(0, Section("Leaderboard", [leaderboard_text(cards)], [leaderboard_table(cards)], group=GROUP,
                                  order=ORDER))
        return out

    @classmethod
    def summary(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        part = Section("benchmark", group="Summary", order=ORDER)
        for path, r in items:
            assert isinstance(r, BenchmarkResult)
            ranked = r.threats.get(RANKED_BY)
            robust = f"{pct(ranked.robust_accuracy)} % robust on {RANKED_BY}" if ranked else "no linf-both result"
            flagged = f", {len(r.flags)} flag(s)" if r.flags else ", no flags"
            part.notes.append(f"Benchmark ({r.protocol}): {r.name(path)} {pct(r.clean_accuracy)} % clean, "
                              f"{robust}{flagged}; see Benchmark.")
        return [part]


def threats_of(card: BenchmarkResult) -> list[str]:
    return [t for t in THREAT_ORDER if t in card.threats] + [t for t in card.threats if t not in THREAT_ORDER]


def card_table(card: BenchmarkResult, title: str = "") -> Table:
    """One row per threat model: budgets, clean %, robust % after each attack of the cascade, final robust %
    (the twin's transfer too, when there is one) and seconds."""
    twin = any(r.twin_robust_accuracy is not None for r in card.threats.values())
    rows = []
    for t in threats_of(card):
        r = card.threats[t]
        steps = " → ".join(f"{s.attack} {pct(s.robust_accuracy)}" for s in r.cascade)
        rows.append([t, attacked_budget(r.budget), pct(r.clean_accuracy), steps,
                     *([pct(r.twin_robust_accuracy)] if twin else []), pct(r.robust_accuracy), f"{r.seconds:.0f}"])
    header = ["threat model", "budget", "clean %", "cascade (robust % after each)", *(["twin transfer %"] if twin else []),
              "robust %", "s"]
    return Table(header, rows, title, {2, len(header) - 2, len(header) - 1, *([4] if twin else [])})


def attacked_budget(budget: dict[str, Any]) -> str:
    """``video linf 8/255`` for the attacked modalities of a threat model's ``budget`` entry."""
    return " + ".join(f"{m} {budget[m]['norm']} {eps_text(budget[m]['eps'], m)}" for m in budget["modalities"])


def cost_note(card: BenchmarkResult) -> str:
    """One line: the card's seconds per stage, then per threat model each attack's, the eps curve's and the twin's."""
    def threat(r: Any) -> str:
        parts = [f"{c.attack} {c.seconds:.0f} s" for c in r.cascade]
        parts += [f"eps curve {r.eps_curve.seconds:.0f} s"] if r.eps_curve else []
        parts += [f"twin {r.twin_seconds:.0f} s"] if card.twin else []
        return ", ".join(parts)

    stages = ", ".join(f"{k} {v:.0f} s" for k, v in card.stage_seconds.items())
    return f"Cost: {stages}" + "".join(f"; {t}: {threat(r)}" for t, r in card.threats.items()) + "."


def card_section(path: Path, card: BenchmarkResult) -> Section:
    """A model card: what was measured, the per-threat table, the flags and the cost."""
    missing = ("" if card.no_audio_accuracy is None else f" (audio silenced {pct(card.no_audio_accuracy)} %, frames "
               f"replaced by their mean {pct(card.no_video_accuracy)} %)")
    intro = (f"{card.name(path)} on `{card.data}` ({card.split}, {card.n} clips): clean accuracy "
             f"{pct(card.clean_accuracy)} %{missing}. Protocol `{card.protocol}` ({', '.join(f'`{a}`' for a in card.attacks)}; "
             f"each attack only on the clips still robust, seed {card.seed}); "
             f"{'randomised model, gradient attacks with EOT' if card.randomised else 'deterministic model'}; "
             f"{card.device}, {card.precision}; {card.seconds:.0f} s in all, {card.seconds_per_clip:.2f} s per clip. "
             + ", ".join(f"{k} {v}" for k, v in card.versions.items()) + ".")
    notes = ([f"Flag: {line}" for line in card.flags] if card.flags
             else ["No flags: Square found nothing the gradient attacks missed, no zero gradients, robust accuracy "
                   "falls as the budget grows."])
    curves = [f"APGD-CE on {t} at budget x{', x'.join(f'{s:g}' for s in c.scales)}: "
              f"{', '.join(pct(a) for a in c.robust_accuracy)} %." for t in threats_of(card)
              if (c := card.threats[t].eps_curve) is not None]
    cost = [cost_note(card)] if card.stage_seconds else []
    return Section(f"Model card: {card.name(path)} ({path.name})", [intro], [card_table(card)], group=GROUP,
                   order=ORDER + 0.1, notes=curves + notes + cost)


def leaderboard_table(cards: Sequence[tuple[Path, BenchmarkResult]], title: str = "") -> Table:
    """One row per card, ranked by robust accuracy on :data:`RANKED_BY`: clean %, robust % per threat
    model, flags, protocol, clips and seconds per clip."""
    threats = [t for t in THREAT_ORDER if any(t in c.threats for _, c in cards)]
    ranked = sorted(cards, key=lambda pc: -(pc[1].threats[RANKED_BY].robust_accuracy
                                            if RANKED_BY in pc[1].threats else -1.0))
    extra = [col for col in EXTRA_COLUMNS if any(col[1](c) is not None for _, c in cards)]
    rows, hints = [], {}
    for rank, (path, c) in enumerate(ranked, 1):
        if short_spec(c.data) != c.data:
            hints[len(rows), 2] = c.data
        rows.append([str(rank), c.name(path), f"`{short_spec(c.data)}`", pct(c.clean_accuracy),
                     *[pct(c.threats[t].robust_accuracy) if t in c.threats else "—" for t in threats],
                     *[_cell(fmt, get(c)) for _, get, fmt in extra],
                     str(len(c.flags)) if c.flags else "", c.protocol, str(c.n), f"{c.seconds_per_clip:.2f}"])
    header = ["#", "model", "data", "clean %", *[f"{t} %" for t in threats], *[name for name, _, _ in extra], "flags",
              "protocol", "clips", "s / clip"]
    t = len(threats) + len(extra)
    return Table(header, rows, title, {0, 3, *range(4, 4 + t), 4 + t, 6 + t, 7 + t}, hints)


def _certified(card: BenchmarkResult) -> tuple[float, float, str] | None:
    """The first certificate's accuracy at its first radius above 0: (accuracy, radius, certifier)."""
    for c in card.certified:
        for radius, acc in zip(c.radii, c.certified_accuracy):
            if radius > 0:
                return acc, radius, c.certifier
    return None


def _cell(fmt: str, value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return f"{pct(value[0])} ({value[2]} r {value[1]:g})"
    return pct(value) if fmt == "pct" else f"{value:.2f}"


#: the leaderboard's columns for the card's other sections: (header, value of a card, format)
EXTRA_COLUMNS = (
    ("corrupted %", lambda c: c.corruptions.mean() if c.corruptions else None, "pct"),
    ("relative %", lambda c: c.corruptions.relative() if c.corruptions else None, "pct"),
    ("mCE", lambda c: c.corruptions.mce if c.corruptions else None, "ratio"),
    ("failures %", lambda c: c.failures.mean() if c.failures else None, "pct"),
    ("certified %", _certified, "pct"),
)


def leaderboard_text(cards: Sequence[tuple[Path, BenchmarkResult]]) -> str:
    protocols = sorted({c.protocol for _, c in cards})
    datas = sorted({c.data for _, c in cards})
    warn = "" if len(protocols) == 1 and len(datas) == 1 else (
        " The cards differ in protocol or data; compare rows of the same protocol and data only.")
    return (f"{len(cards)} model cards ranked by robust accuracy on {RANKED_BY} (worst case of the protocol's "
            f"cascade); a flagged card's robust accuracy may be an overestimate (see its flags).{warn}")
