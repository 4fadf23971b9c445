"""PGD: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
https://arxiv.org/abs/1706.06083 . Random start in the ball, ``steps`` projected steps, restarts."""

from __future__ import annotations

from avrobust.attacks.factory import register_attack
from avrobust.attacks.iterative import IterativeAttack
from avrobust.attacks.threat import Budget, ThreatModel


@register_attack("pgd")
class PGD(IterativeAttack):
    """Projected gradient descent; default step ``2.5 * eps / steps`` (Madry et al.'s rule)."""

    rank = 20
    traits = frozenset({"white-box"})
    defaults = {"defence": ("steps=10", "steps=50,restarts=3"), "standard": ("",), "ablation": ("",), "demo": ("",)}

    joint_capable = True

    def __init__(self, threat: ThreatModel | None = None, *, steps: int = 10, loss: str = "ce",
                 targeted: bool = False, random_start: bool = True, restarts: int = 1, seed: int = 0,
                 eot: int = 1) -> None:
        super().__init__(threat, steps=steps, loss=loss, targeted=targeted, random_start=random_start,
                         restarts=restarts, seed=seed, eot=eot)

    def default_step(self, budget: Budget) -> float:
        return 2.5 * budget.eps / self.steps
