"""CRMT-AT: Certifiable Robust Multi-modal Training with adversarial examples.

Yang, Wei, Liang, Hu, "Quantifying and Enhancing Multi-modal Robustness with Modality Preference",
ICLR 2024, https://arxiv.org/abs/2402.06244 (as PAPER.md summarises it).

Stage 1 (every epoch): craft with a few-step PGD on both modalities, then minimise
``CE(fused) + margin_weight * L_margin + orth_weight * L_orth`` where
``L_margin = mean log sum_m sum_{k != y} exp(z^m_k - z^m_y)`` enlarges the unimodal margins and
``L_orth`` pushes the rows (class directions) of each modality's classifier weight towards an
orthonormal set. The original makes the weights orthogonal by construction (an orthogonal layer);
our zoo's fusion heads are fixed, so a soft penalty stands in for it (our decision).

Stage 2 (after the last epoch, :meth:`CRMTAT.finish`): estimate per modality and class the
Lipschitz constant ``L^m_k = max ||d z_k / d x_m||_2`` over training clips, then learn per-class
modality weights ``a^m`` that raise the certified bound
``(sum_m a^m_y z^m_y - a^m_j z^m_j + b_y - b_j) / sqrt(sum_m (a^m_y L^m_y + a^m_j L^m_j)^2)``
(``j`` the runner-up class), with the unimodal logits fixed; the weights are folded into the rows
of ``W_a``, ``W_v`` so the model keeps its architecture. The steps use minibatches, so when they end
with a lower bound over all training clips than they started from, the weights stay at 1.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.attacks.threat import ThreatModel
from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.distributed import unwrap
from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput, eval_mode
from avrobust.types import AVBatch


def margin_loss(out: AVOutput, labels: torch.Tensor) -> torch.Tensor:
    """``mean log sum_{m, k != y} exp(z^m_k - z^m_y)`` over the audio and visual logits (stable)."""
    terms = []
    for z in (out.audio_logits, out.visual_logits):
        diff = z - z.gather(1, labels[:, None])
        terms.append(diff.masked_fill(F.one_hot(labels, z.shape[1]).bool(), float("-inf")))
    return torch.logsumexp(torch.cat(terms, dim=1), dim=1).mean()


def orthogonality_penalty(weights: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean squared off-diagonal cosine between the class rows of each weight ``[K, D]``."""
    total = weights[0].new_zeros(())
    for w in weights:
        rows = F.normalize(w, dim=1)
        gram = rows @ rows.t()
        k = gram.shape[0]
        total = total + (gram - torch.eye(k, device=gram.device)).square().sum() / max(k * (k - 1), 1)
    return total


