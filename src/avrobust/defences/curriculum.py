"""The adversarial curriculum: schedules that move training from easy to hard, epoch by epoch.

PAPER.md: the curriculum raises three difficulties over training, each with its own schedule:
the data level (ratio of masked aligned segments), the model level (dropout ratio inside the
encoders and the fusion) and the attack (number of crafting steps).

A :class:`Schedule` maps the 0-based epoch ``e`` of ``E`` to a value with progress
``p = e / (E - 1)`` (``p = 1`` when ``E = 1``):

* ``constant``: ``end`` at every epoch (the full difficulty from the start).
* ``linear``: ``start + (end - start) * p``.
* ``cosine``: ``start + (end - start) * (1 - cos(pi * p)) / 2`` (slow, fast, slow).
* ``step``: ``stages`` equal blocks of progress, ``start`` in the first and ``end`` in the last
  (always the last epoch), evenly spaced values between.

Values are pure functions of the epoch, so a resumed run sees exactly the values of an
uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from avrobust.console import warn
from avrobust.errors import ConfigError

KINDS = ("constant", "linear", "cosine", "step")


@dataclass(frozen=True)
class Schedule:
    """One scheduled value.

    Attributes:
        kind: one of ``KINDS``; start, end: the values at the first and last epoch.
        stages: number of blocks of the ``step`` schedule (>= 2).
    """

    kind: str = "linear"
    start: float = 0.0
    end: float = 0.0
    stages: int = 3

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown schedule {self.kind!r}; valid choices: {', '.join(KINDS)}")
        if int(self.stages) != self.stages or self.stages < 2:
            raise ConfigError(f"a step schedule needs stages >= 2, got {self.stages}")

    def progress(self, epoch: int, epochs: int) -> float:
        """Share of training done at the start of ``epoch`` (0-based), in [0, 1]."""
        if epochs < 1 or not 0 <= epoch < epochs:
            raise ConfigError(f"epoch {epoch} is outside a {epochs}-epoch run")
        return 1.0 if epochs == 1 else epoch / (epochs - 1)

    def value(self, epoch: int, epochs: int) -> float:
        """The scheduled value at 0-based ``epoch`` of ``epochs``."""
        p = self.progress(epoch, epochs)
        if self.kind == "constant":
            return self.end
        if self.kind == "linear":
            frac = p
        elif self.kind == "cosine":
            frac = (1.0 - math.cos(math.pi * p)) / 2.0
        else:  # step
            stage = min(math.floor(p * self.stages + 1e-9), self.stages - 1)
            frac = stage / (self.stages - 1)
        return self.start + (self.end - self.start) * frac


def _check_ratio(name: str, value: float, *, closed: bool) -> None:
    upper_ok = value <= 1.0 if closed else value < 1.0
    if not (value >= 0.0 and upper_ok):
        raise ConfigError(f"{name} must lie in [0, 1{']' if closed else ')'}, got {value}")


@dataclass(frozen=True)
class Curriculum:
    """The three schedules of adversarial training, and whether masking is synchronous.

    Attributes:
        mask: ratio of aligned segments dropped from each training clip, in [0, 1].
        mask_synchronous: drop the same segments in video and audio (else drawn independently).
        dropout: probability of every dropout layer of the model, in [0, 1).
        steps: attack steps used to craft the training examples (rounded, >= 1).
        enabled: ``False`` turns the curriculum off: no masking, the model's dropout unchanged and
            ``steps.end`` steps at every epoch.
    """

    mask: Schedule = Schedule("linear", 0.0, 0.25)
    dropout: Schedule = Schedule("linear", 0.0, 0.2)
    steps: Schedule = Schedule("linear", 1, 10)
    mask_synchronous: bool = True
    enabled: bool = True

    def __post_init__(self) -> None:
        for v in (self.mask.start, self.mask.end):
            _check_ratio("the masking ratio", v, closed=True)
        for v in (self.dropout.start, self.dropout.end):
            _check_ratio("the dropout ratio", v, closed=False)
        for v in (self.steps.start, self.steps.end):
            if v < 1:
                raise ConfigError(f"attack steps must be >= 1, got {v}")

    def warn_if_reversed(self) -> list[str]:
        """Warn (one line each) about schedules that end easier than they start; return the lines."""
        lines = []
        for name, s in (("mask", self.mask), ("dropout", self.dropout), ("steps", self.steps)):
            if self.enabled and s.kind != "constant" and s.end < s.start:
                lines.append(f"the {name} schedule goes from {s.start:g} down to {s.end:g}, hard to easy; "
                             f"a curriculum usually rises (swap {name}_start and {name}_end if this is a mistake)")
        for line in lines:
            warn(line)
        return lines

    def at(self, epoch: int, epochs: int) -> dict[str, Any]:
        """The values at 0-based ``epoch``: ``mask_ratio``, ``mask_synchronous``, ``dropout`` (None: the
        model's own), ``attack_steps``."""
        if not self.enabled:
            return {"mask_ratio": 0.0, "mask_synchronous": self.mask_synchronous, "dropout": None,
                    "attack_steps": max(1, round(self.steps.end))}
        return {"mask_ratio": round(self.mask.value(epoch, epochs), 6), "mask_synchronous": self.mask_synchronous,
                "dropout": round(self.dropout.value(epoch, epochs), 6),
                "attack_steps": max(1, round(self.steps.value(epoch, epochs)))}

    def describe(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "mask": asdict(self.mask), "mask_synchronous": self.mask_synchronous,
                "dropout": asdict(self.dropout), "steps": asdict(self.steps)}
