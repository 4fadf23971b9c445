"""EfficientNet-Lite0 (Tan and Le, ICML 2019; the Lite variant: no squeeze-and-excitation, ReLU6, fixed
stem and head) in the key layout of the ``efficientnet-lite-pytorch`` model (``_conv_stem``, ``_blocks.i.
_expand_conv``...), TensorFlow's "same" padding, inputs in [-1, 1]; and the per-frame visual encoder
``efficientnet-lite0`` over it (1280 features a frame)."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.models.backbones.frames import FrameBackbone
from avrobust.models.encoders import VISUAL_ENCODERS

#: kernel, repeats, input and output channels, expansion, first stride (EfficientNet-B0's blocks)
BLOCKS = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (the extra pixel of an odd total at the end)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    def __init__(self, kernel: int, cin: int, cout: int, expand: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=EPS)
        self._project_conv = SameConv2d(hidden, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """The network: stem, 16 blocks, head, classifier ``_fc`` over 1000 ImageNet classes."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=EPS)
        blocks = []
        for kernel, repeats, cin, cout, expand, stride in BLOCKS:
            for i in range(repeats):
                blocks.append(MBConv(kernel, cin if i == 0 else cout, cout, expand, stride if i == 0 else 1))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=EPS)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] ``[B, 3, H, W]`` -> pooled features ``[B, 1280]``."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.embed(x)))


@VISUAL_ENCODERS.register("efficientnet-lite0")
class VisualEfficientNetLite0(FrameBackbone):
    """Per-frame EfficientNet-Lite0 features (1280); frames mapped to [-1, 1] by the classifier (mean and std
    0.5). ``width`` is fixed by the weights (accepted and unused)."""

    weights: ClassVar[str] = "efficientnet-lite0"
    mean: ClassVar[tuple[float, float, float]] = (0.5, 0.5, 0.5)
    std: ClassVar[tuple[float, float, float]] = (0.5, 0.5, 0.5)

    def __init__(self, width: int = 0, dropout: float = 0.0) -> None:
        super().__init__(EfficientNetLite0(), dropout)

    def blocks(self) -> list[nn.Module]:
        return [nn.ModuleList([self.net._conv_stem, self.net._bn0]), *self.net._blocks,
                nn.ModuleList([self.net._conv_head, self.net._bn1])]
