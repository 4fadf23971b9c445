"""The audio-visual classifier: encoders, temporal pooling, fusion; normalisation inside.

Inputs are raw (video ``[N, T, 3, H, W]`` in [0, 1], audio ``[N, L]`` in [-1, 1]) so attack budgets
always mean the same thing. Outputs carry the fused and unimodal logits and the per-segment
features of both modalities (the Temporal Invariance Attack needs them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from avrobust.errors import ConfigError
from avrobust.models.encoders import AUDIO_ENCODERS, VISUAL_ENCODERS
from avrobust.models.frontend import LogMel
from avrobust.models.fusion import FUSIONS
from avrobust.models.interface import check_input
from avrobust.types import AVBatch


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a classifier (stored with every checkpoint).

    Attributes:
        visual, audio, fusion: registered encoder / fusion names.
        num_classes: K.
        width: base channel width of both encoders (8 keeps CPU runs short; raise it on a GPU).
        dropout: dropout probability in the encoders and the fusion.
        sample_rate: the audio rate the front end expects (Hz).
        frontend: keyword arguments of :class:`LogMel` beyond ``sample_rate``.
        video_mean, video_std: per-channel normalisation of [0, 1] frames.
    """

    visual: str = "resnet"
    audio: str = "resnet"
    fusion: str = "sum"
    num_classes: int = 10
    width: int = 8
    dropout: float = 0.0
    sample_rate: int = 8000
    frontend: dict[str, Any] = field(default_factory=dict)
    video_mean: tuple[float, float, float] = (0.45, 0.45, 0.45)
    video_std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config key(s) {', '.join(unknown)}")
        data = dict(data)
        for key in ("video_mean", "video_std"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class AVOutput:
    """What the classifier returns.

    Attributes:
        logits: fused logits ``[N, K]``.
        audio_logits, visual_logits: unimodal logits ``[N, K]`` (p_a, p_v before softmax).
        audio_features: per-segment audio features ``[N, T, Da]`` (the tokens the heads read: after an
            attention fusion, they carry what the other modality sent).
        visual_features: per-frame visual features ``[N, T, Dv]`` (likewise).
    """

    #: where p_a, p_v come from: the model's own unimodal heads (see :class:`LazyOutput` for ablation)
    unimodal: ClassVar[str] = "heads"

    logits: torch.Tensor
    audio_logits: torch.Tensor
    visual_logits: torch.Tensor
    audio_features: torch.Tensor
    visual_features: torch.Tensor

    def take(self, n: int) -> AVOutput:
        """The first ``n`` clips of every field."""
        return AVOutput(*(getattr(self, f.name)[:n] for f in fields(self)))


OUTPUT_FIELDS = ("logits", "audio_logits", "visual_logits", "audio_features", "visual_features")


class LazyOutput:
    """:class:`AVOutput`'s fields where some are computed on first access (then kept).

    A wrapped model (:func:`avrobust.wrap`) returns one: the fused logits at once, unimodal logits
    from a second forward pass only when an attack or a metric reads them, and per-segment features
    that are missing raise the error that says how to provide them.

    Args:
        values: per field name, a tensor or a function of no arguments returning it.
        unimodal: ``heads`` or ``ablation`` (how p_a, p_v are defined).
    """

    def __init__(self, values: dict[str, torch.Tensor | Callable[[], torch.Tensor]], unimodal: str = "heads") -> None:
        self._values = dict(values)
        self.unimodal = unimodal

    def _get(self, name: str) -> torch.Tensor:
        value = self._values[name]
        if callable(value) and not isinstance(value, torch.Tensor):
            value = self._values[name] = value()
        return value

    logits = property(lambda self: self._get("logits"))
    audio_logits = property(lambda self: self._get("audio_logits"))
    visual_logits = property(lambda self: self._get("visual_logits"))
    audio_features = property(lambda self: self._get("audio_features"))
    visual_features = property(lambda self: self._get("visual_features"))

    def take(self, n: int) -> LazyOutput:
        """The first ``n`` clips of every field (still computed on first access)."""
        return LazyOutput({k: (lambda k=k: self._get(k)[:n]) for k in OUTPUT_FIELDS}, self.unimodal)


def float32_outputs(out: AVOutput | LazyOutput) -> AVOutput | LazyOutput:
    """``out`` with every field in float32 when the forward pass ran in half precision under autocast, so
    losses, similarities and attack objectives are computed in float32 (other outputs unchanged)."""
    if out.logits.dtype not in (torch.bfloat16, torch.float16):
        return out
    return LazyOutput({name: (lambda name=name: getattr(out, name).float()) for name in OUTPUT_FIELDS}, out.unimodal)


class AVClassifier(nn.Module):
    """Per-frame visual encoder + segment-aligned audio encoder + fusion of the per-segment features
    (:mod:`avrobust.models.fusion`: late fusions average over T first, attention fusions mix the tokens)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.num_classes < 2:
            raise ConfigError(f"num_classes must be >= 2, got {config.num_classes}")
        if not 0.0 <= config.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {config.dropout}")
        self.config = config
        self.frontend = LogMel(sample_rate=config.sample_rate, **config.frontend)
        self.visual = VISUAL_ENCODERS.create(config.visual, width=config.width, dropout=config.dropout)
        self.audio = AUDIO_ENCODERS.create(config.audio, width=config.width, dropout=config.dropout)
        rate = getattr(self.audio, "sample_rate", None)  # a pretrained audio backbone's own rate
        if rate is not None and rate != config.sample_rate:
            raise ConfigError(f"the {config.audio} audio encoder takes {rate} Hz audio and the data has "
                              f"{config.sample_rate} Hz; use data at {rate} Hz (e.g. digits:sample_rate={rate})")
        self.fusion = FUSIONS.create(
            config.fusion,
            audio_dim=self.audio.out_dim,
            visual_dim=self.visual.out_dim,
            num_classes=config.num_classes,
            dropout=config.dropout,
        )
        self.register_buffer("video_mean", torch.tensor(config.video_mean).view(1, 3, 1, 1))
        self.register_buffer("video_std", torch.tensor(config.video_std).view(1, 3, 1, 1))
        self.channels_last = False
        self.frozen: list[nn.Module] = []  # backbone blocks kept as they are (avrobust.models.finetune)

    def train(self, mode: bool = True) -> AVClassifier:
        """Set the training mode; frozen backbone blocks stay in eval mode (their batch-norm statistics too)."""
        super().train(mode)
        for block in self.frozen:
            block.train(False)
        return self

    def use_channels_last(self) -> AVClassifier:
        """Keep convolution weights and frames in the channels-last memory format (faster convolutions on
        some hardware; benchmarks/RESULTS.md says where); the results are the same."""
        self.to(memory_format=torch.channels_last)
        self.channels_last = True
        return self

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> AVOutput:
        """Classify raw clips: video ``[N, T, 3, H, W]`` in [0, 1], audio ``[N, T * S]`` in [-1, 1]."""
        n, t = video.shape[:2]
        frames = (video.reshape(n * t, *video.shape[2:]) - self.video_mean) / self.video_std
        if self.channels_last:
            frames = frames.contiguous(memory_format=torch.channels_last)
        visual_features = self.visual(frames).view(n, t, -1)
        # a pretrained audio backbone brings its own front end and takes the waveform
        audio_features = self.audio(audio if self.audio.takes_waveform else self.frontend(audio, t), t)
        return AVOutput(*self.fusion(audio_features, visual_features))

    def check_batch(self, batch: AVBatch) -> None:
        """Raise ``InputError`` if ``batch`` does not fit this model (sample rate, channels)."""
        check_input(self.config, batch)

    @property
    def unimodal_definition(self) -> str | None:
        """None: p_a and p_v are the model's own unimodal heads."""
        return None


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore every submodule's previous mode afterwards
    (a model with some parts kept in eval mode, frozen batch norms say, gets them back as they were)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def set_dropout(model: nn.Module, p: float) -> None:
    """Set the probability of every dropout layer in ``model`` (used by curricula)."""
    if not 0.0 <= p < 1.0:
        raise ConfigError(f"dropout must lie in [0, 1), got {p}")
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
