"""Attention fusions: the tokens of one modality reach the other's before the heads read them.

Both take the encoders' per-segment features (audio ``[N, T, Da]``, visual ``[N, T, Dv]``: one token per
aligned segment and per frame), project them to ``dim``, add a sinusoidal position of the segment (the
same for the audio token and the frame of segment t) and a learnt modality embedding, and run ``layers``
pre-norm transformer layers; the heads then read the time-averaged tokens of each modality, as
:class:`~avrobust.models.fusion.SumFusion` does (``logits = audio_logits + visual_logits``), so p_a and p_v
exist and TIA, MMA and TMA run unchanged. Unlike late fusion, ``visual_logits`` depend on the audio too:
that is what the attention is for, and what an audio-only perturbation can reach.

* ``bottleneck`` (MBT, Nagrani et al. 2021): each modality's layer attends over its own tokens and
  ``bottlenecks`` shared tokens; the shared tokens are then the mean of the two modalities' updates, so
  the modalities exchange information only through them.
* ``xattn``: each modality's tokens attend to the other's (cross-attention), then to their own
  (self-attention), then an MLP, per layer.

Every residual branch's last projection starts at zero (zero-init residuals: Goyal et al. 2017's zero-gamma,
Flamingo's gates at 0), so an untrained fusion is the identity on the projected tokens: the model starts as
a late fusion of its two (possibly pretrained) encoders and learns how much of the other modality to mix in.
Without it, fine-tuning ``PMbY`` (6 epochs at 112 px) stopped at 0.845-0.915 against its sum-fused twin's
0.953 (benchmarks/RESULTS.md, issue 38).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from avrobust.models.fusion import FUSIONS, FusionOut, SumFusion


class Layer(nn.Module):
    """Pre-norm attention and MLP: ``x + attn(LN(x), LN(memory))``, then ``x + MLP(LN(x))``; ``memory``
    None is self-attention. ``x`` ``[N, S, dim]``, ``memory`` ``[N, S', dim]``."""

    def __init__(self, dim: int, heads: int, dropout: float, cross: bool = False) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.memory_norm = nn.LayerNorm(dim) if cross else None
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)
        for last in (self.attn.out_proj, self.mlp[-1]):  # zero-init residuals: the layer starts as the identity
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        q = self.norm(x)
        kv = q if memory is None else self.memory_norm(memory)  # type: ignore[misc]
        x = x + self.drop(self.attn(q, kv, kv, need_weights=False)[0])
        return x + self.drop(self.mlp(self.mlp_norm(x)))


def positions(t: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``[t, dim]`` sinusoidal positions (Vaswani et al. 2017) of segments 0..t-1."""
    pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(t, dim, device=device)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return table.to(dtype)


class TokenFusion(SumFusion):
    """Projection of both modalities' tokens to ``dim``, positions and modality embeddings, the subclass's
    layers (:meth:`mix`), a final norm per modality, and :class:`SumFusion`'s heads on the mean tokens."""

    late: ClassVar[bool] = False

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0,
                 dim: int = 128, heads: int = 4, layers: int = 2) -> None:
        super().__init__(dim, dim, num_classes, dropout)
        self.dim = dim
        self.audio_in, self.visual_in = nn.Linear(audio_dim, dim), nn.Linear(visual_dim, dim)
        self.modality = nn.Parameter(torch.zeros(2, dim))
        nn.init.normal_(self.modality, std=0.02)
        self.audio_norm, self.visual_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def mix(self, a: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def mixing_parameters(self) -> list[nn.Parameter]:
        """The parameters that mix the modalities (attention layers, bottleneck tokens): what a late fusion
        lacks, and what ``fusion_lr`` trains at its own rate (:func:`~avrobust.models.finetune.parameter_groups`)."""
        own = {id(p) for m in (self.audio_in, self.visual_in, self.audio_norm, self.visual_norm,
                               self.audio_head, self.visual_head) for p in m.parameters()} | {id(self.modality)}
        return [p for p in self.parameters() if id(p) not in own]

    def forward(self, fa: torch.Tensor, fv: torch.Tensor) -> FusionOut:
        where = positions(fa.shape[1], self.dim, fa.device, fa.dtype)  # one per aligned segment, both streams
        a = self.audio_in(fa) + where + self.modality[0]
        v = self.visual_in(fv) + where[: fv.shape[1]] + self.modality[1]
        a, v = self.mix(a, v)
        return super().forward(self.audio_norm(a), self.visual_norm(v))


@FUSIONS.register("bottleneck")
class BottleneckFusion(TokenFusion):
    """MBT's bottleneck fusion: per layer, each modality attends over its tokens and the shared bottleneck
    tokens; the bottleneck becomes the mean of the two modalities' updates of it."""

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0,
                 dim: int = 128, heads: int = 4, layers: int = 2, bottlenecks: int = 4) -> None:
        super().__init__(audio_dim, visual_dim, num_classes, dropout, dim, heads, layers)
        self.bottleneck = nn.Parameter(torch.zeros(1, bottlenecks, dim))
        nn.init.normal_(self.bottleneck, std=0.02)
        self.audio_layers = nn.ModuleList(Layer(dim, heads, dropout) for _ in range(layers))
        self.visual_layers = nn.ModuleList(Layer(dim, heads, dropout) for _ in range(layers))

    def mix(self, a: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = self.bottleneck.expand(a.shape[0], -1, -1)
        ta, tv = a.shape[1], v.shape[1]
        for audio_layer, visual_layer in zip(self.audio_layers, self.visual_layers, strict=True):
            a_out = audio_layer(torch.cat([a, b], dim=1))
            v_out = visual_layer(torch.cat([v, b], dim=1))
            a, v, b = a_out[:, :ta], v_out[:, :tv], (a_out[:, ta:] + v_out[:, tv:]) / 2
        return a, v


@FUSIONS.register("xattn")
class CrossAttentionFusion(TokenFusion):
    """Per layer: each modality's tokens attend to the other's (both from the layer's input), then to their
    own, then an MLP."""

    def __init__(self, audio_dim: int, visual_dim: int, num_classes: int, dropout: float = 0.0,
                 dim: int = 128, heads: int = 4, layers: int = 2) -> None:
        super().__init__(audio_dim, visual_dim, num_classes, dropout, dim, heads, layers)
        self.audio_cross = nn.ModuleList(Layer(dim, heads, dropout, cross=True) for _ in range(layers))
        self.visual_cross = nn.ModuleList(Layer(dim, heads, dropout, cross=True) for _ in range(layers))
        self.audio_self = nn.ModuleList(Layer(dim, heads, dropout) for _ in range(layers))
        self.visual_self = nn.ModuleList(Layer(dim, heads, dropout) for _ in range(layers))

    def mix(self, a: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i in range(len(self.audio_cross)):
            a, v = self.audio_cross[i](a, v), self.visual_cross[i](v, a)
            a, v = self.audio_self[i](a), self.visual_self[i](v)
        return a, v
