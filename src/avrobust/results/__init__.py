"""Typed results: one :class:`~avrobust.results.base.Result` kind per kind of result file, one module
each (see :mod:`avrobust.results.base`), JSON written from and read back into them.

Every result reads like the plain dicts of earlier versions (``result["attacks"]``). Files carry
``kind`` and ``schema_version``; :func:`read_result` dispatches on ``kind`` (files of schema 1, which had
none, are recognised by each kind's keys) and rebuilds the nested records.
"""

from avrobust.record import SCHEMA_VERSION, Record
from avrobust.registry import import_submodules
from avrobust.results.base import (
    GROUPS,
    RESULT_KINDS,
    ExampleRequest,
    ReportContext,
    Result,
    Section,
    parse_result,
    read_result,
    register_result,
)

import_submodules(__name__)  # every kind module registers itself

from avrobust.results.ablation import AblationResult, AblationRow  # noqa: E402
from avrobust.results.benchmark import BenchmarkResult  # noqa: E402
from avrobust.results.analysis import AnalysisResult  # noqa: E402
from avrobust.results.evaluation import AttackResult, EvaluationResult, SweepCurve, SweepResult  # noqa: E402
from avrobust.results.training import TrainingResult  # noqa: E402
from avrobust.results.transfer import TransferResult, TransferRow, TransferSummary  # noqa: E402
from avrobust.results.zoo import ZooEntry, ZooResult  # noqa: E402

__all__ = ["GROUPS", "RESULT_KINDS", "SCHEMA_VERSION", "AblationResult", "AblationRow",
           "AnalysisResult", "AttackResult", "BenchmarkResult", "EvaluationResult", "ExampleRequest", "Record", "ReportContext", "Result",
           "Section", "SweepCurve", "SweepResult", "TrainingResult", "TransferResult", "TransferRow", "TransferSummary",
           "ZooEntry", "ZooResult", "parse_result", "read_result", "register_result"]
