"""Typed results: one :class:`~avrobust.record.Record` per kind of result file, JSON written from and
read back into them.

Every result reads like the plain dicts of earlier versions (``result["attacks"]``) and is JSON-ready
as is. Files carry ``kind`` and ``schema_version``; :func:`read_result` dispatches on ``kind`` (files
of schema 1, which had none, are recognised by their keys) and rebuilds the nested records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avrobust.errors import ConfigError
from avrobust.record import SCHEMA_VERSION, Record  # noqa: F401  (SCHEMA_VERSION: the version results carry)


# ---- evaluation ------------------------------------------------------------------------------------
@dataclass(kw_only=True, eq=False)
class AttackResult(Record):
    """One attack on one model: rates over all ``n`` clips, budgets, perceptibility, per-clip flags.

    ``robust_accuracy``: share of clips right when clean and after the attack; ``attack_success_rate``:
    share of the clean-correct clips it makes wrong; ``transfer``: crafted on another model.
    """

    attack: str
    robust_accuracy: float
    attack_success_rate: float
    budget: dict[str, Any]
    steps: int
    modalities: list[str]
    restarts: int
    loss: str
    options: dict[str, Any]
    psnr_db: float | None = None
    ssim: float | None = None
    snr_db: float | None = None
    segmental_snr_db: float | None = None
    max_norm: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    robust_flags: list[int] = field(default_factory=list)
    transfer: bool = False


@dataclass(kw_only=True, eq=False)
class EvaluationResult(Record):
    """``avrobust evaluate``: clean, audio-only (p_a) and visual-only (p_v) accuracy, attacks, worst case."""

    kind: ClassVar[str] = "evaluation"
    data: str
    split: str
    n: int
    clean_accuracy: float
    audio_only_accuracy: float
    visual_only_accuracy: float
    attacks: dict[str, AttackResult] = field(default_factory=dict)
    clean_correct: int | None = None
    worst_case_robust_accuracy: float | None = None
    model: str = ""
    checkpoint: str = ""
    surrogate: str | None = None
    suite: str | None = None
    zero_gradient_share: dict[str, float] | None = None
    warnings: list[str] | None = None
    #: how p_a, p_v (the audio-/visual-only accuracies, MMA) are defined: None = the model's own heads
    unimodal: str | None = None
    #: robust accuracy and ASR per attack against eps or steps (see avrobust.evaluation.sweep)
    sweep: dict[str, Any] | None = None
    seconds: float = 0.0


# ---- transfer ----------------------------------------------------------------------------------------
@dataclass(kw_only=True, eq=False)
class TransferRow(Record):
    """One (surrogate, victim, attack) cell: the victim's ASR, robust and clean accuracy, cross-modal cosine."""

    surrogate: str
    victim: str
    attack: str
    attack_success_rate: float
    robust_accuracy: float
    clean_accuracy: float
    white_box: bool
    modality_cosine: float


@dataclass(kw_only=True, eq=False)
class TransferSummary(Record):
    """Per attack over the matrix: black-box means (std over pairs) and white-box means."""

    black_box_asr: float | None
    black_box_asr_std: float | None
    black_box_pairs: int
    black_box_robust_accuracy: float | None
    black_box_cosine: float | None = None
    black_box_asr_per_victim: dict[str, float | None] = field(default_factory=dict)
    white_box_asr: float | None = None
    white_box_cosine: float | None = None


@dataclass(kw_only=True, eq=False)
class TransferResult(Record):
    """``avrobust transfer``: the matrix rows, per-attack summaries and crafting costs."""

    kind: ClassVar[str] = "transfer"
    n: int
    data: str
    split: str
    surrogates: dict[str, list[str]]
    victims: dict[str, dict[str, Any]]
    attacks: dict[str, dict[str, Any]]
    crafting: list[dict[str, Any]]
    matrix: list[TransferRow]
    summary: dict[str, TransferSummary]
    seconds: float = 0.0


