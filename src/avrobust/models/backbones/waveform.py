"""What the audio backbones over the raw waveform share: a pretrained ``net`` (and its front end) whose
features ``[N, C, L']`` are pooled to one per aligned segment, then dropout."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch.nn import functional as F

from avrobust.models.backbones.frames import Backbone


class WaveformBackbone(Backbone):
    """An audio encoder over the waveform at ``sample_rate`` (its front end inside, so budgets stay in raw
    units). Subclasses name their weights, their ``blocks()`` and a ``forward(audio, segments)`` that ends
    in :meth:`per_segment`."""

    takes_waveform: ClassVar[bool] = True
    sample_rate: ClassVar[int]

    def per_segment(self, features: torch.Tensor, segments: int) -> torch.Tensor:
        """``[N, C, L']`` -> ``[N, segments, C]`` by average pooling over time, then dropout."""
        return self.drop(F.adaptive_avg_pool1d(features, segments).transpose(1, 2))
