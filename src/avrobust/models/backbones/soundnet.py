"""SoundNet-8 (Aytar, Vondrick and Torralba, NeurIPS 2016): a 1-D convolutional network over the raw
22.05 kHz waveform, trained on about 2 million unlabelled videos to predict what ImageNet and Places
networks saw in the frames (audio learnt from audio-visual correspondence); and the audio encoder
``soundnet`` over it.

Layout (the original's, converted from its TensorFlow arrays by :mod:`avrobust.weights.npy_soundnet`):
seven blocks ``conv{i}`` (1-D, kernel 64/32/16/8/4/4/4, stride 2, padding half the kernel) each followed by batch
norm ``bn{i}`` (eps 1e-5) and ReLU, max pooling by 8 after blocks 1 and 2 and by 4 after block 5; two heads
``objects`` (1000 ImageNet classes) and ``places`` (401 Places scenes), kernel 8 and stride 2. The network
reads the waveform scaled to [-256, 256], as the original did; the encoder scales it inside, so budgets
stay in [-1, 1] units. One conv7 step covers 65,536 input samples (about 3 s), so a clip of 1-2 s gives
one or two conv7 steps, spread over the clip's segments by average pooling: its per-segment features are
coarse in time by construction.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.models.backbones.waveform import WaveformBackbone
from avrobust.models.encoders import AUDIO_ENCODERS

SAMPLE_RATE, SCALE = 22050, 256.0
#: per block: output channels, kernel (stride 2, padding kernel // 2), max-pool after it (0: none)
BLOCKS = ((16, 64, 8), (32, 32, 8), (64, 16, 0), (128, 8, 0), (256, 4, 4), (512, 4, 0), (1024, 4, 0))


class SoundNet8(nn.Module):
    """SoundNet-8: ``conv1..7`` with ``bn1..7``, heads ``objects`` and ``places`` (logits)."""

    def __init__(self) -> None:
        super().__init__()
        cin = 1
        for i, (cout, kernel, _) in enumerate(BLOCKS, start=1):
            setattr(self, f"conv{i}", nn.Conv1d(cin, cout, kernel, 2, kernel // 2))
            setattr(self, f"bn{i}", nn.BatchNorm1d(cout, eps=1e-5))
            cin = cout
        self.objects = nn.Conv1d(1024, 1000, 8, 2)
        self.places = nn.Conv1d(1024, 401, 8, 2)

    def trunk(self, waveform: torch.Tensor) -> torch.Tensor:
        """Scaled waveform ``[N, L]`` (in [-256, 256]) -> conv7 features ``[N, 1024, L / 65536 or so]``."""
        x = waveform[:, None]
        for i, (_, _, pool) in enumerate(BLOCKS, start=1):
            x = F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
            if pool:
                x = F.max_pool1d(x, pool, pool)
        return x

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Object and scene logits ``[N, 1000, L']``, ``[N, 401, L']`` (clips of at least about 24 s: the heads read 8 conv7 steps)."""
        x = self.trunk(waveform)
        return self.objects(x), self.places(x)


@AUDIO_ENCODERS.register("soundnet")
class AudioSoundNet(WaveformBackbone):
    """SoundNet-8's conv7 features (1024) per aligned segment; 22.05 kHz audio in [-1, 1]; ``width`` unused."""

    weights: ClassVar[str] = "soundnet"
    sample_rate: ClassVar[int] = SAMPLE_RATE

    def __init__(self, width: int = 0, dropout: float = 0.0) -> None:
        super().__init__(SoundNet8(), dropout, 1024)

    def blocks(self) -> list[nn.Module]:
        return [nn.ModuleList([getattr(self.net, f"conv{i}"), getattr(self.net, f"bn{i}")]) for i in range(1, 8)]

    def forward(self, audio: torch.Tensor, segments: int) -> torch.Tensor:
        return self.per_segment(self.net.trunk(audio * SCALE), segments)  # conv7 [N, 1024, L'] pooled


__all__ = ["AudioSoundNet", "SoundNet8"]
