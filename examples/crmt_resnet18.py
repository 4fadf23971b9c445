"""A CRMT-style model: ResNet-18 over a 1-channel log-mel filter bank for audio and over every frame
for video, concat fusion, and unimodal heads; called as ``model(spectrogram, frames)`` and returning
``(fused, audio, visual)`` logits, as CRMT's and OGM-GE's code do.

Run from the repository root: ``python examples/crmt_resnet18.py``.
"""

import sys

import torch
from torch import nn

import avrobust
from avrobust.models.resnet import ResNet18


class CRMTStyle(nn.Module):
    def __init__(self, num_classes: int, width: int = 8) -> None:  # width 64 is the standard ResNet-18
        super().__init__()
        self.audio_net = ResNet18(in_channels=1, width=width)
        self.visual_net = ResNet18(in_channels=3, width=width)
        d = self.audio_net.out_dim
        self.audio_fc, self.visual_fc = nn.Linear(d, num_classes), nn.Linear(d, num_classes)
        self.fusion_fc = nn.Linear(2 * d, num_classes)

    def forward(self, spectrogram: torch.Tensor, frames: torch.Tensor):
        n, t = frames.shape[:2]
        fa = self.audio_net(spectrogram)  # [N, 1, time, mel] -> [N, d]
        fv = self.visual_net(frames.flatten(0, 1)).view(n, t, -1).mean(1)  # [N, T, 3, H, W] -> [N, d]
        return self.fusion_fc(torch.cat([fa, fv], 1)), self.audio_fc(fa), self.visual_fc(fv)


def main(data: str = "synth", out: str = "runs/examples/crmt", epochs: int = 4, limit: int = 200):
    torch.manual_seed(0)
    test = avrobust.as_dataset(data, "test")
    net = avrobust.wrap(
        CRMTStyle(test.num_classes), num_classes=test.num_classes, sample_rate=test.sample_rate,
        inputs=("audio", "video"), audio_frontend=avrobust.LogMel(sample_rate=test.sample_rate),
        video_mean=(0.45, 0.45, 0.45), video_std=(0.25, 0.25, 0.25),
        audio_head="audio_fc", visual_head="visual_fc",  # p_a, p_v from the model's own heads
        audio_features="audio_net.layer4", audio_feature_layout="NCTF",  # [N, C, time, mel]
        visual_features="visual_net.avgpool",  # [N*T, C, 1, 1], one row per frame
    )
    avrobust.train(net, data, out, method="standard", epochs=epochs, overwrite=True)
    result = avrobust.evaluate(net, test, attacks=["pgd", "tma"], limit=limit)
    print(f"clean {result['clean_accuracy']:.3f} (audio {result['audio_only_accuracy']:.3f}, visual "
          f"{result['visual_only_accuracy']:.3f}), PGD {result['attacks']['pgd']['robust_accuracy']:.3f}, "
          f"TMA {result['attacks']['tma']['robust_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main(*sys.argv[1:2])