# ---- analysis, training, zoo, ablation -----------------------------------------------------------------
@dataclass(kw_only=True, eq=False)
class AnalysisResult(Record):
    """``avrobust analyze``: one Section 3 analysis (``analysis`` names it), its set-up and results."""

    kind: ClassVar[str] = "analysis"
    analysis: str
    setup: dict[str, Any]
    results: dict[str, Any]
    seconds: float = 0.0


@dataclass(kw_only=True, eq=False)
class TrainingResult(Record):
    """A run's ``summary.json``: cost (passes, segments, seconds), curriculum, final stage, metrics, history."""

    kind: ClassVar[str] = "training"
    model: str
    model_config: dict[str, Any]
    data_spec: str
    method: str
    method_options: dict[str, Any]
    train_config: dict[str, Any]
    epochs: int
    seconds_per_epoch: float
    total_train_seconds: float
    forward_passes: int
    backward_passes: int
    forward_segments: int
    curriculum: list[dict[str, Any]]
    final_stage: dict[str, Any] | None
    metrics: dict[str, float]
    history: list[dict[str, Any]]
    run_dir: str | None = None


@dataclass(kw_only=True, eq=False)
class ZooEntry(Record):
    model: str
    alias: str
    seed: int
    run_dir: str
    train_seconds: float
    val: dict[str, float]


@dataclass(kw_only=True, eq=False)
class ZooResult(Record):
    """``avrobust train-zoo``: one entry per trained model (``complete`` once all are)."""

    kind: ClassVar[str] = "zoo"
    data: str
    epochs: int
    seed: int
    models: list[ZooEntry]
    complete: bool
    train_seconds: float


@dataclass(kw_only=True, eq=False)
class AblationRow(Record):
    variant: str
    method: str
    seed: int
    run_dir: str
    train_seconds: float
    seconds_per_epoch: float
    forward_segments: int
    n: int
    clean_accuracy: float
    robust_accuracy: dict[str, float]
    worst_case_robust_accuracy: float | None
    epochs: int | None = None  # the run's epochs (an equal-time run's own; None in older files)


@dataclass(kw_only=True, eq=False)
class AblationResult(Record):
    """``avrobust ablate``: one row per (variant, seed), per-variant mean/std summaries."""

    kind: ClassVar[str] = "ablation"
    settings: dict[str, Any]
    rows: list[AblationRow]
    summary: dict[str, dict[str, Any]]


KINDS: dict[str, type[Record]] = {c.kind: c for c in (EvaluationResult, TransferResult, AnalysisResult,
                                                       TrainingResult, ZooResult, AblationResult)}


def legacy_kind(data: dict[str, Any]) -> str | None:
    """The kind of a schema-1 file (written before results had a ``kind``), from its keys."""
    if "matrix" in data and "summary" in data:
        return "transfer"
    if "settings" in data and "rows" in data:
        return "ablation"
    if "setup" in data and "results" in data:
        return "analysis"
    if "clean_accuracy" in data and "attacks" in data:
        return "evaluation"
    if "history" in data and "train_config" in data:
        return "training"
    if "models" in data and "complete" in data:
        return "zoo"
    return None


def parse_result(data: Any) -> Record | None:
    """The typed result of parsed JSON, or None when it is not an avrobust result."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind") if data.get("kind") in KINDS else legacy_kind(data)
    if kind is None:
        return None
    if "kind" in data and data["kind"] not in KINDS:  # schema 1 analyses named the analysis "kind"
        data = {**data, "analysis": data["kind"]}
    return KINDS[kind].from_dict({k: v for k, v in data.items() if k not in ("kind", "schema_version")})


def read_result(path: str | Path) -> Record:
    """Read a result file; a file that is not one is a one-line error."""
    path = Path(path)
    try:
        result = parse_result(json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path} ({err})") from None
    if result is None:
        raise ConfigError(f"{path} is not an avrobust result file")
    return result
