"""The model zoo: the paper's 8 audio-visual configurations, by name and by short alias, their twins
fused by attention, four standard-size ones on torchvision's ResNet-18 (:data:`STANDARD`) and the
pretrained grid (:data:`PRETRAINED`).

Names are ``{visual}-{fusion}-{audio}``; the paper's have visual in {alexnet, resnet}, fusion in {sum,
concat} and audio in {vgg, resnet}; aliases follow the paper's style: visual initial (A/R), fusion initial
(s/c, and b/x for bottleneck and xattn), audio initial (V/R), e.g. ``RsR`` = resnet-sum-resnet,
``AcV`` = alexnet-concat-vgg, ``AbV`` = alexnet-bottleneck-vgg.
"""

from __future__ import annotations

from typing import Any

from avrobust.errors import ConfigError
from avrobust.models.classifier import AVClassifier, ModelConfig
from avrobust.models.encoders import VISUAL_ENCODERS
from avrobust.registry import Registry

ZOO: Registry[dict[str, str]] = Registry("model")
#: each fusion's initial in an alias (sum and concat are the paper's; bottleneck and xattn attend)
FUSION_INITIALS = {"sum": "s", "concat": "c", "bottleneck": "b", "xattn": "x"}
LATE, ATTENTION = ("sum", "concat"), ("bottleneck", "xattn")


def _register(visual: str, fusion: str, audio: str, alias: str) -> str:
    name = f"{visual}-{fusion}-{audio}"
    ZOO.register(name, aliases=(alias,))(lambda p={"visual": visual, "fusion": fusion, "audio": audio}: dict(p))
    return name


def _grid(visuals: dict[str, str], fusions: tuple[str, ...], audios: dict[str, str], prefix: str = "") -> tuple[str, ...]:
    """Register visual x fusion x audio; the alias is ``prefix`` + the parts' initials (``RsR``, ``PMbY``)."""
    return tuple(_register(v, f, a, f"{prefix}{vi}{FUSION_INITIALS[f]}{ai}") for v, vi in visuals.items()
                 for f in fusions for a, ai in audios.items())


_SCRATCH_VISUAL, _SCRATCH_AUDIO = {"alexnet": "A", "resnet": "R"}, {"vgg": "V", "resnet": "R"}
#: the paper's 8 (``*``): visual {alexnet, resnet} x fusion {sum, concat} x audio {vgg, resnet}
PAPER = _grid(_SCRATCH_VISUAL, LATE, _SCRATCH_AUDIO)
#: the same encoders fused by attention (:mod:`avrobust.models.attention_fusion`): ``AbV``, ``RxR``...
SCRATCH_ATTENTION = _grid(_SCRATCH_VISUAL, ATTENTION, _SCRATCH_AUDIO)
#: standard-size backbones (torchvision's ResNet-18 layout; train them with --width 64 and --pretrained)
STANDARD = (_register("resnet18", "sum", "resnet18", "R18sR18"), _register("resnet18", "concat", "resnet18", "R18cR18"),
            _register("resnet18", "sum", "vgg", "R18sV"), _register("resnet18", "concat", "vgg", "R18cV"))
#: the pretrained grid (:mod:`avrobust.models.backbones`, weights from ``avrobust weights fetch``): visual
#: {MobileNetV2, EfficientNet-Lite0} x every fusion x audio {YAMNet, CREPE tiny, SoundNet-8, Whisper tiny.en},
#: aliased by initials with a ``P`` (``PMsY`` = pretrained mobilenetv2-sum-yamnet); the first is the default
PRETRAINED_VISUAL = {"mobilenetv2": "M", "efficientnet-lite0": "E"}
PRETRAINED_AUDIO = {"yamnet": "Y", "crepe-tiny": "C", "soundnet": "S", "whisper-tiny": "W"}
PRETRAINED = _grid(PRETRAINED_VISUAL, LATE + ATTENTION, PRETRAINED_AUDIO, prefix="P")
#: the groups a user can name instead of a wildcard (``avrobust models attention``)
GROUPS = {"paper": PAPER, "attention": SCRATCH_ATTENTION + tuple(n for n in PRETRAINED if ZOO.create(n)["fusion"] in ATTENTION),
          "standard": STANDARD, "pretrained": PRETRAINED, "all": PAPER + SCRATCH_ATTENTION + STANDARD + PRETRAINED}


def list_models(pattern: str = "*") -> list[str]:
    """Zoo names matching a wildcard (``"resnet-*"``) or a group of :data:`GROUPS` (``all``, ``pretrained``...);
    aliases match too and map to names. ``*`` is the paper's 8 configurations (what ``train-zoo`` trains by
    default); the others match patterns that name them (``resnet18-*``, ``*-bottleneck-*``, ``P*``)."""
    if pattern in GROUPS:
        return sorted(GROUPS[pattern])
    if pattern == "*":
        return sorted(PAPER)
    names = set(ZOO.names(pattern))
    names |= {ZOO.canonical(a) for a in ZOO.names(pattern, aliases=True)}
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
