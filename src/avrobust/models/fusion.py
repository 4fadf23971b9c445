"""Fusion heads: pooled audio and visual features -> fused and unimodal logits.

Each fusion returns ``(logits, audio_logits, visual_logits)``, all ``[N, K]``. The unimodal logits
are the ``p_a``, ``p_v`` the Modality Misalignment Attack needs (see PAPER.md):
* ``sum``: one linear head per modality, ``logits = head_a(f_a) + head_v(f_v)``.
* ``concat``: one linear layer on ``[f_a; f_v]``; its weight splits into ``W_a``, ``W_v`` and
  ``audio_logits = W_a f_a + b / 2``, ``visual_logits = W_v f_v + b / 2`` (so they sum to ``logits``).
New fusions register in ``FUSIONS`` with the signature ``(audio_dim, visual_dim, num_classes, dropout)``.
Linear fusions also give ``modality_weights() -> (W_a [K, Da], W_v [K, Dv], b_a [K], b_v [K])``, views
of their parameters with ``audio_logits = W_a f_a + b_a`` (CRMT re-weights the rows of W_a, W_v).
"""

from __future__ import annotations

import torch
from torch import nn

from avrobust.registry import Registry

FUSIONS: Registry[nn.Module] = Registry("fusion")
FusionOut = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
ModalityWeights = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@FUSIONS.register("sum")
class SumFusion(nn.Module):
    """Sum of per-modality linear heads."""

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.audio_head = nn.Linear(audio_dim, num_classes)
        self.visual_head = nn.Linear(visual_dim, num_classes)

    def forward(self, fa: torch.Tensor, fv: torch.Tensor) -> FusionOut:
        la = self.audio_head(self.drop(fa))
        lv = self.visual_head(self.drop(fv))
        return la + lv, la, lv

    def modality_weights(self) -> ModalityWeights:
        return self.audio_head.weight, self.visual_head.weight, self.audio_head.bias, self.visual_head.bias


@FUSIONS.register("concat")
class ConcatFusion(nn.Module):
    """One linear layer on the concatenated features; unimodal logits from its weight blocks."""

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.audio_dim = audio_dim
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(audio_dim + visual_dim, num_classes)

    def forward(self, fa: torch.Tensor, fv: torch.Tensor) -> FusionOut:
        fa, fv = self.drop(fa), self.drop(fv)
        w_a, w_v = self.fc.weight[:, : self.audio_dim], self.fc.weight[:, self.audio_dim :]
        half_bias = self.fc.bias / 2
        la = fa @ w_a.t() + half_bias
        lv = fv @ w_v.t() + half_bias
        return la + lv, la, lv

    def modality_weights(self) -> ModalityWeights:
        half_bias = self.fc.bias / 2
        return self.fc.weight[:, : self.audio_dim], self.fc.weight[:, self.audio_dim :], half_bias, half_bias
