"""Your own model, attacked in a few lines: a late-fusion network that takes video as [N, C, T, H, W]
(ImageNet-normalised) and the raw waveform, and returns only its fused logits.

Run from the repository root: ``python examples/late_fusion.py`` (about a minute on 2 CPU cores).
"""

import sys

import torch
from torch import nn

import avrobust


class LateFusion(nn.Module):
    """A 3D-conv video branch and a 1D-conv waveform branch; the sum of their logits."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.video = nn.Sequential(nn.Conv3d(3, 16, (3, 5, 5), (1, 2, 2), (1, 2, 2)), nn.ReLU(),
                                   nn.Conv3d(16, 32, 3, (1, 2, 2), 1), nn.ReLU())
        self.audio = nn.Sequential(nn.Conv1d(1, 16, 64, 16), nn.ReLU(), nn.Conv1d(16, 32, 8, 4), nn.ReLU())
        self.video_fc, self.audio_fc = nn.Linear(32, num_classes), nn.Linear(32, num_classes)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        v = self.video(video).mean(dim=(2, 3, 4))  # video [N, 3, T, H, W] -> [N, 32]
        a = self.audio(audio[:, None]).mean(dim=2)  # waveform [N, L] -> [N, 32]
        return self.video_fc(v) + self.audio_fc(a)


def main(data: str = "synth", out: str = "runs/examples/late-fusion", epochs: int = 4, limit: int = 200):
    torch.manual_seed(0)
    net = avrobust.wrap(
        LateFusion(num_classes=10), num_classes=10, sample_rate=8000,
        video_layout="NCTHW", video_mean=(0.485, 0.456, 0.406), video_std=(0.229, 0.224, 0.225),
        visual_features="video",  # [N, 32, T, H, W]: per-frame features for TIA/TMA
        audio_features="audio", audio_feature_layout="NDT",  # [N, 32, L']: time last
    )  # no unimodal heads: p_a, p_v (MMA/TMA) come from modality ablation, as the results say
    avrobust.train(net, data, out, method="standard", epochs=epochs, overwrite=True)
    result = avrobust.evaluate(net, data, attacks=["pgd", "tma"], limit=limit)
    print(f"clean {result['clean_accuracy']:.3f}, PGD {result['attacks']['pgd']['robust_accuracy']:.3f}, "
          f"TMA {result['attacks']['tma']['robust_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main(*sys.argv[1:2])
