"""PGD-AT: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
https://arxiv.org/abs/1706.06083 . Train on the crafting attack's examples only."""

from __future__ import annotations

import torch
from torch import nn

from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.defences.standard import supervised_loss
from avrobust.types import AVBatch


@register_method("pgd-at", aliases=("madry",))
class PGDAT(AdversarialMethod):
    """Madry et al. (ICLR 2018): train on the attack's examples only (default PGD, 10 steps,
    random start, step 2.5 eps / steps)."""

    rank = 0
    demo = "pgd-at:steps={steps}"

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"pgd-at": f"pgd-at:steps={steps}"}

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        adv = self.craft(model, batch, labels)
        return supervised_loss(model(adv.video, adv.audio), labels, self.unimodal_weight)
