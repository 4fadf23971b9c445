"""FGSM: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015.
https://arxiv.org/abs/1412.6572 . One step of size eps along the gradient sign (L2: normalised)."""

from __future__ import annotations

from avrobust.attacks.factory import register_attack
from avrobust.attacks.iterative import IterativeAttack
from avrobust.attacks.threat import Budget, ThreatModel


@register_attack("fgsm")
class FGSM(IterativeAttack):
    """Fast Gradient Sign Method: ``x + eps * sign(grad)`` per attacked modality (one full step)."""

    rank = 0
    traits = frozenset({"transfer"})
    defaults = {"transfer": ("",), "defence": ("",), "standard": ("",), "alignment": ("",), "ablation": ("",), "demo": ("",)}

    joint_capable = True

    def __init__(self, threat: ThreatModel | None = None, *, loss: str = "ce", targeted: bool = False,
                 seed: int = 0, eot: int = 1) -> None:
        super().__init__(threat, steps=1, loss=loss, targeted=targeted, seed=seed, eot=eot)

    def default_step(self, budget: Budget) -> float:
        return budget.eps

    def step_size(self, modality: str) -> float:
        """Always eps: FGSM is one full step (a budget's ``step`` does not apply)."""
        return self.threat.budget(modality).eps
