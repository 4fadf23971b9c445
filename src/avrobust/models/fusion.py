"""Fusion: per-segment audio and visual features -> fused and unimodal logits.

A fusion takes the encoders' per-segment features, audio ``[N, T, Da]`` and visual ``[N, T, Dv]``, and
returns ``(logits, audio_logits, visual_logits, audio_tokens, visual_tokens)``: logits ``[N, K]`` and the
per-segment features the heads read, ``[N, T, D'a]`` and ``[N, T, D'v]`` (the Temporal Invariance Attack
reads them). The unimodal logits are the ``p_a``, ``p_v`` the Modality Misalignment Attack needs
(see PAPER.md).

Late fusions (``late = True``) pool over T first, so each modality's logits depend on its input alone:
* ``sum``: one linear head per modality, ``logits = head_a(f_a) + head_v(f_v)``.
* ``concat``: one linear layer on ``[f_a; f_v]``; its weight splits into ``W_a``, ``W_v`` and
  ``audio_logits = W_a f_a + b / 2``, ``visual_logits = W_v f_v + b / 2`` (so they sum to ``logits``).
Attention fusions (:mod:`avrobust.models.attention_fusion`, ``late = False``) let the tokens of one
modality reach the other's before the heads read them.

New fusions register in ``FUSIONS`` with the signature ``(audio_dim, visual_dim, num_classes, dropout)``.
Fusions with linear heads also give ``modality_weights() -> (W_a [K, D'a], W_v [K, D'v], b_a [K], b_v [K])``,
views of their parameters with ``audio_logits = W_a mean_T(audio_tokens) + b_a`` (CRMT re-weights the rows).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from avrobust.registry import Registry

FUSIONS: Registry[nn.Module] = Registry("fusion")
#: (logits [N, K], audio_logits [N, K], visual_logits [N, K], audio_tokens [N, T, D'a], visual_tokens [N, T, D'v])
FusionOut = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
ModalityWeights = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@FUSIONS.register("sum")
class SumFusion(nn.Module):
    """Sum of per-modality linear heads on the time-averaged features (late fusion)."""

    late: ClassVar[bool] = True

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.audio_head = nn.Linear(audio_dim, num_classes)
        self.visual_head = nn.Linear(visual_dim, num_classes)

    def forward(self, fa: torch.Tensor, fv: torch.Tensor) -> FusionOut:
        la = self.audio_head(self.drop(fa.mean(dim=1)))
        lv = self.visual_head(self.drop(fv.mean(dim=1)))
        return la + lv, la, lv, fa, fv

    def modality_weights(self) -> ModalityWeights:
        return self.audio_head.weight, self.visual_head.weight, self.audio_head.bias, self.visual_head.bias


@FUSIONS.register("concat")
class ConcatFusion(nn.Module):
    """One linear layer on the concatenated time-averaged features; unimodal logits from its weight blocks."""

    late: ClassVar[bool] = True

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.audio_dim = audio_dim
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(audio_dim + visual_dim, num_classes)

    def forward(self, fa: torch.Tensor, fv: torch.Tensor) -> FusionOut:
        pa, pv = self.drop(fa.mean(dim=1)), self.drop(fv.mean(dim=1))
        w_a, w_v, b_a, b_v = self.modality_weights()
        la = pa @ w_a.t() + b_a
        lv = pv @ w_v.t() + b_v
        return la + lv, la, lv, fa, fv

    def modality_weights(self) -> ModalityWeights:
        half_bias = self.fc.bias / 2
        return self.fc.weight[:, : self.audio_dim], self.fc.weight[:, self.audio_dim :], half_bias, half_bias


def is_late(model: nn.Module) -> bool:
    """Whether ``model``'s fusion keeps each modality's logits a function of that modality alone (True for
    a model without an avrobust fusion layer: nothing is known, and the caller decides)."""
    return bool(getattr(getattr(model, "fusion", None), "late", True))
