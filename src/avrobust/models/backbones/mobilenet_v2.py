"""MobileNetV2 (Sandler et al., CVPR 2018) in torchvision's layout (``features.0`` ... ``features.18``,
``classifier.1``), so torchvision's ImageNet state dict loads as it is, and the per-frame visual encoder
``mobilenetv2`` over it (1280 features a frame)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from avrobust.models.backbones.frames import FrameBackbone
from avrobust.models.encoders import VISUAL_ENCODERS

#: torchvision's inverted-residual settings: expansion t, channels c, repeats n, first stride s
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv, batch norm, ReLU6 (torchvision's ``Conv2dNormActivation``)."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = [conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """The network: ``features`` (19 stages) then ``classifier`` (dropout, linear to 1000 classes)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised images ``[B, 3, H, W]`` -> pooled features ``[B, 1280]``."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


@VISUAL_ENCODERS.register("mobilenetv2")
class VisualMobileNetV2(FrameBackbone):
    """Per-frame MobileNetV2 features (1280); frames normalised with ImageNet's mean and std by the classifier.
    ``width`` is fixed by the weights (accepted and unused)."""

    weights: ClassVar[str] = "mobilenet-v2"  # loaded into ``net`` by a pretrained zoo model
    mean: ClassVar[tuple[float, float, float]] = (0.485, 0.456, 0.406)
    std: ClassVar[tuple[float, float, float]] = (0.229, 0.224, 0.225)

    def __init__(self, width: int = 0, dropout: float = 0.0) -> None:
        super().__init__(MobileNetV2(), dropout)

    def blocks(self) -> list[nn.Module]:
        return list(self.net.features)
