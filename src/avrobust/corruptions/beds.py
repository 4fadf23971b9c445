"""Environmental sound beds: the audio halves of the scene corruptions, mixed in at AVRobustBench's
SNRs (20, 15, 10, 5, 0 dB). AVRobustBench mixes recordings; none may be downloaded here, so each bed
is synthesised from a documented recipe (below), and ``noise_dir=`` takes a user's real recordings
instead (``NAME*.wav`` or ``NAME/*.wav``, any format PyAV decodes, looped and cut at a random offset).

Every recipe returns ``[N, L]`` at the clips' sample rate; its loudness does not matter (the mix sets
the SNR). Frequencies above 0.45 of the sample rate are cut to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from avrobust.corruptions.sound import (BED_SNR_DB, at_snr, band_gain, bandpass, butterworth, convolve, decay,
                                       events, slow_envelope, spectrum_of, tone)
from avrobust.errors import ConfigError

Bed = Callable[[torch.Generator, int, int, int, torch.device], torch.Tensor]
#: vowels' first two formants (Hz; Peterson and Barney's adult averages) for the babble's syllables
VOWELS = ((730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840))


def _white(g: torch.Generator, n: int, length: int, device: torch.device) -> torch.Tensor:
    return torch.randn(n, length, generator=g, device=device)


def _time(length: int, sr: int, device: torch.device) -> torch.Tensor:
    return torch.arange(length, device=device) / sr


def _cap(freq: float, sr: int) -> float:
    return min(freq, 0.45 * sr)


def wind(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Wind: low rumble (white noise low-passed at 400 Hz) and a whistle band (300-1500 Hz, a third as
    loud) under gusts (a random envelope changing about twice a second)."""
    rumble = butterworth(_white(g, n, length, device), sr, 400, 2)
    whistle = bandpass(_white(g, n, length, device), sr, 300, _cap(1500, sr))
    return (rumble + 0.3 * whistle) * slow_envelope(g, n, length, sr, 2.0, device)


