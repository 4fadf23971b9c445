"""Differentiable audio front end: waveform -> log-mel spectrogram, in plain torch.

The STFT is framed so that each aligned audio segment of ``S`` samples yields exactly
``S / hop_length`` spectrogram frames (the waveform is reflect-padded by ``n_fft - hop_length``
split over both ends, then framed without centring), so the time axis of the log-mel is
segment-aligned for any number of segments T.
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
    """``[N, L]`` waveform in [-1, 1] -> ``[N, 1, L / hop_length, n_mels]`` normalised log-mel.

    Args:
        sample_rate: expected input rate in Hz (checked against the batch by the classifier).
        n_fft: FFT size in samples; hop_length: hop in samples (must divide the segment length).
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
        """Spectrogram frames per aligned segment; errors if the hop does not divide it."""
        if samples_per_segment % self.hop_length:
            raise InputError(
                f"audio segments of {samples_per_segment} samples are not a multiple of the "
                f"front end's hop_length {self.hop_length}; resample the audio or rebuild the model"
            )
        return samples_per_segment // self.hop_length

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        pad = self.n_fft - self.hop_length
        # Reflect padding needs pad < length; fall back to zeros for very short inputs.
        mode = "reflect" if audio.shape[-1] > pad else "constant"
        x = nn.functional.pad(audio[:, None], (pad // 2, pad - pad // 2), mode=mode)[:, 0]
        spec = torch.stft(x, self.n_fft, self.hop_length, window=self.window, center=False,
                          return_complex=True)
        power = spec.real.square() + spec.imag.square()  # [N, F, frames]
        mel = torch.matmul(self.mel, power)  # [N, n_mels, frames]
        logmel = (torch.log(mel + self.log_offset) - self.mean) / self.std
        return logmel.transpose(1, 2)[:, None]  # [N, 1, frames, n_mels]
