"""ResNet-18 in torchvision's layout: the same parameter names and count, so its state dicts load."""

import torch

from avrobust.models.resnet import ResNet18


def test_torchvision_resnet18_layout():
    net = ResNet18(num_classes=1000)
    keys = list(net.state_dict())
    assert len(keys) == 122  # torchvision.models.resnet18().state_dict() has 122 entries
    assert sum(p.numel() for p in net.parameters()) == 11_689_512  # and 11,689,512 parameters
    for key in ("conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight", "layer2.0.downsample.0.weight",
                "layer4.1.bn2.num_batches_tracked", "fc.bias"):
        assert key in keys


def test_spectrogram_input_and_features():
    net = ResNet18(in_channels=1, width=8).eval()
    x = torch.randn(2, 1, 64, 40)
    assert net(x).shape == (2, 64) and net.features(x).shape == (2, 64, 2, 2)
