"""NI-FGSM: Lin et al., "Nesterov Accelerated Gradient and Scale Invariance for Adversarial
Attacks", ICLR 2020. https://arxiv.org/abs/1908.06281 . The gradient is taken at the look-ahead
point ``x_adv + mu * alpha * g`` (per modality), then MI-FGSM's momentum update."""

from __future__ import annotations

import torch
from torch import nn

from avrobust.attacks.factory import register_attack
from avrobust.attacks.mifgsm import MIFGSM
from avrobust.attacks.threat import Inputs


@register_attack("nifgsm", aliases=("ni-fgsm",))
class NIFGSM(MIFGSM):
    """Nesterov momentum iterative FGSM (``decay`` = mu)."""

    rank = 40
    traits = frozenset({"transfer"})
    defaults = {"transfer": ("",), "standard": ("",), "alignment": ("",)}

    def step_gradient(self, model: nn.Module, adv: Inputs, x: Inputs, labels: torch.Tensor,
                      target: torch.Tensor | None, momentum: Inputs,
                      generator: torch.Generator) -> Inputs:
        ahead = dict(adv)
        for m in self.threat.modalities:
            ahead[m] = adv[m] + self.momentum_decay * self.step_size(m) * momentum[m]
        return self.gradient(model, ahead, labels, target)