def certified_bound(a: tuple[torch.Tensor, torch.Tensor], z: tuple[torch.Tensor, torch.Tensor], bias: torch.Tensor,
                    lip: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-clip certified-radius proxy ``[N]`` for modality weights ``a`` (``[K]`` each), unimodal
    logits without bias ``z`` (``[N, K]`` each), total bias ``[K]`` and Lipschitz constants ``[2, K]``."""
    fused = a[0] * z[0] + a[1] * z[1] + bias
    runner_up = fused.masked_fill(F.one_hot(labels, fused.shape[1]).bool(), float("-inf")).argmax(1)
    rows = torch.arange(len(labels))
    numer = bias[labels] - bias[runner_up]
    denom = fused.new_zeros(len(labels))
    for m in range(2):
        numer = numer + a[m][labels] * z[m][rows, labels] - a[m][runner_up] * z[m][rows, runner_up]
        denom = denom + (a[m][labels] * lip[m, labels] + a[m][runner_up] * lip[m, runner_up]).square()
    return numer / denom.sqrt().clamp_min(1e-12)


@register_method("crmt-at", aliases=("crmt",))
class CRMTAT(AdversarialMethod):
    """CRMT with adversarial training (see the module docstring).

    Args:
        steps: PGD steps of the crafting (default 5, the original's few steps).
        margin_weight: weight of the margin term (default 1.0, the original's rho).
        orth_weight: weight of the orthogonality penalty (default 1.0, ours).
        reweight_steps: optimisation steps of stage 2 (0 skips it; default 200).
        reweight_lr: its SGD learning rate (momentum 0.9, weight decay 1e-2 as the original).
        lipschitz_clips: training clips used to estimate the Lipschitz constants (default 256).
        unimodal_weight: extra unimodal cross-entropy (default 0: the original has none).
    """

    rank = 30

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"crmt-at": f"crmt-at:steps={steps}"}

    native_only = True  # stage 2 re-weights the zoo's fusion layer
    late_fusion_only = True  # its Lipschitz bound takes audio_logits as a function of the audio alone

    def __init__(self, threat: ThreatModel | None = None, *, steps: int = 5, margin_weight: float = 1.0,
                 orth_weight: float = 1.0, reweight_steps: int = 200, reweight_lr: float = 0.01,
                 lipschitz_clips: int = 256, unimodal_weight: float = 0.0) -> None:
        super().__init__(threat, attack="pgd", steps=steps, unimodal_weight=unimodal_weight)
        for key, value in (("margin_weight", margin_weight), ("orth_weight", orth_weight),
                           ("reweight_steps", reweight_steps), ("reweight_lr", reweight_lr)):
            if not value >= 0:
                raise ConfigError(f"crmt-at: {key} must be >= 0, got {value}")
        if int(lipschitz_clips) != lipschitz_clips or lipschitz_clips < 1:
            raise ConfigError(f"crmt-at: lipschitz_clips must be an integer >= 1, got {lipschitz_clips}")
        self.margin_weight, self.orth_weight = float(margin_weight), float(orth_weight)
        self.reweight_steps, self.reweight_lr = int(reweight_steps), float(reweight_lr)
        self.lipschitz_clips = int(lipschitz_clips)

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        adv = self.craft(model, batch, labels)
        out = model(adv.video, adv.audio)
        loss = F.cross_entropy(out.logits, labels) + self.margin_weight * margin_loss(out, labels)
        if self.orth_weight:
            w_a, w_v, _, _ = unwrap(model).fusion.modality_weights()
            loss = loss + self.orth_weight * orthogonality_penalty((w_a, w_v))
        if self.unimodal_weight:
            loss = loss + self.unimodal_weight * (F.cross_entropy(out.audio_logits, labels)
                                                  + F.cross_entropy(out.visual_logits, labels))
        return loss

    def lipschitz(self, model: nn.Module, train_set: Any, device: torch.device) -> torch.Tensor:
        """``[2, K]``: max over clips of ``||d z_k / d x_m||_2`` for m = audio, video."""
        k = model.config.num_classes
        lip = torch.zeros(2, k)
        idx = torch.arange(min(self.lipschitz_clips, len(train_set)))
        with eval_mode(model):
            for batch, _ in train_set.batches(32, indices=idx):
                batch = batch.to(device)
                audio = batch.audio.clone().requires_grad_(True)
                video = batch.video.clone().requires_grad_(True)
                logits = model(video, audio).logits
                for c in range(k):
                    g_a, g_v = torch.autograd.grad(logits[:, c].sum(), [audio, video], retain_graph=c < k - 1)
                    lip[0, c] = max(lip[0, c], float(g_a.flatten(1).norm(dim=1).max()))
                    lip[1, c] = max(lip[1, c], float(g_v.flatten(1).norm(dim=1).max()))
        return lip.to(device)

    def finish(self, model: nn.Module, train_set: Any, device: torch.device) -> dict[str, Any]:
        if not self.reweight_steps:
            return {}
        lip = self.lipschitz(model, train_set, device)
        w_a, w_v, b_a, b_v = model.fusion.modality_weights()
        bias = (b_a + b_v).detach()
        z_a, z_v, labels = [], [], []
        with eval_mode(model), torch.no_grad():
            for batch, y in train_set.batches(128):
                out = model(*(t.to(device) for t in (batch.video, batch.audio)))
                z_a.append(out.audio_logits - b_a)
                z_v.append(out.visual_logits - b_v)
                labels.append(y.to(device))
        z = (torch.cat(z_a), torch.cat(z_v))
        y = torch.cat(labels)
        a = (torch.ones_like(bias, requires_grad=True), torch.ones_like(bias, requires_grad=True))
        optimizer = torch.optim.SGD(a, lr=self.reweight_lr, momentum=0.9, weight_decay=1e-2)
        with torch.no_grad():
            before = float(certified_bound(a, z, bias, lip, y).mean())
        order = torch.randperm(len(y), generator=self._cpu).to(y.device)
        for step in range(self.reweight_steps):
            sel = order[(step * 64) % len(y):][:64]
            optimizer.zero_grad()
            (-certified_bound(a, (z[0][sel], z[1][sel]), bias, lip, y[sel]).mean()).backward()
            optimizer.step()
            with torch.no_grad():
                for t in a:
                    t.clamp_(min=1e-3)
        with torch.no_grad():
            after = float(certified_bound(a, z, bias, lip, y).mean())
            if after < before:  # minibatch steps can lower the full-data bound: then keep the weights as they are
                a = (torch.ones_like(bias), torch.ones_like(bias))
                after = before
            w_a.mul_(a[0][:, None])
            w_v.mul_(a[1][:, None])
        return {"crmt_bound_before": before, "crmt_bound_after": after,
                "crmt_lipschitz": lip.tolist(), "crmt_a_audio": a[0].detach().tolist(),
                "crmt_a_visual": a[1].detach().tolist()}

    def options(self) -> dict[str, Any]:
        return {**super().options(), "margin_weight": self.margin_weight, "orth_weight": self.orth_weight,
                "reweight_steps": self.reweight_steps, "reweight_lr": self.reweight_lr,
                "lipschitz_clips": self.lipschitz_clips}
