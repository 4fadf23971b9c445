"""Your own model from the shell: ``make`` is the factory ``avrobust train --model-file`` calls.

The network takes the audio first and video as [N, C, T, H, W] (ImageNet-normalised) and returns a dict;
``examples/own_model.toml`` tells avrobust so. From the repository root:

    avrobust train --model-file examples/own_model.py:make --wrap examples/own_model.toml --data synth --out runs/own
    avrobust attack --checkpoint runs/own --attack pgd,tma --save runs/own-adv
    avrobust evaluate --checkpoint runs/own --attack pgd,tma --json runs/own-eval.json
    avrobust evaluate --adversarial runs/own-adv --checkpoint runs/own
    avrobust report runs/own runs/own-eval.json --out runs/own-report
"""

import torch
from torch import nn


class AudioFirst(nn.Module):
    """A 3D-conv video branch and a 1D-conv waveform branch, concatenated, one linear head; per-segment
    features (``video_feats``: [N, C, T], ``audio_feats``: [N, C, L']) for TIA and TMA."""

    def __init__(self, classes: int, width: int = 16) -> None:
        super().__init__()
        self.video_feats = nn.Sequential(nn.Conv3d(3, width, (1, 5, 5), (1, 2, 2), (0, 2, 2)), nn.ReLU(),
                                         nn.AdaptiveAvgPool3d((None, 1, 1)), nn.Flatten(2))
        self.audio_feats = nn.Sequential(nn.Conv1d(1, width, 64, 16), nn.ReLU(), nn.Conv1d(width, width, 8, 4), nn.ReLU())
        self.head = nn.Linear(2 * width, classes)

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.video_feats(video).mean(2)  # [N, C, T] -> [N, C]
        a = self.audio_feats(audio[:, None]).mean(2)  # [N, C, L'] -> [N, C]
        return {"scores": self.head(torch.cat([v, a], 1)), "embedding": torch.cat([v, a], 1)}


def make(num_classes: int, width: int = 16) -> nn.Module:
    """The factory: called with the data's class count (and ``args`` of the wrap configuration)."""
    return AudioFirst(num_classes, width)
