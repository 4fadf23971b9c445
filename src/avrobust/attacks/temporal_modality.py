"""The paper's attacks: TIA, MMA and their combination TMA.

Zhang, Liang, Shimada, Xu, "Rethinking Audio-Visual Adversarial Vulnerability from Temporal and
Modality Perspectives", ICLR 2025, https://arxiv.org/abs/2502.11858 (Eqs. 2-4).

Objective maximised with MI-FGSM momentum per modality (Eq. 4):
``CE(p_av, y) - lambda1 * L_T - lambda2 * L_M``, averaged over ``copies`` randomly transformed
versions of the input (one transformation from ``transforms`` per copy).

* ``L_T`` (temporal variation, our normalised reading of Eq. 2): for each modality,
  ``mean_t ||phi_t - mean_t phi_t||^2 / (mean_t ||phi_t||^2 + 1e-8)`` over the per-segment features,
  summed over the two modalities. Minimising it targets temporally consistent features (the paper's
  choice; ``maximize_temporal=True`` is the authors' ablation).
* ``L_M`` (modality agreement, Eq. 3 read as a cosine similarity since the printed formula is
  ill-formed): ``cos(softmax(p_a), softmax(p_v))``, or of the pooled features with
  ``alignment="features"`` (needs equal audio and visual feature sizes).

The paper does not report lambda1, lambda2: the defaults (1.0) are ours and exposed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.attacks.base import forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.mifgsm import MIFGSM
from avrobust.attacks.threat import Inputs, ThreatModel
from avrobust.attacks.transforms import MASK_RATIO, TRANSFORMS, parse_transforms, temporal_mask
from avrobust.errors import ConfigError, InputError
from avrobust.models.classifier import AVOutput
from avrobust.runtime import caching_allocator

ALIGNMENTS = ("predictions", "features")


def temporal_variation(features: torch.Tensor) -> torch.Tensor:
    """Normalised variation of per-segment features ``[N, T, D]`` over time, ``[N]`` (0 if T = 1)."""
    centred = features - features.mean(dim=1, keepdim=True)
    return centred.square().sum(-1).mean(1) / (features.square().sum(-1).mean(1) + 1e-8)


def modality_agreement(out: AVOutput, alignment: str = "predictions") -> torch.Tensor:
    """Cosine similarity of the audio-only and visual-only predictions (or pooled features), ``[N]``."""
    if alignment == "features":
        fa, fv = out.audio_features.mean(1), out.visual_features.mean(1)
        if fa.shape[-1] != fv.shape[-1]:
            raise InputError(f"alignment='features' needs equal feature sizes; the model has audio "
                             f"{fa.shape[-1]} and visual {fv.shape[-1]}; use alignment='predictions'")
        return F.cosine_similarity(fa, fv, dim=-1)
    return F.cosine_similarity(out.audio_logits.softmax(-1), out.visual_logits.softmax(-1), dim=-1)


@register_attack("tma")
class TMA(MIFGSM):
    """Temporal-Modality Attack: ``CE - lambda1 L_T - lambda2 L_M`` with transformations.

    Args:
        lambda1: weight of the temporal term (>= 0); lambda2: weight of the modality term (>= 0).
        transforms: ``"mask+scale+blur+mixup"`` (TMA's and TIA's default), a subset, or ``"none"``/``None``.
        copies: transformed copies per step (>= 1; with no transformations one plain copy).
        mask_ratio: share of segments the ``mask`` transformation drops (default 0.25).
        mask_synchronous: drop the same segments in both modalities (default) or draw them apart.
        maximize_temporal: flip the sign of L_T (the authors' ablation).
        alignment: ``predictions`` (default) or ``features`` for L_M.
        batch_copies: run the copies in one batched pass (same result); ``None`` (default): when
            the allocator caches freed buffers (CUDA, or glibc tuned by the CLI), where it was faster.
        decay: momentum mu. Other arguments as MI-FGSM (default 10 steps, step eps / steps).
    """

    rank = 130
    traits = frozenset({"transfer", "paper"})
    defaults = {"transfer": ("",), "defence": ("",), "ablation": ("",), "demo": ("",), "modality": ("",), "alignment": ("",), "iterations": ("",), "eps": ("",)}

    default_lambda1, default_lambda2, default_transforms = 1.0, 1.0, "mask+scale+blur+mixup"

    def __init__(self, threat: ThreatModel | None = None, *, lambda1: float | None = None,
                 lambda2: float | None = None, transforms: str | tuple[str, ...] | None = "default", copies: int = 4,
                 mask_ratio: float = MASK_RATIO, mask_synchronous: bool = True,
                 maximize_temporal: bool = False, alignment: str = "predictions", batch_copies: bool | None = None,
                 **kwargs: Any) -> None:
        super().__init__(threat, **kwargs)
        self.lambda1 = self.default_lambda1 if lambda1 is None else float(lambda1)
        self.lambda2 = self.default_lambda2 if lambda2 is None else float(lambda2)
        if self.lambda1 < 0 or self.lambda2 < 0:
            raise ConfigError(f"{self.name}: lambda1 and lambda2 must be >= 0, got {self.lambda1}, {self.lambda2}")
        # "default": the class's pool; None (a spec's "transforms=none" parses to None) or "none": no transformation
        self.transforms = parse_transforms(self.default_transforms if transforms == "default" else transforms)
        if int(copies) != copies or copies < 1:
            raise ConfigError(f"{self.name}: copies must be an integer >= 1, got {copies}")
        if alignment not in ALIGNMENTS:
            raise ConfigError(f"{self.name}: unknown alignment {alignment!r}; valid: {', '.join(ALIGNMENTS)}")
        self.copies = int(copies) if self.transforms else 1
        if not 0 <= mask_ratio <= 1:
            raise ConfigError(f"{self.name}: mask_ratio must lie in [0, 1], got {mask_ratio}")
        self.mask_ratio, self.mask_synchronous = float(mask_ratio), bool(mask_synchronous)
        self._pool = {name: TRANSFORMS[name] for name in self.transforms}
        if "mask" in self._pool:
            self._pool["mask"] = partial(temporal_mask, ratio=self.mask_ratio, synchronous=self.mask_synchronous)
        self.maximize_temporal, self.alignment = bool(maximize_temporal), alignment
        self.batch_copies = None if batch_copies is None else bool(batch_copies)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "lambda1": self.lambda1, "lambda2": self.lambda2,
                "transforms": list(self.transforms), "copies": self.copies,
                "mask_ratio": self.mask_ratio, "mask_synchronous": self.mask_synchronous,
                "maximize_temporal": self.maximize_temporal, "alignment": self.alignment}

    def terms(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The batch means of the three terms: ``ce`` (or the chosen loss), ``temporal``, ``modality``."""
        terms = {"ce": self.loss_fn(out, labels, target if self.targeted else None).mean()}
        if self.lambda1:
            terms["temporal"] = (temporal_variation(out.audio_features) + temporal_variation(out.visual_features)).mean()
        if self.lambda2:
            terms["modality"] = modality_agreement(out, self.alignment).mean()
        return terms

    def objective(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        t = self.terms(out, labels, target)
        sign = 1.0 if self.maximize_temporal else -1.0
        value = t["ce"]
        if "temporal" in t:
            value = value + sign * self.lambda1 * t["temporal"]
        if "modality" in t:
            value = value - self.lambda2 * t["modality"]
        return value

    def step_gradient(self, model: nn.Module, adv: Inputs, x: Inputs, labels: torch.Tensor,
                      target: torch.Tensor | None, momentum: Inputs,
                      generator: torch.Generator) -> Inputs:
        if not self.transforms:
            return self.gradient(model, adv, labels, target)
        mods = self.threat.modalities
        batched = caching_allocator(adv["video"].device) if self.batch_copies is None else self.batch_copies
        if batched:  # all copies in one forward/backward pass (the objective's batch mean averages them)
            inp = {m: adv[m].detach().requires_grad_(m in mods) for m in adv}
            copies = [self._transform(inp, generator) for _ in range(self.copies)]
            both = {"video": torch.cat([v for v, _ in copies]), "audio": torch.cat([a for _, a in copies])}
            value = lambda: self.objective(forward(model, both), labels.repeat(self.copies),  # noqa: E731
                                           None if target is None else target.repeat(self.copies))
            return dict(zip(mods, self.input_grads(value, [inp[m] for m in mods])))
        total = {m: torch.zeros_like(adv[m]) for m in mods}
        for _ in range(self.copies):
            inp = {m: adv[m].detach().requires_grad_(m in mods) for m in adv}
            video, audio = self._transform(inp, generator)
            value = lambda v=video, a=audio: self.objective(forward(model, {"video": v, "audio": a}), labels, target)  # noqa: E731
            for m, g in zip(mods, self.input_grads(value, [inp[m] for m in mods])):
                total[m] += g
        return {m: total[m] / self.copies for m in mods}

    def _transform(self, inp: Inputs, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One randomly chosen transformation of the clips (the choice, then its own draws)."""
        name = self.transforms[int(torch.randint(len(self.transforms), (1,), generator=generator, device=generator.device))]
        return self._pool[name](inp["video"], inp["audio"], generator)


@register_attack("tia")
class TIA(TMA):
    """Temporal Invariance Attack: ``CE - lambda1 L_T`` with transformations (lambda2 = 0)."""

    rank = 110
    traits = frozenset({"transfer", "paper"})
    defaults = {"transfer": ("",), "defence": ("",), "iterations": ("",)}

    default_lambda2 = 0.0


@register_attack("mma")
class MMA(TMA):
    """Modality Misalignment Attack: ``CE - lambda2 L_M`` (lambda1 = 0, no transformations)."""

    rank = 120
    traits = frozenset({"transfer", "paper"})
    defaults = {"transfer": ("",), "defence": ("",), "iterations": ("",)}

    default_lambda1, default_transforms = 0.0, "none"
