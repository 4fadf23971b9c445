"""A canary for gradient masking: a classifier behind a non-differentiable input quantisation.

``Quantised(model)`` rounds the frames to steps of ``video_step`` (1/1000) and the waveform to steps of
``audio_step`` (1/4000) before ``model``: the same function to a fraction of the budgets (8/255 and
0.01), but every input gradient is exactly zero (rounding has zero derivative almost everywhere), so
gradient attacks stall while the scores still guide a score-based attack. Bit-depth reduction was
proposed as a defence (Xu et al., "Feature squeezing", NDSS 2018) and broken by attacks that do not
trust its gradients (Athalye et al., ICML 2018). A robustness evaluation that does not flag this model
is not to be trusted; the benchmark's tests and benchmarks/RESULTS.md (issue 29) run it.
"""

from __future__ import annotations

import torch
from torch import nn

from avrobust.models.interface import AVModel, AVOutputLike
from avrobust.types import AVBatch


class Quantised(nn.Module):
    """``model`` behind input rounding (see the module docstring); steps in input units."""

    def __init__(self, model: AVModel, video_step: float = 1e-3, audio_step: float = 2.5e-4) -> None:
        super().__init__()
        self.model = model
        self.video_step, self.audio_step = video_step, audio_step
        self.config = model.config

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> AVOutputLike:
        return self.model(torch.round(video / self.video_step) * self.video_step,
                          torch.round(audio / self.audio_step) * self.audio_step)

    def check_batch(self, batch: AVBatch) -> None:
        self.model.check_batch(batch)

    @property
    def unimodal_definition(self) -> str | None:
        return self.model.unimodal_definition
