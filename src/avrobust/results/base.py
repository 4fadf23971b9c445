"""Result kinds as plug-ins: what every kind of result file declares, and how a file is read.

A kind is one module of :mod:`avrobust.results` holding a :class:`Result` subclass registered with
``@register_result("name")``. The class is the record (its dataclass fields are the file's keys) and
declares how a file of that kind is recognised (:meth:`Result.recognises`, for files written before
results carried a ``kind``), where it stands in a report (:attr:`Result.order`) and how the report
renders it (:meth:`Result.sections`, and what it adds to the summary, :meth:`Result.summary`).
Nothing else in avrobust names a kind: :func:`read_result` dispatches on the registry and
:func:`avrobust.report.build_report` renders whatever is registered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from avrobust.errors import ConfigError
from avrobust.record import Record
from avrobust.registry import Registry
from avrobust.tables import Table

#: Where the report's groups stand (a section of a new group gives its own ``order``).
GROUPS = {"Summary": 0, "Data": 10, "Models": 20, "White box": 30, "Transfer": 40, "Analyses": 50, "Defences": 60}


@dataclass
class Section:
    """One report section: a title, paragraphs, tables (with their CSV and LaTeX files once written),
    figure paths and playable audio ``(caption, wav path)``; ``group`` names the heading it stands
    under and ``order`` where (default: the group's place in :data:`GROUPS`)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    group: str = "Models"
    audio: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # paragraphs after the tables and figures
    table_files: list[tuple[Path, Path]] = field(default_factory=list)
    order: float | None = None

    @property
    def rank(self) -> float:
        """The section's place in the report."""
        return self.order if self.order is not None else GROUPS.get(self.group, max(GROUPS.values()) + 10)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass(frozen=True)
class ExampleRequest:
    """Adversarial examples a kind asks the report to craft and show: ``attack`` (a spec) with its
    budgets (``{"video": {"norm", "eps"}, "audio": ...}``) and ``steps`` on the first clips of ``data``
    (``split``) that the model in ``checkpoint`` gets right; ``name``: the stem of its files."""

    title: str
    name: str
    checkpoint: str
    data: str
    split: str
    attack: str
    budget: dict[str, Any]
    modalities: tuple[str, ...]
    steps: int
    group: str


class ReportContext(Protocol):
    """What a kind's renderer gets from the report."""

    figures: Path  # where to write figures
    found: Sequence[tuple[Path, Result]]  # every result of the report, of every kind

    def examples(self, request: ExampleRequest) -> Section | None:
        """A section of adversarial examples to see and hear, or None when none can be made."""

    def plot_analysis(self, result: Result, path: Path) -> None:
        """Draw the figure of an analysis result (the analysis's own plot, :mod:`avrobust.analysis`)."""


class Result(Record):
    """Base of every kind of result file (see the module docstring)."""

    #: the kind's place among the kinds of a report (sections are then ordered by group)
    order: ClassVar[float] = 100.0
    #: False for kinds a report does not show (their files are read but not rendered)
    reported: ClassVar[bool] = True

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        """Whether parsed JSON without a ``kind`` (schema 1) is a file of this kind."""
        return False

    @classmethod
    def upgrade(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Parsed JSON of an older schema as this version's fields."""
        return data

    def data_source(self) -> tuple[str, str] | None:
        """``(dataset spec, split)`` the result was measured on, for the report's Data section."""
        return None

    def source_label(self, path: Path) -> str:
        """How the report names the file the result came from."""
        return path.name

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        """The report's sections for every result of this kind (``(path, result)``, in path order)."""
        return []

    @classmethod
    def summary(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        """Parts of the report's summary (their tables and notes join the summary, by ``order``)."""
        return []


@dataclass(kw_only=True, eq=False)
class MeasuredResult(Result):
    """A result measured on one model (its name, run directory) and ``n`` clips of a dataset's split."""

    model: str
    checkpoint: str
    data: str
    split: str
    n: int

    def data_source(self) -> tuple[str, str]:
        return self.data, self.split


RESULT_KINDS: Registry[type[Result]] = Registry("result kind", attribute="kind")
register_result = RESULT_KINDS.register


def parse_result(data: Any) -> Result | None:
    """The typed result of parsed JSON, or None when it is not an avrobust result."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind in RESULT_KINDS:
        cls = RESULT_KINDS.get(kind)
    else:
        cls = next((RESULT_KINDS.get(k) for k in RESULT_KINDS if RESULT_KINDS.get(k).recognises(data)), None)
        if cls is None:
            return None
    data = cls.upgrade(data)
    return cls.from_dict({k: v for k, v in data.items() if k not in ("kind", "schema_version")})


def read_result(path: str | Path) -> Result:
    """Read a result file; a file that is not one is a one-line error."""
    path = Path(path)
    try:
        result = parse_result(json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path} ({err})") from None
    if result is None:
        raise ConfigError(f"{path} is not an avrobust result file")
    return result
