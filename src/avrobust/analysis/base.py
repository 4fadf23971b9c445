"""The registry of the paper's Section 3 analyses (:data:`ANALYSES`).

An analysis registers itself with ``@register_analysis(name, plot=..., values=...)`` on its function
``run(study, values=..., attacks=...) -> dict``; ``plot(result, path)`` draws its figure (the report
draws it again from the result file).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avrobust.registry import Registry


@dataclass(frozen=True)
class Analysis:
    """``run(study, **kwargs) -> results`` computes; ``plot(result, path)`` draws; ``values`` names the swept
    list (None: it sweeps none); ``takes_attacks``: whether ``--attack`` chooses its attacks."""

    run: Callable[..., dict[str, Any]]
    plot: Callable[[Any, str], None]
    values: str | None
    takes_attacks: bool
    description: str = ""


ANALYSES: Registry[Analysis] = Registry("analysis")


def register_analysis(name: str, *, plot: Callable[[Any, str], None], values: str | None = None,
                      aliases: tuple[str, ...] = ()) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator registering an analysis function ``run(study, ...)``; ``values`` names what ``--values``
    sweeps (None: nothing); it takes ``--attack`` when ``run`` has an ``attacks`` parameter."""

    def deco(run: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        params = inspect.signature(run).parameters
        doc = (run.__doc__ or "").strip().splitlines()
        ANALYSES.register(name, aliases=aliases)(Analysis(run, plot, values, "attacks" in params,  # type: ignore[arg-type]
                                                          doc[0] if doc else ""))
        return run

    return deco


def analysis(name: str) -> Analysis:
    """The registered analysis ``name`` (or alias)."""
    return ANALYSES.get(name)  # type: ignore[return-value]
