"""Iterative gradient attacks: ``steps`` projected ascent steps from the start point (I-FGSM, PGD, FGSM as
one step); momentum attacks override the loop (:mod:`~avrobust.attacks.mifgsm`)."""

from __future__ import annotations

import torch
from torch import nn

from avrobust.attacks.base import Attack
from avrobust.attacks.threat import Inputs


class IterativeAttack(Attack):
    """``steps`` projected ascent steps along the gradient of the objective (I-FGSM, PGD; FGSM is one)."""

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        adv = self.start(x, generator)
        for _ in range(self.steps):
            adv = self.update(adv, x, self.gradient(model, adv, labels, target))
        return adv
