"""--pretrained: torchvision/timm ResNet-18 weights from a local file, with a key report and clear errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from avrobust.checkpoint import read_meta
from avrobust.errors import ConfigError
from avrobust.jobs import train_model
from avrobust.models import create_model
from avrobust.models.pretrained import describe, load_pretrained
from avrobust.models.resnet import ResNet18


@pytest.fixture
def weights(tmp_path):
    """A torchvision-layout ResNet-18 (width 8, with its 1000-class fc) as .pth and .safetensors."""
    torch.manual_seed(3)
    state = ResNet18(3, 8, num_classes=1000).state_dict()
    torch.save(state, tmp_path / "r18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "r18.safetensors"))
    return state, tmp_path


def test_both_formats_load_into_both_branches(weights):
    state, root = weights
    model = create_model("R18sR18", 4, 8000, width=8)
    visual = load_pretrained(model, root / "r18.pth", "visual")
    audio = load_pretrained(model, root / "r18.safetensors", "audio")
    assert visual["loaded"] == audio["loaded"] == 120 and visual["ignored"] == ["fc.bias", "fc.weight"]
    assert visual["new"] == [] and "120 tensors loaded" in describe(visual)
    assert torch.equal(model.visual.net.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert torch.equal(model.audio.net.conv1.weight, state["conv1.weight"].mean(dim=1, keepdim=True))
    assert torch.equal(model.audio.net.bn1.running_var, state["bn1.running_var"])


@pytest.mark.slow
def test_training_records_the_report(weights, tiny_spec, tmp_path):
    _, root = weights
    train_model(tiny_spec, "resnet18-concat-vgg", tmp_path / "run", epochs=1, width=8, pretrained=root / "r18.pth",
                show_progress=False)
    (report,) = read_meta(tmp_path / "run")["pretrained"]
    assert report["branch"] == "visual" and report["loaded"] == 120


@pytest.mark.parametrize(("case", "message"), [
    ("width", r"does not fit the visual backbone \(conv1.weight \(8, 3, 7, 7\) vs \(16, 3, 7, 7\)"),
    ("model", "has no backbone to load weights into"),
    ("missing", "do not exist"),
    ("garbage", "not a readable state dict"),
    ("foreign", "no key of"),
])
def test_bad_weights_are_one_clear_line(weights, tmp_path, case, message):
    _, root = weights
    path = root / "r18.pth"
    model = create_model("R18sR18", 4, 8000, width=16)
    if case == "model":
        model = create_model("RsR", 4, 8000)
    elif case == "missing":
        path = root / "nope.pth"
    elif case == "garbage":
        path = root / "bad.pth"
        path.write_bytes(b"not a pickle")
    elif case == "foreign":
        path = root / "foreign.pth"
        torch.save({"encoder.weight": torch.zeros(2)}, path)
    with pytest.raises(ConfigError, match=message) as err:
        load_pretrained(model, path, "visual")
    assert "\n" not in str(err.value)
