"""The report's first screen: what every result kind adds to the summary (every model's clean and
worst-case robust accuracy with its strongest attack, the transfer summary, the defence comparison...),
in the order of its parts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.results import RESULT_KINDS, ReportContext, Result, Section


def by_kind(found: Sequence[tuple[Path, Result]]) -> list[tuple[type[Result], list[tuple[Path, Result]]]]:
    """The reported kinds present in ``found`` in their order, each with its results in path order."""
    kinds = [RESULT_KINDS.get(k) for k in RESULT_KINDS]
    groups = [(k, sorted(((p, r) for p, r in found if type(r) is k), key=lambda x: str(x[0]))) for k in kinds
              if k.reported]
    return sorted(((k, items) for k, items in groups if items), key=lambda g: g[0].order)


def summary_section(found: Sequence[tuple[Path, Result]], ctx: ReportContext) -> Section:
    """The summary: every kind's parts, their tables then their notes, in the parts' order."""
    sec = Section("Summary", group="Summary")
    parts = [part for kind, items in by_kind(found) for part in kind.summary(items, ctx)]
    for part in sorted(parts, key=lambda s: s.rank):
        sec.tables += part.tables
        sec.notes += part.notes
    if not sec.tables and not sec.notes:
        sec.paragraphs.append("No evaluation, transfer or defence results here; the sections below show what was found.")
    return sec
