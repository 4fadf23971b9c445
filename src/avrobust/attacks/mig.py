"""MIG: Ma et al., "Transferable Adversarial Attack for Both Vision Transformers and Convolutional
Networks via Momentum Integrated Gradients", ICCV 2023. https://arxiv.org/abs/2310.13216 .

Each step computes the integrated gradient of the true-class probability along the straight path
from a baseline (black frames, silence) to the current adversarial input, with ``path_points``
Riemann points, and feeds it to MI-FGSM's momentum. The attack ascends ``-p_y`` (untargeted) or
``p_target`` (targeted); ``loss`` is not used.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.mifgsm import MIFGSM
from avrobust.attacks.threat import Inputs, ThreatModel
from avrobust.errors import ConfigError


@register_attack("mig")
class MIG(MIFGSM):
    """Momentum integrated gradients. Args: ``path_points`` (default 20), ``decay`` (mu, 1.0)."""

    rank = 50
    traits = frozenset({"transfer"})
    defaults = {"transfer": ("",), "standard": ("",)}

    def __init__(self, threat: ThreatModel | None = None, *, path_points: int = 20, **kwargs: Any) -> None:
        super().__init__(threat, **kwargs)
        if int(path_points) != path_points or path_points < 1:
            raise ConfigError(f"{self.name}: path_points must be an integer >= 1, got {path_points}")
        self.path_points = int(path_points)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "path_points": self.path_points}

    def step_gradient(self, model: nn.Module, adv: Inputs, x: Inputs, labels: torch.Tensor,
                      target: torch.Tensor | None, momentum: Inputs,
                      generator: torch.Generator) -> Inputs:
        mods = self.threat.modalities
        cls = target if self.targeted and target is not None else labels
        sign = 1.0 if self.targeted else -1.0
        total = {m: torch.zeros_like(adv[m]) for m in mods}
        for k in range(1, self.path_points + 1):
            scale = k / self.path_points  # baseline is zero for both modalities
            inp = {m: (adv[m].detach() * scale).requires_grad_(m in mods) for m in adv}
            grads = self.input_grads(
                lambda inp=inp: sign * forward(model, inp).logits.softmax(1).gather(1, cls[:, None]).sum(),
                [inp[m] for m in mods])
            for m, g in zip(mods, grads):
                total[m] += g
        return {m: adv[m].detach() * total[m] / self.path_points for m in mods}
