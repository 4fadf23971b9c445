"""What the engine needs from a classifier, declared once: :class:`AVModel` and its output
:class:`AVOutputLike`. The zoo's :class:`~avrobust.models.AVClassifier`, a user's model behind
:func:`avrobust.wrap` and an :class:`~avrobust.attacks.Ensemble` all satisfy it; every attack,
evaluation, transfer matrix and trainer takes any of them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from avrobust.errors import InputError
from avrobust.types import AVBatch


class AVOutputLike(Protocol):
    """A classifier's output: fused logits ``[N, K]``; unimodal logits ``[N, K]`` (p_a, p_v before the
    softmax; MMA, TMA and the unimodal accuracies); per-segment features ``[N, T', D]`` (TIA, TMA);
    ``unimodal``: ``heads`` (the model's own unimodal heads) or ``ablation`` (see :func:`avrobust.wrap`)."""

    logits: torch.Tensor
    audio_logits: torch.Tensor
    visual_logits: torch.Tensor
    audio_features: torch.Tensor
    visual_features: torch.Tensor
    unimodal: str


class ModelConfigLike(Protocol):
    """The two facts of a model's configuration the engine reads."""

    num_classes: int
    sample_rate: int


@runtime_checkable
class AVModel(Protocol):
    """An audio-visual classifier avrobust can attack, evaluate and train.

    Called as ``model(video, audio)`` on raw inputs (video ``[N, T, 3, H, W]`` in [0, 1], audio
    ``[N, L]`` in [-1, 1]; normalisation and the audio front end live inside, so budgets keep their
    units) it returns an :class:`AVOutputLike`. ``check_batch`` raises a one-line error when a batch
    does not fit (sample rate, channels, a wrapped model's layout); ``unimodal_definition`` is None
    when p_a, p_v are the model's own heads, else how they are defined (reported with the results).
    """

    config: ModelConfigLike
    training: bool

    def __call__(self, video: torch.Tensor, audio: torch.Tensor) -> AVOutputLike: ...

    def check_batch(self, batch: AVBatch) -> None: ...

    @property
    def unimodal_definition(self) -> str | None: ...

    def parameters(self, recurse: bool = True) -> Any: ...

    def eval(self) -> Any: ...


def model_device(model: AVModel) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def check_input(config: ModelConfigLike, batch: AVBatch, fix: str = "use matching data or retrain") -> None:
    """The checks every classifier makes of a batch: the audio's sample rate and RGB frames."""
    if batch.sample_rate != config.sample_rate:
        raise InputError(f"the data's audio is at {batch.sample_rate} Hz but the model expects "
                         f"{config.sample_rate} Hz; {fix}")
    if batch.video.shape[2] != 3:
        raise InputError(f"video must have 3 (RGB) channels, got {batch.video.shape[2]}")
