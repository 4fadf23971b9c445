"""ResNet-18 in torchvision's layout (plain PyTorch), the backbone the audio-visual literature uses.

Module names match ``torchvision.models.resnet18`` (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ``fc``...), so a torchvision state dict loads unchanged at ``width=64``
and ``in_channels=3``. ``in_channels=1`` takes a spectrogram ``[N, 1, F, M]`` (the CRMT / OGM-GE
audio branch); smaller widths keep CPU runs short.
"""

from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    """torchvision's BasicBlock: two 3x3 conv-BN, identity or 1x1-conv ``downsample`` shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ResNet-18: ``[B, in_channels, H, W]`` -> ``[B, num_classes]``, or the pooled feature ``[B, 8 * width]``
    when ``num_classes`` is ``None`` (``fc`` is then absent)."""

    def __init__(self, in_channels: int = 3, width: int = 64, num_classes: int | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = width
        for i in range(4):
            cout = width * 2**i
            setattr(self, f"layer{i + 1}", nn.Sequential(Block(c, cout, 1 if i == 0 else 2), Block(cout, cout)))
            c = cout
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = c
        self.fc = nn.Linear(c, num_classes) if num_classes is not None else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's map ``[B, 8 * width, H / 32, W / 32]``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.flatten(self.avgpool(self.features(x)), 1)
        return out if self.fc is None else self.fc(out)
