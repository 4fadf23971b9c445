"""Accuracy counting that aggregates exactly (counts, not averages of averages)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from avrobust.errors import AvrobustError
from avrobust.models.classifier import AVOutput


class ModelOutputError(AvrobustError):
    """The model produced NaN or inf outputs."""


def check_finite(output: AVOutput, where: str = "") -> None:
    """Raise :class:`ModelOutputError` if any logits are NaN or inf."""
    for name in ("logits", "audio_logits", "visual_logits"):
        if not torch.isfinite(getattr(output, name)).all():
            raise ModelOutputError(
                f"the model produced NaN/inf {name.replace('_', ' ')}{where}; "
                "the checkpoint may be corrupt or training diverged (lower the learning rate)"
            )


@dataclass
class Counts:
    """Correct predictions of the fused and unimodal heads over ``n`` clips, and (``missing``) of the fused
    model with one modality missing: ``no_audio`` (the audio silenced), ``no_video`` (every frame replaced
    by the clip's mean colour); counted on ``missing_n`` clips (0: not measured)."""

    n: int = 0
    correct: int = 0
    audio_correct: int = 0
    visual_correct: int = 0
    missing_n: int = 0
    no_audio_correct: int = 0
    no_video_correct: int = 0

    def update(self, output: AVOutput, labels: torch.Tensor) -> None:
        self.n += int(labels.numel())
        self.correct += int((output.logits.argmax(1) == labels).sum())
        self.audio_correct += int((output.audio_logits.argmax(1) == labels).sum())
        self.visual_correct += int((output.visual_logits.argmax(1) == labels).sum())

    def update_missing(self, no_audio: torch.Tensor, no_video: torch.Tensor, labels: torch.Tensor) -> None:
        """Count the fused predictions ``no_audio`` / ``no_video`` (logits ``[N, K]``) of clips missing a modality."""
        self.missing_n += int(labels.numel())
        self.no_audio_correct += int((no_audio.argmax(1) == labels).sum())
        self.no_video_correct += int((no_video.argmax(1) == labels).sum())

    def merge(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_tensor(self) -> torch.Tensor:
        """Counts as an int64 tensor (for an all-reduce)."""
        return torch.tensor([getattr(self, f.name) for f in fields(self)], dtype=torch.int64)

    @classmethod
    def from_tensor(cls, t: torch.Tensor) -> Counts:
        return cls(*(int(v) for v in t.tolist()))

    def metrics(self) -> dict[str, float | int]:
        """``n``, ``clean_accuracy``, ``audio_only_accuracy``, ``visual_only_accuracy`` and, when measured,
        ``no_audio_accuracy`` and ``no_video_accuracy`` (the fused model missing a modality)."""
        d = max(self.n, 1)
        missing = {"no_audio_accuracy": self.no_audio_correct / self.missing_n,
                   "no_video_accuracy": self.no_video_correct / self.missing_n} if self.missing_n else {}
        return {
            "n": self.n,
            "clean_accuracy": self.correct / d,
            "audio_only_accuracy": self.audio_correct / d,
            "visual_only_accuracy": self.visual_correct / d,
        } | missing
