"""The certifiers' registry and their interface.

A certifier turns a classifier into one with a guarantee: for each clip it returns a class (or abstains)
and a radius within which no perturbation of the allowed kind changes that class (with the certifier's
stated confidence). ``create_certifier("smoothing", sigma_video=0.25)`` builds one; each certifier is one
module that registers itself with ``@register_certifier("name")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from avrobust.models.classifier import float32_outputs
from avrobust.models.interface import AVModel
from avrobust.registry import Registry

CERTIFIERS: Registry[Certifier] = Registry("certifier", attribute="name")
register_certifier = CERTIFIERS.register

#: what a certified clip gets when the certifier abstains
ABSTAIN = -1


@dataclass(frozen=True)
class Certificate:
    """One clip's certificate: the class (:data:`ABSTAIN` when undecided), the radius in the certifier's
    units, and for certifiers with two budgets (frames and segments) the ``frontier``: for each number of
    changed frames 0..T, the most changed audio segments still certified (-1: none)."""

    label: int
    radius: float
    frontier: list[int] | None = None


class Certifier:
    """Base class: subclasses implement :meth:`certify_clip` and say what their radius measures."""

    name = ""  # set by the registry

    def certify_clip(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor,
                     generator: torch.Generator) -> Certificate:
        """The certificate of one clip (video ``[T, 3, H, W]`` in [0, 1], audio ``[L]`` in [-1, 1]);
        class :data:`ABSTAIN` and radius 0 when the certifier cannot decide. The model is in eval mode
        (:func:`~avrobust.certification.certify_model` sets it once for every clip)."""
        raise NotImplementedError

    def radius_units(self) -> str:
        """What a radius measures, in words (norm, modalities, raw units)."""
        raise NotImplementedError

    def default_radii(self) -> list[float]:
        """The radii at which a result reports certified accuracy by default."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The certifier's settings, for the result."""
        return {}


def create_certifier(name: str, **options: Any) -> Certifier:
    """Build registered certifier ``name`` with its typed options (one line per bad option)."""
    return CERTIFIERS.create(name, **options)


@torch.no_grad()
def predict(model: AVModel, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """The model's classes ``[N]`` for a batch of clips (float32 logits; the caller sets eval mode once)."""
    return float32_outputs(model(video, audio)).logits.argmax(1)