def rain(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Rain: a hiss (white noise 1-8 kHz) and 400 droplets a second (3 ms noise bursts)."""
    hiss = bandpass(_white(g, n, length, device), sr, 1000, _cap(8000, sr))
    kernel = decay(0.003, sr, 0.001, device) * torch.randn(max(1, round(0.003 * sr)), generator=g, device=device)
    return 0.3 * hiss + convolve(events(g, (n, length), 400, sr, device), kernel) * 3


def underwater(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Underwater: a deep rumble (low-passed at 250 Hz, order 4) and six bubbles a second (30 ms chirps
    rising from 400 to 1200 Hz)."""
    rumble = butterworth(_white(g, n, length, device), sr, 250, 4)
    k = max(2, round(0.03 * sr))
    sweep = torch.linspace(400, _cap(1200, sr), k, device=device)[None]
    bubble = tone(sweep, sr, k)[0] * decay(0.03, sr, 0.01, device)[:k]
    return rumble + 0.5 * convolve(events(g, (n, length), 6, sr, device), bubble)


def babble(g: torch.Generator, n: int, length: int, sr: int, device: torch.device, voices: int = 6) -> torch.Tensor:
    """Crowd babble: ``voices`` talkers, each a glottal sawtooth (pitch 90-250 Hz, drifting) through the two
    formants of a random vowel per 0.2 s syllable, with a syllabic envelope (3-5 Hz)."""
    m = n * voices
    t = _time(length, sr, device)
    f0 = (90 + 160 * torch.rand(m, 1, generator=g, device=device)) * (0.9 + 0.2 * slow_envelope(g, m, length, sr, 1, device))
    saw = 2 * (torch.cumsum(f0, -1) / sr % 1.0) - 1
    syllable = (t / 0.2).long().clamp(max=length)
    choice = torch.randint(0, len(VOWELS), (m, int(syllable.max()) + 1), generator=g, device=device)[:, syllable]
    voiced = torch.zeros(m, length, device=device)
    spectrum, freqs = spectrum_of(saw, sr)
    for v, (f1, f2) in enumerate(VOWELS):
        gain = band_gain(freqs, 0.8 * f1, _cap(1.2 * f1, sr)) + 0.5 * band_gain(freqs, 0.8 * _cap(f2, sr), _cap(1.2 * f2, sr))
        voiced = torch.where(choice == v, torch.fft.irfft(spectrum * gain, n=length), voiced)
    rate = 3 + 2 * torch.rand(m, 1, generator=g, device=device)
    phase = 2 * math.pi * torch.rand(m, 1, generator=g, device=device)
    envelope = 0.5 - 0.5 * torch.cos(2 * math.pi * rate * t[None] + phase)
    return (voiced * envelope).view(n, voices, length).sum(1)


def concert(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """A concert: major triads (three harmonics each) changing every 0.5 s on a random root of a C major
    scale (131-247 Hz), a kick drum (a 60 Hz decaying sine) on each chord, and the crowd a quarter as loud."""
    t = _time(length, sr, device)
    bar = (t / 0.5).long()
    scale = torch.tensor([0, 2, 4, 5, 7, 9, 11], device=device)
    roots = scale[torch.randint(0, 7, (n, int(bar.max()) + 1), generator=g, device=device)][:, bar]
    music = torch.zeros(n, length, device=device)
    for step in (0, 4, 7):
        f = 130.8 * 2 ** ((roots + step) / 12)
        for h in (1, 2, 3):
            music = music + tone((f * h).clamp(max=0.45 * sr).float(), sr, length) / h
    kick = tone(torch.full((1, 1), 60.0, device=device), sr, round(0.2 * sr))[0] * decay(0.2, sr, 0.05, device)
    beats = torch.zeros(n, length, device=device)
    beats[:, (torch.arange(0, length, round(0.5 * sr), device=device))] = 4.0
    return music + convolve(beats, kick) + 0.25 * babble(g, n, length, sr, device)


def fire(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Fire and a siren (AVRobustBench's smoke): crackles (30 clicks a second, high-passed at 1 kHz), the
    roar of the flames (low-passed at 200 Hz) and a distant siren (700 +- 250 Hz, one sweep in 2 s)."""
    crackle = butterworth(events(g, (n, length), 30, sr, device), sr, 1000, 2, highpass=True) * 8
    roar = butterworth(_white(g, n, length, device), sr, 200, 2)
    t = _time(length, sr, device)
    start = 2 * math.pi * torch.rand(n, 1, generator=g, device=device)
    siren = tone(700 + 250 * torch.sin(math.pi * t[None] + start), sr, length)
    return crackle + roar + 0.3 * siren


def radio(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Radio interference: static (white noise 300-3000 Hz, gated on and off about 20 times a second), a
    mains buzz (50 Hz with its odd harmonics to 450 Hz) and a heterodyne whistle drifting 1-2 kHz."""
    static = bandpass(_white(g, n, length, device), sr, 300, _cap(3000, sr))
    gate = (slow_envelope(g, n, length, sr, 20, device, floor=0.0) > 0.4).float()
    t = _time(length, sr, device)
    buzz = sum(torch.sin(2 * math.pi * 50 * k * t) / k for k in (1, 3, 5, 7, 9))[None].expand(n, length)
    whistle = tone(_cap(1000, sr) + (_cap(2000, sr) - _cap(1000, sr)) * slow_envelope(g, n, length, sr, 0.5, device, 0.0), sr, length)
    return static * gate + 0.5 * buzz + 0.2 * whistle


def snow(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Footsteps in snow: crunches (noise 500-4000 Hz under 0.25 s decaying steps, about two a second)
    over a soft wind a tenth as loud."""
    k = round(0.25 * sr)
    steps = convolve(events(g, (n, length), 2, sr, device).abs(), decay(0.25, sr, 0.08, device)[:k])
    crunch = bandpass(_white(g, n, length, device), sr, 500, _cap(4000, sr)) * steps
    return crunch + 0.1 * wind(g, n, length, sr, device)


def frost(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Ice cracking: 15 sharp clicks a second ringing at 2.5 kHz (3 ms) and creaks (a 150-300 Hz buzz
    about once a second)."""
    k = max(2, round(0.02 * sr))
    ring = tone(torch.full((1, 1), _cap(2500, sr), device=device), sr, k)[0] * decay(0.02, sr, 0.003, device)[:k]
    clicks = convolve(events(g, (n, length), 15, sr, device), ring)
    creak = tone(150 + 150 * slow_envelope(g, n, length, sr, 3, device, 0.0), sr, length).sign()
    return clicks + 0.1 * creak * (slow_envelope(g, n, length, sr, 1, device, 0.0) > 0.7)


def drops(g: torch.Generator, n: int, length: int, sr: int, device: torch.device) -> torch.Tensor:
    """Water drops (AVRobustBench's spatter): eight plinks a second, 40 ms tones rising from 800 to 1600 Hz."""
    k = max(2, round(0.04 * sr))
    sweep = torch.linspace(800, _cap(1600, sr), k, device=device)[None]
    plink = tone(sweep, sr, k)[0] * decay(0.04, sr, 0.015, device)[:k]
    return convolve(events(g, (n, length), 8, sr, device), plink)


def recorded(noise_dir: Path, name: str, g: torch.Generator, n: int, length: int, sr: int,
             device: torch.device, cache: dict[str, list[np.ndarray]]) -> torch.Tensor:
    """Clip-length cuts of the recordings ``noise_dir/NAME*`` or ``noise_dir/NAME/*`` (random file and
    offset per clip, looped when short)."""
    if name not in cache:
        from avrobust.data.decode import DecodeConfig, _decode_audio, probe_duration

        files = sorted({*noise_dir.glob(f"{name}*.*"), *(noise_dir / name).glob("*.*")})
        if not files:
            raise ConfigError(f"no recordings for the {name!r} sound bed in {noise_dir}; add {name}*.wav there "
                              "or leave noise_dir out for the synthesised bed")
        waves = []
        for f in files:
            seconds = max(0.25, probe_duration(f))
            wave = _decode_audio(f, DecodeConfig(frames=1, size=8, sample_rate=sr, seconds=seconds,
                                                 min_seconds=0.25), 0.0)
            if wave is not None:
                waves.append(wave.numpy())
        cache[name] = waves
    waves = cache[name]
    if not waves:
        raise ConfigError(f"the recordings for {name!r} in {noise_dir} have no audio stream")
    out = torch.empty(n, length, device=device)
    picks = torch.randint(0, len(waves), (n,), generator=g, device=device).tolist()
    offsets = torch.rand(n, generator=g, device=device).tolist()
    for i, (p, o) in enumerate(zip(picks, offsets)):
        wave = np.resize(waves[p], max(length, waves[p].size) * 2)  # looped
        start = int(o * max(waves[p].size, 1))
        out[i] = torch.from_numpy(wave[start:start + length]).to(device)
    return out


class _Bed:
    """Mixin of the scene corruptions: the audio half mixes the bed named ``bed`` (the synthesised recipe of
    that name, or a user's recordings of the corruption's name in ``noise_dir``) at the severity's SNR."""

    bed: Bed
    name: str
    noise_dir: Path | None

    def bed_audio(self, audio: torch.Tensor, sample_rate: int, severity: int, g: torch.Generator) -> torch.Tensor:
        n, length = audio.shape
        if self.noise_dir is not None:
            cache = self.__dict__.setdefault("_recordings", {})
            noise = recorded(self.noise_dir, self.name, g, n, length, sample_rate, audio.device, cache)
        else:
            noise = type(self).bed(g, n, length, sample_rate, audio.device)
        return at_snr(audio, noise, BED_SNR_DB[severity - 1])
