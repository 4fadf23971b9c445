"""Differentiable audio front end: waveform -> log-mel spectrogram, in plain torch.

The STFT is framed per aligned segment: a segment of ``S`` samples yields
``k = max(1, round(S / hop_length))`` spectrogram frames whose centres sit at ``(j + 1/2) S / k``
within the segment (rounded to a sample), so the time axis of the log-mel is exactly
segment-aligned for any number of segments T and any segment length (the effective hop is
``S / k``; when ``hop_length`` divides ``S`` it is ``hop_length`` and the frames are those of a
plain STFT with ``(n_fft - hop_length)`` samples of reflect padding split over both ends).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from avrobust.errors import ConfigError, InputError


@lru_cache(maxsize=16)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised mel filterbank ``[n_mels, n_fft // 2 + 1]`` (librosa's definition)."""
    from librosa.filters import mel

    return mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


class LogMel(nn.Module):
    """``[N, L]`` waveform in [-1, 1] of T aligned segments -> ``[N, 1, T * k, n_mels]`` normalised log-mel.

    Args:
        sample_rate: expected input rate in Hz (checked against the batch by the classifier).
        n_fft: FFT size in samples; hop_length: the nominal hop in samples (each aligned segment
            gets ``round(S / hop_length)`` frames, at least one).
        n_mels: mel bands; fmin/fmax: band edges in Hz (fmax None = Nyquist).
        log_offset: added before the log (avoids log 0); mean/std: fixed normalisation of the
            log-mel (part of the model, so budgets stay in waveform units).
    """

    def __init__(
        self,
        sample_rate: int = 8000,
        n_fft: int = 256,
        hop_length: int = 125,
        n_mels: int = 40,
        fmin: float = 50.0,
        fmax: float | None = None,
        log_offset: float = 1e-4,
        mean: float = -5.0,
        std: float = 3.0,
    ) -> None:
        super().__init__()
        if not 0 < hop_length <= n_fft:
            raise ConfigError(f"hop_length must lie in (0, n_fft={n_fft}], got {hop_length}")
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.log_offset, self.mean, self.std = log_offset, mean, std
        fmax = sample_rate / 2 if fmax is None else fmax
        basis = mel_basis(sample_rate, n_fft, n_mels, fmin, fmax)
        self.register_buffer("mel", torch.from_numpy(basis.copy()), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def frames_per_segment(self, samples_per_segment: int) -> int:
        """Spectrogram frames per aligned segment of ``samples_per_segment`` samples (>= 1)."""
        if samples_per_segment < 1:
            raise InputError(f"audio segments must hold at least one sample, got {samples_per_segment}")
        return max(1, round(samples_per_segment / self.hop_length))

    def frame_offsets(self, samples_per_segment: int) -> list[int]:
        """Start of each frame of a segment relative to the segment's start (may be negative).

        Frame ``j`` of ``k`` is centred at ``(j + 1/2) S / k``, rounded half up to a sample.
        """
        s, k = samples_per_segment, self.frames_per_segment(samples_per_segment)
        return [(2 * j * s + s - k * self.n_fft + k) // (2 * k) for j in range(k)]

    def forward(self, audio: torch.Tensor, segments: int = 1) -> torch.Tensor:
        """``[N, L]`` waveform cut into ``segments`` aligned segments -> ``[N, 1, segments * k, n_mels]``."""
        n, length = audio.shape
        if segments < 1 or length % segments:
            raise InputError(f"audio of {length} samples cannot be cut into {segments} equal segments")
        s = length // segments
        offsets = self.frame_offsets(s)
        left, right = max(0, -offsets[0]), max(0, offsets[-1] + self.n_fft - s)
        # Reflect padding needs pad < length; fall back to zeros for very short inputs.
        mode = "reflect" if length > max(left, right) else "constant"
        x = nn.functional.pad(audio[:, None], (left, right), mode=mode)[:, 0]
        span = (segments - 1) * s + self.n_fft
        frames = torch.stack([x[:, left + o: left + o + span].unfold(-1, self.n_fft, s) for o in offsets], dim=2)
        spec = torch.fft.rfft(frames.reshape(n, -1, self.n_fft) * self.window)  # [N, T * k, n_fft // 2 + 1]
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(power, self.mel.t())  # [N, T * k, n_mels]
        logmel = (torch.log(mel + self.log_offset) - self.mean) / self.std
        return logmel[:, None]  # [N, 1, frames, n_mels]
