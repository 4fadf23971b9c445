"""YAMNet (Plakal and Ellis, Google 2019): MobileNetV1 over log-mel patches of 16 kHz audio, trained on
AudioSet's 521 classes; its front end in torch, differentiable from the waveform, and the audio encoder
``yamnet`` over it.

Front end (YAMNet's own): a periodic Hann window of 400 samples (25 ms), hop 160 (10 ms), a 512-point
FFT's magnitude, 64 HTK mel bands from 125 to 7500 Hz (TensorFlow's ``linear_to_mel_weight_matrix``),
``log(mel + 0.001)``; the network sees ``[N, 1, frames, 64]``. Convolutions use TensorFlow's "same"
padding; batch norm is folded into the convolutions' biases, as in the weights we convert.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.models.backbones.efficientnet_lite0 import SameConv2d
from avrobust.models.backbones.waveform import WaveformBackbone
from avrobust.models.encoders import AUDIO_ENCODERS

SAMPLE_RATE, WINDOW, HOP, FFT, MELS, FMIN, FMAX, LOG_OFFSET = 16000, 400, 160, 512, 64, 125.0, 7500.0, 0.001
PATCH, PATCH_HOP = 96, 48  # frames of one classification patch (0.96 s) and between patches
#: depthwise-separable blocks: output channels and stride
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
          (512, 1), (1024, 2), (1024, 1))


def mel_matrix() -> torch.Tensor:
    """``[FFT // 2 + 1, MELS]``: TensorFlow's ``linear_to_mel_weight_matrix`` (HTK mel, DC band zeroed)."""
    def mel(hz: torch.Tensor) -> torch.Tensor:
        return 1127.0 * torch.log1p(hz / 700.0)

    bins = FFT // 2 + 1
    freqs = mel(torch.linspace(0.0, SAMPLE_RATE / 2, bins, dtype=torch.float64)[1:])[:, None]
    edges = torch.linspace(float(mel(torch.tensor(FMIN))), float(mel(torch.tensor(FMAX))), MELS + 2, dtype=torch.float64)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = torch.clamp(torch.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)), min=0)
    return torch.cat([torch.zeros(1, MELS, dtype=torch.float64), weights]).float()


class YAMNetFrontEnd(nn.Module):
    """Waveform ``[N, L]`` at 16 kHz -> log-mel ``[N, 1, frames, 64]``; clips shorter than one patch's
    0.975 s are zero-padded to it (as YAMNet pads)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(WINDOW, periodic=True), persistent=False)
        self.register_buffer("mel", mel_matrix(), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        shortest = (PATCH - 1) * HOP + WINDOW
        if audio.shape[1] < shortest:
            audio = F.pad(audio, (0, shortest - audio.shape[1]))
        frames = audio.unfold(1, WINDOW, HOP) * self.window  # [N, F, 400]
        magnitude = torch.fft.rfft(frames, n=FFT).abs()  # [N, F, 257]
        return torch.log(magnitude @ self.mel + LOG_OFFSET)[:, None]


class YAMNet(nn.Module):
    """MobileNetV1 trunk (``stem``, ``blocks.i.depthwise``, ``blocks.i.pointwise``) and ``classifier``
    (521 AudioSet logits; YAMNet's scores are their sigmoid)."""

    def __init__(self, num_classes: int = 521) -> None:
        super().__init__()
        self.stem = SameConv2d(1, 32, 3, 2)
        blocks, cin = [], 32
        for cout, stride in BLOCKS:
            block = nn.Module()
            block.depthwise = SameConv2d(cin, cin, 3, stride, groups=cin)
            block.pointwise = nn.Conv2d(cin, cout, 1)
            blocks.append(block)
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.classifier = nn.Linear(1024, num_classes)

    def trunk(self, logmel: torch.Tensor) -> torch.Tensor:
        """``[N, 1, frames, 64]`` -> feature map ``[N, 1024, frames / 32, 2]``."""
        x = F.relu(self.stem(logmel))
        for block in self.blocks:
            x = F.relu(block.pointwise(F.relu(block.depthwise(x))))
        return x

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Log-mel patches ``[N, 1, 96, 64]`` -> logits ``[N, 521]``."""
        return self.classifier(self.trunk(patches).mean(dim=(2, 3)))


def patches(logmel: torch.Tensor) -> torch.Tensor:
    """``[N, 1, frames, 64]`` -> the 0.96 s patches YAMNet classifies, ``[N * P, 1, 96, 64]``."""
    count = 1 + max(logmel.shape[2] - PATCH, 0) // PATCH_HOP
    return logmel[:, 0].unfold(1, PATCH, PATCH_HOP)[:, :count].permute(0, 1, 3, 2).reshape(-1, 1, PATCH, MELS)


@AUDIO_ENCODERS.register("yamnet")
class AudioYAMNet(WaveformBackbone):
    """YAMNet's trunk over the whole clip's log-mel, pooled to one 1024-feature vector per aligned segment.
    Needs 16 kHz audio; ``width`` is fixed by the weights (accepted and unused)."""

    weights: ClassVar[str] = "yamnet"
    sample_rate: ClassVar[int] = SAMPLE_RATE

    def __init__(self, width: int = 0, dropout: float = 0.0) -> None:
        super().__init__(YAMNet(), dropout, 1024)
        self.frontend = YAMNetFrontEnd()

    def blocks(self) -> list[nn.Module]:
        return [self.net.stem, *self.net.blocks]

    def forward(self, audio: torch.Tensor, segments: int) -> torch.Tensor:
        return self.per_segment(self.net.trunk(self.frontend(audio)).mean(dim=3), segments)  # [N, 1024, F'] pooled


__all__ = ["AudioYAMNet", "YAMNet", "YAMNetFrontEnd", "mel_matrix", "patches"]
