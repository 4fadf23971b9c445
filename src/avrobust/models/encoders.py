"""Visual and audio encoders (plain PyTorch, small widths for CPU runs).

Visual encoders map one frame ``[B, 3, H, W]`` (normalised) to a feature ``[B, D]``; the classifier
applies them to every frame. Audio encoders map a log-mel ``[N, 1, F, M]`` with ``F = T * k``
segment-aligned frames to one feature per aligned segment ``[N, T, D]``.
Every encoder exposes ``out_dim`` and takes ``dropout`` (a probability, changeable later through
:func:`avrobust.models.classifier.set_dropout`).
"""

from __future__ import annotations

import torch
from torch import nn

from avrobust.registry import Registry

VISUAL_ENCODERS: Registry[nn.Module] = Registry("visual encoder")
AUDIO_ENCODERS: Registry[nn.Module] = Registry("audio encoder")


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs, batch norm, identity or 1x1 shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def _resnet_stages(
    cin: int, width: int, blocks: tuple[int, ...], strides: list[int | tuple[int, int]]
) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    c = cin
    for i, (n, s) in enumerate(zip(blocks, strides, strict=True)):
        cout = width * 2**i
        for j in range(n):
            layers.append(BasicBlock(c, cout, s if j == 0 else 1))
            c = cout
    return nn.Sequential(*layers), c


@VISUAL_ENCODERS.register("alexnet")
class VisualAlexNet(nn.Module):
    """AlexNet-style per-frame encoder: 5 convs, each followed by batch norm, 3 max-pools, a linear layer.

    Batch norm is there because without it the width-8 branch did not learn on ``digits``
    (benchmarks/RESULTS.md): with fused training the audio branch fits first and the unnormalised
    visual branch's gradients stay too small to take off.
    """

    def __init__(self, width: int = 16, dim: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_conv_bn(3, w, 5), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w, 5), nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w, 3),
            *_conv_bn(4 * w, 4 * w, 3),
            *_conv_bn(4 * w, 4 * w, 3), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, dim), nn.ReLU(inplace=True))
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _conv_bn(c_in: int, c_out: int, kernel: int) -> tuple[nn.Module, ...]:
    """Same-padded conv (no bias: the batch norm has one), batch norm, ReLU."""
    return nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)


@VISUAL_ENCODERS.register("resnet")
class VisualResNet(nn.Module):
    """ResNet-18-style per-frame encoder (3x3 stem, 4 stages of 2 basic blocks)."""

    def __init__(self, width: int = 16, blocks: tuple[int, ...] = (2, 2, 2, 2), dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.stages, c = _resnet_stages(width, width, blocks, [1] + [2] * (len(blocks) - 1))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
        self.out_dim = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class _SegmentPool(nn.Module):
    """``[N, C, F', M']`` feature map -> ``[N, T, C]``: mean over frequency, exact pooling to T."""

    def forward(self, x: torch.Tensor, segments: int) -> torch.Tensor:
        x = x.mean(dim=3)  # [N, C, F']
        return nn.functional.adaptive_avg_pool1d(x, segments).transpose(1, 2)


@AUDIO_ENCODERS.register("vgg")
class AudioVGG(nn.Module):
    """VGGish log-mel encoder: 4 conv blocks (conv-BN-ReLU x2, pool); time pooled twice by 2."""

    takes_waveform = False  # it reads the classifier's log-mel

    def __init__(self, width: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for i, pool in enumerate([(2, 2), (2, 2), (1, 2), (1, 2)]):
            cout = width * 2 ** min(i, 2)
            layers += [
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(pool, ceil_mode=True),
            ]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = _SegmentPool()
        self.drop = nn.Dropout(dropout)
        self.out_dim = cin

    def forward(self, logmel: torch.Tensor, segments: int) -> torch.Tensor:
        return self.drop(self.pool(self.features(logmel), segments))


@AUDIO_ENCODERS.register("resnet")
class AudioResNet(nn.Module):
    """ResNet-18-style log-mel encoder; stages stride frequency by 2 and time by 2 twice."""

    takes_waveform = False  # it reads the classifier's log-mel

    def __init__(self, width: int = 16, blocks: tuple[int, ...] = (2, 2, 2, 2), dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        strides: list[int | tuple[int, int]] = [(1, 1), (2, 2), (2, 2), (1, 2)][: len(blocks)]
        self.stages, c = _resnet_stages(width, width, blocks, strides)
        self.pool = _SegmentPool()
        self.drop = nn.Dropout(dropout)
        self.out_dim = c

    def forward(self, logmel: torch.Tensor, segments: int) -> torch.Tensor:
        return self.drop(self.pool(self.stages(self.stem(logmel)), segments))


@VISUAL_ENCODERS.register("resnet18")
class VisualResNet18(nn.Module):
    """torchvision's ResNet-18 per frame (:class:`~avrobust.models.resnet.ResNet18`, so ImageNet weights
    load as they are, ``--pretrained``); ``width`` 64 is the standard size."""

    def __init__(self, width: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        from avrobust.models.resnet import ResNet18

        self.net = ResNet18(3, width)
        self.drop = nn.Dropout(dropout)
        self.out_dim = self.net.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.net(x))


@AUDIO_ENCODERS.register("resnet18")
class AudioResNet18(nn.Module):
    """torchvision's ResNet-18 over the 1-channel log-mel (the CRMT / OGM-GE audio branch), pooled to
    one feature per aligned segment; ``width`` 64 is the standard size."""

    takes_waveform = False  # it reads the classifier's log-mel

    def __init__(self, width: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        from avrobust.models.resnet import ResNet18

        self.net = ResNet18(1, width)
        self.pool = _SegmentPool()
        self.drop = nn.Dropout(dropout)
        self.out_dim = self.net.out_dim

    def forward(self, logmel: torch.Tensor, segments: int) -> torch.Tensor:
        return self.drop(self.pool(self.net.features(logmel), segments))

