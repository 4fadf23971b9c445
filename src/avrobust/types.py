"""The audio-visual batch every part of avrobust passes around.

Conventions (the units budgets are expressed in):
    video: ``[N, T, C, H, W]`` float32 in [0, 1] (RGB, C = 3).
    audio: ``[N, L]`` float32 mono waveform in [-1, 1], ``L = T * samples_per_segment``, so that
        audio segment ``t`` (samples ``t*S : (t+1)*S``) is aligned with frame ``t``.
    fps: frames per second; sample_rate: audio samples per second. For aligned clips
        ``samples_per_segment == sample_rate / fps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from avrobust.errors import InputError

VIDEO_RANGE = (0.0, 1.0)
AUDIO_RANGE = (-1.0, 1.0)
MODALITIES = ("video", "audio")


def check_values(name: str, x: torch.Tensor, valid: tuple[float, float], atol: float = 1e-6) -> None:
    """Raise an ``InputError`` naming ``name`` unless ``x`` is a finite float tensor in ``valid`` (+- ``atol``)."""
    lo, hi = valid
    if not x.is_floating_point():
        raise InputError(f"{name} must be a float tensor, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise InputError(f"{name} contains NaN or inf values; clean the input first")
    if x.numel() and (x.min() < lo - atol or x.max() > hi + atol):
        raise InputError(f"{name} values lie in [{x.min().item():.4g}, {x.max().item():.4g}] but must lie in [{lo}, {hi}]")


@dataclass(frozen=True)
class AVBatch:
    """A batch of aligned clips. Construction checks shapes; :meth:`validate` checks values."""

    video: torch.Tensor
    audio: torch.Tensor
    fps: float
    sample_rate: int

    def __post_init__(self) -> None:
        if self.video.dim() != 5:
            raise InputError(
                f"video must be [N, T, C, H, W], got shape {tuple(self.video.shape)}"
            )
        if self.audio.dim() != 2:
            raise InputError(f"audio must be a mono waveform [N, L], got shape {tuple(self.audio.shape)}")
        n, t = self.video.shape[:2]
        if self.audio.shape[0] != n:
            raise InputError(f"video has {n} clips but audio has {self.audio.shape[0]}")
        if t < 1 or self.audio.shape[1] % t:
            raise InputError(
                f"audio length {self.audio.shape[1]} is not a multiple of the {t} frames; "
                "cut or pad the waveform to T * samples_per_segment"
            )
        if self.fps <= 0 or self.sample_rate <= 0:
            raise InputError(f"fps ({self.fps}) and sample_rate ({self.sample_rate}) must be > 0")

    # ---- shape helpers -------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of clips N."""
        return int(self.video.shape[0])

    @property
    def frames(self) -> int:
        """Number of aligned segments T."""
        return int(self.video.shape[1])

    @property
    def samples_per_segment(self) -> int:
        """Audio samples aligned with one frame, ``L // T``."""
        return int(self.audio.shape[1] // self.frames)

    def audio_segments(self) -> torch.Tensor:
        """The waveform cut into its T aligned segments, ``[N, T, S]`` (a view)."""
        return self.audio.view(self.size, self.frames, self.samples_per_segment)

    # ---- checks --------------------------------------------------------------------------------
    def validate(self, atol: float = 1e-6) -> AVBatch:
        """Check dtype, finiteness and ranges; return ``self`` so it chains.

        Raises:
            InputError: naming the modality and the problem.
        """
        check_values("video", self.video, VIDEO_RANGE, atol)
        check_values("audio", self.audio, AUDIO_RANGE, atol)
        return self

    # ---- transforms ----------------------------------------------------------------------------
    def to(self, device: torch.device | str) -> AVBatch:
        """Move both modalities to ``device``."""
        return replace(self, video=self.video.to(device), audio=self.audio.to(device))

    def with_inputs(self, video: torch.Tensor, audio: torch.Tensor) -> AVBatch:
        """A batch with the same timing and new tensors (e.g. adversarial ones)."""
        return replace(self, video=video, audio=audio)

    def index(self, idx: torch.Tensor | slice | Sequence[int]) -> AVBatch:
        """Select clips (first dimension)."""
        return replace(self, video=self.video[idx], audio=self.audio[idx])

    def select_segments(self, segments: Sequence[int] | torch.Tensor) -> AVBatch:
        """Keep the given segment indices in both modalities: a shorter, still aligned batch.

        Args:
            segments: indices in ``[0, T)``, in the order they should appear (``T' >= 1``).
        """
        idx = torch.as_tensor(segments, dtype=torch.long, device=self.video.device).flatten()
        if idx.numel() < 1:
            raise InputError("select_segments needs at least one segment index")
        if idx.min() < 0 or idx.max() >= self.frames:
            raise InputError(f"segment indices must lie in [0, {self.frames}), got {idx.tolist()}")
        audio = self.audio_segments()[:, idx].reshape(self.size, -1)
        return replace(self, video=self.video[:, idx], audio=audio)

    def mask_segments(
        self,
        video_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        video_fill: float = 0.0,
        audio_fill: float = 0.0,
    ) -> AVBatch:
        """Replace masked segments by a constant (black frames, silence).

        Args:
            video_mask: bool ``[N, T]`` or ``[T]``; True means the frame's segment is dropped; ``None``
                leaves the video untouched.
            audio_mask: the same for the audio segments. Equal masks give synchronous masking, different
                ones asynchronous masking (see :func:`segment_masks`).
            video_fill: the value of a dropped frame (0: black).
            audio_fill: the value of a dropped audio segment (0: silence).
        """
        video, audio = self.video, self.audio
        if video_mask is not None:
            m = self._expand_mask(video_mask)[:, :, None, None, None]
            video = torch.where(m, torch.full_like(video, video_fill), video)
        if audio_mask is not None:
            m = self._expand_mask(audio_mask)[:, :, None]
            seg = torch.where(m, torch.full_like(self.audio_segments(), audio_fill), self.audio_segments())
            audio = seg.reshape(self.size, -1)
        return replace(self, video=video, audio=audio)

    def _expand_mask(self, mask: torch.Tensor) -> torch.Tensor:
        mask = torch.as_tensor(mask, dtype=torch.bool, device=self.video.device)
        if mask.dim() == 1:
            mask = mask.expand(self.size, -1)
        if tuple(mask.shape) != (self.size, self.frames):
            raise InputError(
                f"segment mask must be [N, T] = [{self.size}, {self.frames}] or [T], "
                f"got {tuple(mask.shape)}"
            )
        return mask


def segment_masks(
    n: int,
    frames: int,
    ratio: float,
    *,
    synchronous: bool = True,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random segment masks dropping ``round(ratio * T)`` of the T segments per clip.

    Synchronous masking drops the same segments in both modalities; asynchronous masking draws
    the audio segments independently of the video ones.

    Returns:
        ``(video_mask, audio_mask)``, bool ``[N, T]``, True where a segment is dropped.
    """
    if not 0.0 <= ratio <= 1.0:
        raise InputError(f"masking ratio must lie in [0, 1], got {ratio}")
    k = int(round(ratio * frames))

    def draw() -> torch.Tensor:
        scores = torch.rand(n, frames, generator=generator, device=device)
        ranks = scores.argsort(dim=1).argsort(dim=1)
        return ranks < k

    video_mask = draw()
    audio_mask = video_mask.clone() if synchronous else draw()
    return video_mask, audio_mask
