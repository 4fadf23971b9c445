"""What the pretrained backbones share (:class:`Backbone`: a ``net``, dropout, ``out_dim``, ``blocks()``), and
the per-frame image backbones: a pretrained ``net`` whose ``embed`` maps frames to features."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn


class Backbone(nn.Module):
    """A pretrained network ``net`` inside an encoder, dropout on its features, their width ``out_dim``."""

    weights: ClassVar[str]  # the fetched weights loaded into ``net`` by a pretrained zoo model

    def __init__(self, net: nn.Module, dropout: float, out_dim: int) -> None:
        super().__init__()
        self.net = net
        self.drop = nn.Dropout(dropout)
        self.out_dim = out_dim

    def blocks(self) -> list[nn.Module]:
        """The backbone's blocks in order (``--trainable-blocks K`` trains the last K)."""
        raise NotImplementedError


class FrameBackbone(Backbone):
    """Per-frame features ``[N, out_dim]`` of a pretrained image network ``net`` (its ``embed``), then dropout.

    Subclasses name their weights (``weights``, loaded into ``net`` by a pretrained zoo model), the
    normalisation the classifier applies to frames in [0, 1] (``mean``, ``std``) and their ``blocks()``.
    """

    mean: ClassVar[tuple[float, float, float]]
    std: ClassVar[tuple[float, float, float]]

    def __init__(self, net: nn.Module, dropout: float, out_dim: int = 1280) -> None:
        super().__init__(net, dropout, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.net.embed(x))
