"""The model zoo: the paper's 8 audio-visual configurations, by name and by short alias, and four
standard-size ones on torchvision's ResNet-18 (:data:`STANDARD`).

Names are ``{visual}-{fusion}-{audio}`` with visual in {alexnet, resnet}, fusion in {sum, concat}
and audio in {vgg, resnet}; aliases follow the paper's style: visual initial (A/R), fusion initial
(s/c), audio initial (V/R), e.g. ``RsR`` = resnet-sum-resnet, ``AcV`` = alexnet-concat-vgg.
"""

from __future__ import annotations

import itertools
from typing import Any

from avrobust.errors import ConfigError
from avrobust.models.classifier import AVClassifier, ModelConfig
from avrobust.models.encoders import VISUAL_ENCODERS
from avrobust.registry import Registry

ZOO: Registry[dict[str, str]] = Registry("model")


def _register_grid() -> None:
    for visual, fusion, audio in itertools.product(("alexnet", "resnet"), ("sum", "concat"), ("vgg", "resnet")):
        alias = f"{visual[0].upper()}{fusion[0]}{audio[0].upper()}"
        parts = {"visual": visual, "fusion": fusion, "audio": audio}
        ZOO.register(f"{visual}-{fusion}-{audio}", aliases=(alias,))(lambda p=parts: dict(p))


_register_grid()
#: standard-size backbones (torchvision's ResNet-18 layout; train them with --width 64 and --pretrained)
STANDARD = ("resnet18-sum-resnet18", "resnet18-concat-resnet18", "resnet18-sum-vgg", "resnet18-concat-vgg")
for _name in STANDARD:
    _visual, _fusion, _audio = _name.split("-")
    ZOO.register(_name, aliases=(f"R18{_fusion[0]}{'R18' if _audio == 'resnet18' else 'V'}",))(
        lambda p={"visual": _visual, "fusion": _fusion, "audio": _audio}: dict(p))


#: the pretrained grid (:mod:`avrobust.models.backbones`, weights from ``avrobust weights fetch``): visual
#: {MobileNetV2, EfficientNet-Lite0} x fusion {sum, concat} x audio {YAMNet, CREPE tiny}, aliased by initials
#: with a ``P`` (``PMsY`` = pretrained mobilenetv2-sum-yamnet); the first is the default pretrained model
PRETRAINED_VISUAL, PRETRAINED_AUDIO = {"mobilenetv2": "M", "efficientnet-lite0": "E"}, {"yamnet": "Y", "crepe-tiny": "C"}
PRETRAINED = tuple(f"{v}-{f}-{a}" for v in PRETRAINED_VISUAL for f in ("sum", "concat") for a in PRETRAINED_AUDIO)
for _v, _vi in PRETRAINED_VISUAL.items():
    for _f in ("sum", "concat"):
        for _a, _ai in PRETRAINED_AUDIO.items():
            ZOO.register(f"{_v}-{_f}-{_a}", aliases=(f"P{_vi}{_f[0]}{_ai}",))(
                lambda p={"visual": _v, "fusion": _f, "audio": _a}: dict(p))


def list_models(pattern: str = "*") -> list[str]:
    """Zoo names matching a wildcard (``"resnet-*"``); aliases match too and map to names. ``*`` is the
    paper's 8 configurations; the standard-size (:data:`STANDARD`) and pretrained (:data:`PRETRAINED`) ones
    match patterns that name them (``resnet18-*``, ``mobilenetv2-*``, ``P*``)."""
    names = set(ZOO.names(pattern))
    names |= {ZOO.canonical(a) for a in ZOO.names(pattern, aliases=True)}
    if pattern == "*":
        names -= set(STANDARD) | set(PRETRAINED)
    return sorted(names)


def model_config(name: str, num_classes: int, sample_rate: int, **overrides: Any) -> ModelConfig:
    """The :class:`ModelConfig` of zoo model ``name`` (or alias) with optional overrides."""
    parts = ZOO.create(name)
    valid = set(ModelConfig.__dataclass_fields__) - set(parts)
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ConfigError(f"unknown model option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
    visual = VISUAL_ENCODERS.get(parts["visual"])
    norm = {"video_mean": visual.mean, "video_std": visual.std} if hasattr(visual, "mean") else {}  # the weights' own
    return ModelConfig(**parts, num_classes=num_classes, sample_rate=sample_rate, **{**norm, **overrides})


def create_model(name: str, num_classes: int, sample_rate: int = 8000, **overrides: Any) -> AVClassifier:
    """Build zoo model ``name`` (randomly initialised; seed torch first for reproducibility)."""
    return AVClassifier(model_config(name, num_classes, sample_rate, **overrides))
