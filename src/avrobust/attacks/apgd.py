"""APGD: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", ICML 2020. https://arxiv.org/abs/2003.01690 .

Step size starts at ``2 eps`` per modality (one per-sample factor shared by both modalities) and is
halved at checkpoints ``p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`` when
fewer than ``rho`` of the steps since the last checkpoint raised the loss, or when the step and the
best loss did not change; then the iterate restarts from the best point. Momentum ``alpha = 0.75``.
A clip returns the first point that fools the model, else the point of highest loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack, forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.threat import Budget, Inputs, ThreatModel, ascent_step, project, select
from avrobust.errors import ConfigError


def checkpoints(steps: int) -> list[int]:
    """The iterations at which APGD may halve its step size."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({math.ceil(q * steps) for q in p[1:] if math.ceil(q * steps) < steps})


@register_attack("apgd")
class APGD(Attack):
    """Auto-PGD with the CE (``apgd-ce``) or DLR (``apgd-dlr``) loss.

    Args:
        rho: the fraction of loss-raising steps below which the step halves (0.75).
        alpha: momentum (0.75). Other arguments as :class:`Attack` (default 100 steps, random start).
    """

    rank = 65
    traits = frozenset({"white-box"})
    defaults = {}

    def __init__(self, threat: ThreatModel | None = None, *, steps: int = 100, loss: str = "ce",
                 targeted: bool = False, random_start: bool = True, restarts: int = 1, seed: int = 0,
                 rho: float = 0.75, alpha: float = 0.75, eot: int = 1) -> None:
        super().__init__(threat, steps=steps, loss=loss, targeted=targeted, random_start=random_start,
                         restarts=restarts, seed=seed, eot=eot)
        if not 0 < rho <= 1 or not 0 < alpha <= 1:
            raise ConfigError(f"{self.name}: rho and alpha must lie in (0, 1], got {rho}, {alpha}")
        self.rho, self.alpha = float(rho), float(alpha)

    def default_step(self, budget: Budget) -> float:
        return 2 * budget.eps

    def options(self) -> dict[str, Any]:
        return {"rho": self.rho, "alpha": self.alpha, "initial_step": "2 eps"}

    def _losses(self, model: nn.Module, adv: Inputs, labels: torch.Tensor, target: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor, Inputs]:
        mods = self.threat.modalities
        inp = {m: adv[m].detach().requires_grad_(m in mods) for m in adv}
        seen: list[tuple[torch.Tensor, torch.Tensor]] = []

        def value() -> torch.Tensor:
            out = forward(model, inp)
            loss = self.loss_fn(out, labels, self.loss_target(target))
            seen.append((loss.detach(), self.fooled(out, labels, target).detach()))
            return loss.sum()

        grads = self.input_grads(value, [inp[m] for m in mods])
        loss = torch.stack([s for s, _ in seen]).mean(0)  # the mean over the EOT passes
        return loss, seen[-1][1], dict(zip(mods, grads))

    def loss_target(self, target: torch.Tensor | None) -> torch.Tensor | None:
        """The target the loss pulls towards (None: untargeted)."""
        return target if self.targeted else None

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        mods = self.threat.modalities
        adv = self.start(x, generator)
        loss, fooled, grad = self._losses(model, adv, labels, target)
        out = {m: adv[m].clone() for m in adv}  # per clip: its first fooling point, else its highest-loss point
        # A fooled clip's result is fixed (its first fooling point) and the clips do not interact, so the
        # iterations go on with the clips not yet fooled only: the same result, without their cost.
        live = (~fooled).nonzero()[:, 0]
        x, labels = {m: x[m][live] for m in x}, labels[live]
        target = None if target is None else target[live]
        adv, grad, loss = {m: adv[m][live] for m in adv}, {m: grad[m][live] for m in grad}, loss[live]
        n = len(live)
        factor = torch.ones(n, device=labels.device)  # step = factor * step_size(m)
        best_loss, best = loss.clone(), {m: adv[m].clone() for m in adv}
        prev = {m: adv[m].clone() for m in adv}
        marks = checkpoints(self.steps)
        last_mark, raised = 0, torch.zeros(n, device=labels.device)
        factor_at_mark, best_at_mark = factor.clone(), best_loss.clone()
        prev_loss = loss
        for k in range(self.steps):
            if not len(live):
                break
            new = dict(adv)
            for m in mods:
                b, step = self.threat.budget(m), factor * self.step_size(m)
                z = project(ascent_step(adv[m], grad[m], b, step), x[m], b)
                a = 1.0 if k == 0 else self.alpha
                new[m] = project(adv[m] + a * (z - adv[m]) + (1 - a) * (adv[m] - prev[m]), x[m], b).detach()
            prev, adv = adv, new
            loss, fooled, grad = self._losses(model, adv, labels, target)
            raised += (loss > prev_loss).float()
            prev_loss = loss
            improved = loss > best_loss
            for m in adv:
                best[m] = select(improved, adv[m], best[m])
            best_loss = torch.where(improved, loss, best_loss)
            if bool(fooled.any()):
                for m in adv:
                    out[m][live[fooled]] = adv[m][fooled]
                keep = ~fooled
                live, labels, loss, prev_loss, best_loss, factor, raised, factor_at_mark, best_at_mark = (
                    t[keep] for t in (live, labels, loss, prev_loss, best_loss, factor, raised, factor_at_mark,
                                      best_at_mark))
                target = None if target is None else target[keep]
                x, adv, prev, best = ({m: d[m][keep] for m in d} for d in (x, adv, prev, best))
                grad = {m: grad[m][keep] for m in grad}
            if k + 1 in marks:
                window = k + 1 - last_mark
                halve = (raised < self.rho * window) | ((factor_at_mark == factor) & (best_at_mark == best_loss))
                factor_at_mark, best_at_mark = factor.clone(), best_loss.clone()
                factor = torch.where(halve, factor / 2, factor)
                for m in adv:
                    adv[m] = select(halve, best[m], adv[m])
                    prev[m] = adv[m].clone()
                if bool(halve.any()):
                    loss, _, grad = self._losses(model, adv, labels, target)
                    prev_loss = loss
                raised.zero_()
                last_mark = k + 1
        for m in out:
            out[m][live] = best[m]
        return out


@register_attack("apgd-ce")
class APGDCE(APGD):
    """APGD with the cross-entropy loss."""

    rank = 70
    traits = frozenset({"white-box"})
    defaults = {"defence": ("",), "standard": ("",), "ablation": ("",), "autoattack": ("",)}

    def __init__(self, threat: ThreatModel | None = None, **kwargs: Any) -> None:
        kwargs.pop("loss", None)
        super().__init__(threat, loss="ce", **kwargs)


@register_attack("apgd-dlr")
class APGDDLR(APGD):
    """APGD with the DLR loss (needs >= 3 classes)."""

    rank = 80
    traits = frozenset({"white-box"})
    defaults = {"defence": ("",), "standard": ("",)}

    def __init__(self, threat: ThreatModel | None = None, **kwargs: Any) -> None:
        kwargs.pop("loss", None)
        super().__init__(threat, loss="dlr", **kwargs)
