"""MI-FGSM: Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018.
https://arxiv.org/abs/1710.06081 . ``g <- mu g + grad / mean|grad|`` per modality; step along sign(g).

The momentum loop lives here; NI-FGSM, MIG, PAM and TIA/MMA/TMA change only the gradient a step feeds
it (:meth:`MIFGSM.step_gradient`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.factory import register_attack
from avrobust.attacks.iterative import IterativeAttack
from avrobust.attacks.threat import Inputs, ThreatModel
from avrobust.errors import ConfigError


def mean_abs_normalise(g: torch.Tensor) -> torch.Tensor:
    """``g / mean|g|`` per sample over all non-batch dimensions (MI-FGSM's normalisation).

    Scale-invariant however small the gradient (a confidently classified clip can have mean|g| below
    1e-12); an all-zero gradient stays zero.
    """
    scale = g.abs().mean(dim=tuple(range(1, g.dim())), keepdim=True)
    return g / torch.where(scale > 0, scale, torch.ones_like(scale))


@register_attack("mifgsm", aliases=("mi-fgsm",))
class MIFGSM(IterativeAttack):
    """Momentum iterative FGSM. Args: ``decay`` (mu, default 1.0); default step ``eps / steps``."""

    rank = 30
    defaults = {"transfer": ("",), "defence": ("",), "standard": ("",), "modality": ("",), "alignment": ("",),
                "iterations": ("",), "eps": ("",)}

    def __init__(self, threat: ThreatModel | None = None, *, decay: float = 1.0, **kwargs: Any) -> None:
        super().__init__(threat, **kwargs)
        if not decay >= 0:
            raise ConfigError(f"{self.name}: decay must be >= 0, got {decay}")
        self.momentum_decay = float(decay)

    def options(self) -> dict[str, Any]:
        return {"decay": self.momentum_decay}

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        adv = self.start(x, generator)
        momentum = {m: torch.zeros_like(x[m]) for m in self.threat.modalities}
        for _ in range(self.steps):
            grads = self.step_gradient(model, adv, x, labels, target, momentum, generator)
            momentum = {m: self.momentum_decay * momentum[m] + mean_abs_normalise(grads[m]) for m in grads}
            adv = self.update(adv, x, momentum)
        return adv

    def step_gradient(self, model: nn.Module, adv: Inputs, x: Inputs, labels: torch.Tensor,
                      target: torch.Tensor | None, momentum: Inputs, generator: torch.Generator) -> Inputs:
        """The gradient one step feeds the momentum (subclasses: a look-ahead point, a path integral...)."""
        return self.gradient(model, adv, labels, target)
