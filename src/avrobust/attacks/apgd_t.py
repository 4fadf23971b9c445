"""APGD-T: the targeted APGD of AutoAttack (Croce & Hein, ICML 2020, https://arxiv.org/abs/2003.01690).

For each of the ``targets`` classes the model ranks highest after the true one (on the clean clip), APGD
runs with the targeted DLR loss ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)``; a clip keeps the first
run that makes it misclassified (any wrong class counts: the targets are a search strategy, the goal is
untargeted); each target runs only on the clips no earlier one fooled, as AutoAttack's does. AutoAttack's
defaults: 9 target classes for 10 classes (here ``min(9, K - 1)``), 100 steps each, momentum 0.75. Needs
at least 4 classes (the targeted DLR loss).

``rank="malt"`` orders the targets as MALT does (Melamed et al., 2024, https://arxiv.org/abs/2407.02240):
by the linearised distance to each class's boundary, the margin ``z_y - z_t`` over how far the budget can
move it to first order, ``sum over attacked modalities of eps_m * ||grad_m (z_y - z_t)||_*`` (the dual
norm: L1 under an L-inf budget, L2 under an L2 one); the nearest first. One backward pass per class; with
it fewer targets find what more targets ranked by logits find.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.apgd import APGD
from avrobust.attacks.base import forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.threat import Inputs, ThreatModel
from avrobust.errors import ConfigError


@register_attack("apgd-t")
class APGDT(APGD):
    """Targeted APGD over the top-``targets`` wrong classes (default ``min(9, K - 1)``), DLR-targeted loss."""

    rank = 90
    traits = frozenset({"white-box"})
    defaults = {"autoattack": ("",)}

    def __init__(self, threat: ThreatModel | None = None, *, targets: int | None = None, rank: str = "logits",
                 **kwargs: Any) -> None:
        kwargs.pop("loss", None)
        if kwargs.get("targeted"):
            raise ConfigError("apgd-t searches target classes itself and is untargeted in its goal; drop targeted")
        super().__init__(threat, loss="dlr", **kwargs)
        if targets is not None and (int(targets) != targets or targets < 1):
            raise ConfigError(f"{self.name}: targets must be an integer >= 1, got {targets}")
        self.targets = None if targets is None else int(targets)
        if rank not in ("logits", "malt"):
            raise ConfigError(f"{self.name}: rank must be logits or malt, got {rank!r}")
        self.rank_by = rank

    def options(self) -> dict[str, Any]:
        return {**super().options(), "targets": self.targets or "min(9, K - 1)", "loss": "dlr-targeted",
                "rank": self.rank_by}

    def loss_target(self, target: torch.Tensor | None) -> torch.Tensor | None:
        return target  # the class this run pulls towards (the goal stays untargeted: any wrong class)

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        if self.rank_by == "malt":
            ranked, logits = self.malt_order(model, x, labels)
        else:
            with torch.no_grad():
                logits = forward(model, x).logits
            ranked = logits.argsort(dim=1, descending=True)
        k = logits.shape[1]
        if k < 4:
            raise ConfigError(f"{self.name} needs at least 4 classes (the targeted DLR loss), the model has {k}")
        # the classes ranked highest after the true class, best first
        others = torch.stack([row[row != y] for row, y in zip(ranked, labels)])
        best = {m: x[m].clone() for m in x}
        done = logits.argmax(1) != labels  # already wrong: left as they are
        for i in range(min(self.targets or 9, k - 1)):
            live = (~done).nonzero()[:, 0]  # each target only on the clips no earlier target fooled
            if not len(live):
                break
            adv = super().perturb(model, {m: x[m][live] for m in x}, labels[live], others[live, i], generator)
            with torch.no_grad():
                fooled = forward(model, adv).logits.argmax(1) != labels[live]
            for m in adv:
                best[m][live] = adv[m]
            done[live] = fooled
        return best

    def malt_order(self, model: nn.Module, x: Inputs, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, K]`` classes by MALT's linearised distance (module docstring), nearest first, the true class
        last; and the clean logits ``[N, K]`` of the same forward pass."""
        mods = [m for m in self.threat.modalities if self.threat.budget(m).eps > 0]
        inputs = {m: x[m].detach().clone().requires_grad_(m in mods) for m in x}
        with torch.enable_grad():
            logits = forward(model, inputs).logits
            k = logits.shape[1]
            grads = [torch.autograd.grad(logits[:, c].sum(), [inputs[m] for m in mods], retain_graph=c < k - 1)
                     for c in range(k)]  # each clip's logits depend on its own inputs only (eval mode)
        rows = torch.arange(len(labels), device=labels.device)
        reach = torch.zeros_like(logits)  # [N, K]: how far the budget moves z_y - z_c, to first order
        for i, m in enumerate(mods):
            g = torch.stack([grads[c][i] for c in range(k)]).flatten(2)  # [K, N, D]
            diff = g[labels, rows] - g  # grad (z_y - z_c) per class c and clip
            budget = self.threat.budget(m)
            reach += budget.eps * (diff.abs().sum(-1) if budget.norm == "linf" else diff.norm(dim=-1)).T
        distance = (logits[rows, labels][:, None] - logits).detach() / reach.clamp_min(1e-12)
        distance[rows, labels] = float("inf")
        return distance.argsort(dim=1), logits.detach()
