"""Waveform operations the audio corruptions are made of, batched in torch on the clips' device.

Waveforms are ``[N, L]`` in [-1, 1]; SNRs in dB, frequencies in Hz, times in seconds.
"""

from __future__ import annotations

import math

import torch

#: additive audio noise per severity 1-5 (AVRobustBench's NOISE_SNRS)
NOISE_SNR_DB = (40.0, 30.0, 20.0, 10.0, 0.0)
#: environmental sound beds per severity 1-5 (AVRobustBench's add_env_noise)
BED_SNR_DB = (20.0, 15.0, 10.0, 5.0, 0.0)


def power(x: torch.Tensor) -> torch.Tensor:
    """Mean square per clip ``[N, 1]``."""
    return x.pow(2).mean(-1, keepdim=True)


def at_snr(clean: torch.Tensor, noise: torch.Tensor, snr_db: float, refine: int = 4) -> torch.Tensor:
    """``clip(clean + a * noise, -1, 1)`` with ``a`` per clip such that the corrupted waveform's SNR against
    the clean one is ``snr_db``: exact without clipping; where the mix clips, ``refine`` fixed-point steps
    rescale ``a`` by the SNR still missing (so clipping does not make the corruption milder than stated,
    as far as a louder noise can make up for it). A silent clip or a silent noise stays as it was."""
    target = power(clean) / 10 ** (snr_db / 10)
    scale = torch.sqrt(target / power(noise).clamp(min=1e-12))
    scale = torch.where(power(noise) > 1e-12, scale, torch.zeros_like(scale))
    mixed = (clean + scale * noise).clamp(-1, 1)
    for _ in range(refine):
        got = power(mixed - clean)
        if bool(((got - target).abs() <= 1e-3 * target).all()):
            break
        scale = scale * torch.sqrt(target / got.clamp(min=1e-12))
        mixed = (clean + scale * noise).clamp(-1, 1)
    return mixed


def snr_db(clean: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
    """Measured SNR of ``corrupted`` against ``clean`` per clip ``[N]`` (dB)."""
    return 10 * torch.log10(power(clean) / power(corrupted - clean).clamp(min=1e-20)).squeeze(-1)


def butterworth_gain(freqs: torch.Tensor, cutoff: float, order: int, *, highpass: bool = False) -> torch.Tensor:
    """A Butterworth magnitude response of ``order`` at ``cutoff`` Hz at ``freqs`` (low-pass unless ``highpass``)."""
    ratio = (freqs / cutoff) if not highpass else (cutoff / freqs.clamp(min=1e-6))
    return 1 / torch.sqrt(1 + ratio.pow(2 * order))


def band_gain(freqs: torch.Tensor, low: float, high: float, order: int = 2) -> torch.Tensor:
    """The gain of :func:`bandpass` at ``freqs``."""
    return butterworth_gain(freqs, low, order, highpass=True) * butterworth_gain(freqs, high, order)


def spectrum_of(x: torch.Tensor, sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rfft of x, its frequencies in Hz)``: filter by multiplying the first by a gain of the second."""
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / sample_rate).to(x.device)
    return torch.fft.rfft(x, dim=-1), freqs


def butterworth(x: torch.Tensor, sample_rate: int, cutoff: float, order: int, *, highpass: bool = False) -> torch.Tensor:
    """Filter with a Butterworth magnitude response of ``order`` at ``cutoff`` Hz, zero phase (in the
    frequency domain), low-pass unless ``highpass``."""
    spectrum, freqs = spectrum_of(x, sample_rate)
    gain = butterworth_gain(freqs, cutoff, order, highpass=highpass)
    return torch.fft.irfft(spectrum * gain, n=x.shape[-1], dim=-1)


def bandpass(x: torch.Tensor, sample_rate: int, low: float, high: float, order: int = 2) -> torch.Tensor:
    """Band-pass between ``low`` and ``high`` Hz (a Butterworth high-pass then low-pass)."""
    spectrum, freqs = spectrum_of(x, sample_rate)
    gain = band_gain(freqs, low, min(high, 0.49 * sample_rate), order)
    return torch.fft.irfft(spectrum * gain, n=x.shape[-1], dim=-1)


def convolve(signal: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Causal convolution of ``signal`` ``[N, L]`` with ``kernel`` ``[K]`` or ``[N, K]`` (FFT), cut to L."""
    n = signal.shape[-1] + kernel.shape[-1]
    out = torch.fft.irfft(torch.fft.rfft(signal, n=n) * torch.fft.rfft(kernel, n=n), n=n)
    return out[..., : signal.shape[-1]]


def events(g: torch.Generator, shape: tuple[int, int], rate: float, sample_rate: int,
           device: torch.device) -> torch.Tensor:
    """A Poisson train of impulses at ``rate`` per second with random amplitudes in [0.3, 1] and signs ``[N, L]``."""
    p = min(1.0, rate / sample_rate)
    hits = torch.rand(shape, generator=g, device=device) < p
    amp = 0.3 + 0.7 * torch.rand(shape, generator=g, device=device)
    sign = torch.randint(0, 2, shape, generator=g, device=device) * 2 - 1
    return hits * amp * sign


def decay(seconds: float, sample_rate: int, tau: float, device: torch.device) -> torch.Tensor:
    """An exponential envelope ``exp(-t / tau)`` over ``seconds`` ``[K]``."""
    t = torch.arange(max(1, round(seconds * sample_rate)), device=device) / sample_rate
    return torch.exp(-t / tau)


def tone(freq: torch.Tensor, sample_rate: int, length: int) -> torch.Tensor:
    """Sines of time-varying frequency ``freq`` (``[N, L]`` or ``[N, 1]`` Hz), integrated phase ``[N, L]``."""
    freq = freq.expand(freq.shape[0], length)
    phase = 2 * math.pi * torch.cumsum(freq, dim=-1) / sample_rate
    return torch.sin(phase)


def slow_envelope(g: torch.Generator, n: int, length: int, sample_rate: int, hz: float, device: torch.device,
                  floor: float = 0.2) -> torch.Tensor:
    """A smooth random envelope in [floor, 1] varying about ``hz`` times a second ``[N, L]``."""
    knots = max(2, math.ceil(length / sample_rate * hz) + 2)
    values = torch.rand(n, 1, knots, generator=g, device=device)
    env = torch.nn.functional.interpolate(values, size=length, mode="linear", align_corners=True)[:, 0]
    return floor + (1 - floor) * env


def silence(audio: torch.Tensor, share: float, chunks: int, min_len: int, g: torch.Generator) -> torch.Tensor:
    """Silence ``share`` of each clip's samples in up to ``chunks`` windows of equal length, fewer where a
    window would be shorter than ``min_len`` samples; the clip is cut into as many equal slots and each
    window starts at a random place in its slot (so windows never overlap and the share is exact)."""
    n, length = audio.shape
    total = int(round(share * length))
    count = max(1, min(chunks, total // max(min_len, 1)))
    size, slot = total // count, length // count
    starts = torch.arange(count, device=audio.device) * slot + (
        torch.rand(n, count, generator=g, device=audio.device) * (slot - size + 1)).long()
    pos = torch.arange(length, device=audio.device)
    muted = ((pos[None, None] >= starts[..., None]) & (pos[None, None] < starts[..., None] + size)).any(1)
    return audio.masked_fill(muted, 0.0)
