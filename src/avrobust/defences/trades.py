"""TRADES: Zhang et al., "Theoretically Principled Trade-off between Robustness and Accuracy",
ICML 2019, https://arxiv.org/abs/1901.08573 . ``CE(f(x), y) + beta * KL(f(x) || f(x'))``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.attacks.iterative import IterativeAttack
from avrobust.attacks.threat import Budget, Inputs, ThreatModel, project
from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.defences.standard import supervised_loss
from avrobust.distributed import unwrap
from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput, eval_mode
from avrobust.types import AVBatch


class _TradesKL(IterativeAttack):
    """TRADES' inner maximisation: ``KL(p(x) || p(x'))`` from ``x + 0.001 N(0, 1)``, PGD steps."""

    name = "trades-kl"

    def __init__(self, threat: ThreatModel, clean_logits: torch.Tensor, *, steps: int, seed: int = 0) -> None:
        super().__init__(threat, steps=steps, seed=seed)
        self.clean_log_probs = clean_logits.detach().log_softmax(-1)

    def default_step(self, budget: Budget) -> float:
        return 2.5 * budget.eps / self.steps

    def start(self, x: Inputs, generator: torch.Generator) -> Inputs:
        out = dict(x)
        for m in self.threat.modalities:
            noise = 0.001 * torch.randn(x[m].shape, generator=generator, device=x[m].device, dtype=x[m].dtype)
            out[m] = project(x[m] + noise, x[m], self.threat.budget(m))
        return out

    def objective(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return F.kl_div(out.logits.log_softmax(-1), self.clean_log_probs, reduction="batchmean", log_target=True)


def trades_objective(model: nn.Module, batch: AVBatch, adv: AVBatch, labels: torch.Tensor, beta: float,
                     unimodal_weight: float) -> torch.Tensor:
    """``CE(f(x), y) + unimodal terms + beta * KL(f(x) || f(x'))``; clean and adversarial clips go through
    the model in one forward pass (batch-norm statistics of both; one pass per update, as DDP needs)."""
    both = model(torch.cat([batch.video, adv.video]), torch.cat([batch.audio, adv.audio]))
    out = both.take(batch.size)
    robust = F.kl_div(both.logits[batch.size:].log_softmax(-1), out.logits.log_softmax(-1), reduction="batchmean",
                      log_target=True)
    return supervised_loss(out, labels, unimodal_weight) + beta * robust


@register_method("trades")
class TRADES(AdversarialMethod):
    """Zhang et al. (ICML 2019): ``CE(f(x), y) + beta * KL(f(x) || f(x'))``, ``x'`` maximising the KL.

    Clean and adversarial clips go through the model in one forward pass (batch-norm statistics of
    both together; one pass per update, as DistributedDataParallel requires).

    Args:
        beta: trade-off (default 6.0, the paper's CIFAR-10 value); steps: inner PGD steps (10).
        The unimodal cross-entropy terms (``unimodal_weight``) are on the clean clip.
    """

    rank = 20

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"trades": f"trades:steps={steps}"}

    def __init__(self, threat: ThreatModel | None = None, *, beta: float = 6.0, steps: int = 10,
                 unimodal_weight: float = 1.0) -> None:
        super().__init__(threat, steps=steps, unimodal_weight=unimodal_weight)
        if not beta >= 0:
            raise ConfigError(f"trades: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        inner = unwrap(model)
        with eval_mode(inner), torch.no_grad():
            clean_logits = inner(batch.video, batch.audio).logits
        attack = _TradesKL(self.threat, clean_logits, steps=self.steps)
        adv = attack(inner, batch, labels, generator=self.device_generator(batch.video.device))
        return trades_objective(model, batch, adv, labels, self.beta, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "steps": self.steps, "beta": self.beta,
                "unimodal_weight": self.unimodal_weight}
