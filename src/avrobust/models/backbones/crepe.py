"""CREPE (Kim et al., ICASSP 2018): a convolutional network over raw 16 kHz waveform frames of 1024
samples, trained to estimate pitch, in torchcrepe's layout (``conv1`` ... ``conv6`` with their ``_BN``,
``classifier``); and the audio encoders ``crepe-tiny`` and ``crepe-full`` over it.

Each frame is normalised to zero mean and unit standard deviation, as CREPE does; an encoder takes
``frames_per_segment`` frames centred in every aligned segment and averages their conv6 features.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.models.encoders import AUDIO_ENCODERS

SAMPLE_RATE, FRAME = 16000, 1024
CAPACITY = {"tiny": ([1, 128, 16, 16, 16, 32], [128, 16, 16, 16, 32, 64]),
            "full": ([1, 1024, 128, 128, 128, 256], [1024, 128, 128, 128, 256, 512])}


class CREPE(nn.Module):
    """The network of one capacity (``tiny`` or ``full``): six conv blocks, ``classifier`` over 360 pitch bins."""

    def __init__(self, capacity: str = "tiny") -> None:
        super().__init__()
        cins, couts = CAPACITY[capacity]
        for i, (cin, cout) in enumerate(zip(cins, couts), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, (512, 1) if i == 1 else (64, 1), (4, 1) if i == 1 else (1, 1)))
            setattr(self, f"conv{i}_BN", nn.BatchNorm2d(cout, eps=0.0010000000474974513, momentum=0.0))
        self.in_features = couts[-1] * 4
        self.classifier = nn.Linear(self.in_features, 360)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalised frames ``[B, 1024]`` -> features ``[B, in_features]`` (the conv6 output, flattened)."""
        x = frames[:, None, :, None]
        for i in range(1, 7):
            x = F.pad(x, (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32))
            x = getattr(self, f"conv{i}_BN")(F.relu(getattr(self, f"conv{i}")(x)))
            x = F.max_pool2d(x, (2, 1), (2, 1))
        return x.permute(0, 2, 1, 3).reshape(-1, self.in_features)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Pitch-bin probabilities ``[B, 360]`` (a sigmoid each)."""
        return torch.sigmoid(self.classifier(self.embed(frames)))


def normalise(frames: torch.Tensor) -> torch.Tensor:
    """Each frame to zero mean and unit standard deviation (CREPE's own step)."""
    frames = frames - frames.mean(dim=1, keepdim=True)
    return frames / frames.std(dim=1, keepdim=True).clamp_min(1e-10)


class _AudioCREPE(nn.Module):
    """CREPE features per aligned segment: ``frames_per_segment`` frames centred in each segment."""

    capacity: ClassVar[str] = "tiny"
    takes_waveform: ClassVar[bool] = True
    sample_rate: ClassVar[int] = SAMPLE_RATE

    def __init__(self, width: int = 0, dropout: float = 0.0, frames_per_segment: int = 4) -> None:
        super().__init__()
        self.net = CREPE(self.capacity)
        self.frames_per_segment = frames_per_segment
        self.drop = nn.Dropout(dropout)
        self.out_dim = self.net.in_features

    def blocks(self) -> list[nn.Module]:
        return [nn.ModuleList([getattr(self.net, f"conv{i}"), getattr(self.net, f"conv{i}_BN")]) for i in range(1, 7)]

    def forward(self, audio: torch.Tensor, segments: int) -> torch.Tensor:
        n, length = audio.shape
        k = self.frames_per_segment
        hop = length / (segments * k)
        centres = ((torch.arange(segments * k, device=audio.device) + 0.5) * hop).round().long() + FRAME // 2
        padded = F.pad(audio, (FRAME // 2, FRAME // 2))
        index = centres[:, None] - FRAME // 2 + torch.arange(FRAME, device=audio.device)  # [T k, 1024]
        frames = normalise(padded[:, index].reshape(-1, FRAME))
        features = self.net.embed(frames).view(n, segments, k, -1).mean(dim=2)
        return self.drop(features)


@AUDIO_ENCODERS.register("crepe-tiny")
class AudioCREPETiny(_AudioCREPE):
    """CREPE tiny's conv6 features (256) per aligned segment; 16 kHz audio; ``width`` unused."""

    weights: ClassVar[str] = "crepe-tiny"
    capacity: ClassVar[str] = "tiny"


@AUDIO_ENCODERS.register("crepe-full")
class AudioCREPEFull(_AudioCREPE):
    """CREPE full's conv6 features (2048) per aligned segment; 16 kHz audio; ``width`` unused."""

    weights: ClassVar[str] = "crepe-full"
    capacity: ClassVar[str] = "full"
