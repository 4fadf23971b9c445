"""The registry of study stage kinds (:data:`STAGES`) and what every stage shares: its options, its seeds,
its clips and the cells of its tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from avrobust.errors import ConfigError
from avrobust.registry import Registry
from avrobust.report.seed_tables import Block
from avrobust.studies.context import Context
from avrobust.studies.spec import StageSpec


@dataclass(frozen=True)
class StageKind:
    """``run(ctx, stage) -> results`` (JSON-ready) and ``render(stage, results) -> blocks`` (paragraphs and
    :class:`~avrobust.tables.Table` s, written by :mod:`avrobust.report.seed_tables`); ``keys``: the options it
    accepts (others are refused with the list)."""

    run: Callable[[Context, StageSpec], dict[str, Any]]
    render: Callable[[StageSpec, dict[str, Any]], list[Block]]
    keys: tuple[str, ...]


STAGES: Registry[StageKind] = Registry("study stage")


def register_stage(name: str, keys: Sequence[str], render: Callable[[StageSpec, dict[str, Any]], list[Block]]) -> Callable:
    def deco(run: Callable[[Context, StageSpec], dict[str, Any]]) -> Callable:
        STAGES.register(name)(lambda: StageKind(run, render, tuple(keys)))
        return run
    return deco


def options(stage: StageSpec, defaults: dict[str, Any]) -> dict[str, Any]:
    """The stage's options over ``defaults``; a key the kind does not take is one line."""
    kind = STAGES.create(stage.kind)
    unknown = sorted(set(stage.options) - set(kind.keys))
    if unknown:
        raise ConfigError(f"stage {stage.name!r} ({stage.kind}): unknown key(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(kind.keys))}")
    return {**defaults, **stage.options}


def seeds_of(ctx: Context, o: dict[str, Any]) -> list[int]:
    """The stage's ``seeds`` (a subset of the study's, to size a costly stage), else the study's."""
    seeds = [int(k) for k in o.get("seeds") or ctx.spec.seeds]
    extra = sorted(set(seeds) - set(ctx.spec.seeds))
    if extra:
        raise ConfigError(f"{ctx.spec.source}: stage seeds {extra} are not among the study's seeds {list(ctx.spec.seeds)}")
    return seeds


def diff_text(d: dict[str, Any], scale: float = 100.0) -> str:
    return f"{scale * d['mean']:+.1f} [{scale * d['low']:+.1f}, {scale * d['high']:+.1f}] (n = {d['n']})"


def first(dataset: Any, n: int | None) -> torch.Tensor | None:
    return None if n is None else torch.arange(min(int(n), len(dataset)))
