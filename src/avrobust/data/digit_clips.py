"""``digits``: an embedded audio-visual benchmark of real ingredients, built offline on first use.

One clip of digit ``c``:

* **Video**: one of the 1,797 real handwritten digit scans that scikit-learn ships (8x8, 16 grey
  levels), scaled to a drawn size (50-75 % of the frame), in a drawn bright colour, moving in a
  straight line between two drawn points over T frames, on a dim textured background (smooth colour
  noise of a drawn scale, values 0.1-0.5) with static clutter (1-3 bright one-pixel strokes) and
  pixel noise. (The texture is dim and the digits large because a bright texture let networks
  memorise each clip's background instead of the digit; benchmarks/RESULTS.md.)
* **Audio**: the digit's name ("zero" ... "nine") spoken by espeak-ng (:mod:`avrobust.data.speech`)
  in a drawn voice (accent + variant), pitch and speed, starting at a drawn onset, over background
  noise at a drawn SNR (``snr_min``-``snr_max`` dB).
* **Each modality alone informative, not sufficient**: with probability ``p_video_missing`` the digit
  is absent (clutter only), with ``p_audio_missing`` the word is absent (noise only), independently.
  A perfect audio-only classifier therefore reaches at most ``1 - p_audio_missing (1 - 1/10)``
  (0.865 at the defaults), likewise visual-only, and a fused one ``1 - p_a p_v (1 - 1/10)`` (0.98).
* **Splits disjoint by writer and voice**: the scans of each digit and the voices are split 60/20/20
  into train/val/test pools by the seed, so test clips show unseen scans spoken by unseen voices.

The seed makes a split byte-for-byte reproducible (speech is synthesised in a fresh process); it is
generated once into a safetensors cache (``AVROBUST_CACHE`` or ``~/.cache/avrobust``; atomic, one
file per split, so an interrupted build keeps its finished splits) and then loads like ``synth``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from avrobust.data.synthetic import AlignedTiming
from avrobust.errors import ConfigError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLITS = ("train", "val", "test")
VERSION = 3  # bump when the recipe changes: older caches are then not reused


@dataclass(frozen=True)
class DigitsConfig(AlignedTiming):
    """Options of ``digits`` (the dataset-spec keys); see the module docstring for the recipe."""

    clips_per_class: int = 100
    eval_clips_per_class: int = 40
    frames: int = 8
    size: int = 32
    sample_rate: int = 8000
    seconds: float = 1.0
    seed: int = 0
    p_video_missing: float = 0.15
    p_audio_missing: float = 0.15
    snr_min: float = 0.0
    snr_max: float = 20.0

    def __post_init__(self) -> None:
        checks = [(self.clips_per_class >= 1 and self.eval_clips_per_class >= 1, "clips per class must be >= 1"),
                  (1 <= self.frames <= 64, "frames must lie in [1, 64]"), (16 <= self.size <= 256, "size must lie in [16, 256]"),
                  (4000 <= self.sample_rate <= 22050, "sample_rate must lie in [4000, 22050]"),
                  (0.8 <= self.seconds <= 4.0, "seconds must lie in [0.8, 4] (a spoken digit takes up to 0.7 s)"),
                  (0 <= self.p_video_missing <= 1 and 0 <= self.p_audio_missing <= 1, "probabilities lie in [0, 1]"),
                  (self.snr_min <= self.snr_max, "snr_min must be <= snr_max"),
                  (0 <= self.seed < 2**63, "seed must lie in [0, 2**63)")]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"digits: {message}")
        self.check_fits("digits", 10 * max(self.clips_per_class, self.eval_clips_per_class), self.size)



def cache_key(config: DigitsConfig) -> str:
    """What names a build in the cache: a hash of the recipe version and every option."""
    return hashlib.sha256(json.dumps({"version": VERSION, **asdict(config)}, sort_keys=True).encode()).hexdigest()[:16]



def pools(config: DigitsConfig, labels: np.ndarray, voices: list[str]) -> dict[str, tuple[list[np.ndarray], list[str]]]:
    """Per split, the scan indices of each digit and the voices it may use (60/20/20, disjoint)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 99]))
    out: dict[str, tuple[list[np.ndarray], list[str]]] = {s: ([], []) for s in SPLITS}
    for c in range(10):
        scans = rng.permutation(np.flatnonzero(labels == c))
        cut = [int(0.6 * len(scans)), int(0.8 * len(scans))]
        for s, part in zip(SPLITS, np.split(scans, cut)):
            out[s][0].append(part)
    order = [voices[i] for i in rng.permutation(len(voices))]
    cut = [int(0.6 * len(order)), int(0.8 * len(order))]
    for s, part in zip(SPLITS, np.split(np.arange(len(order)), cut)):
        out[s][1].extend(order[i] for i in part)
    return out


def generate(config: DigitsConfig, split: str) -> dict[str, torch.Tensor]:
    """One split: ``video [N, T, 3, H, W]``, ``audio [N, L]``, ``labels``, ``video_missing``, ``audio_missing``."""
    from sklearn.datasets import load_digits

    from avrobust.data import speech

    scans = load_digits()
    split_pools = pools(config, scans.target, speech.voices())
    scan_pool, voice_pool = split_pools[split]
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, SPLITS.index(split)]))
    per_class = config.clips_per_class if split == "train" else config.eval_clips_per_class
    labels = rng.permutation(np.repeat(np.arange(10), per_class))
    n, t = len(labels), config.frames
    video_missing = rng.random(n) < config.p_video_missing
    audio_missing = rng.random(n) < config.p_audio_missing
    utterances = [speech.Utterance(WORDS[c], voice_pool[rng.integers(len(voice_pool))], int(rng.integers(20, 81)),
                                   int(rng.integers(130, 231)), int(rng.integers(2**31))) for c in labels]
    words = speech.speak(utterances)
    video = np.empty((n, t, 3, config.size, config.size), dtype=np.float32)
    length = t * config.samples_per_segment
    audio = np.empty((n, length), dtype=np.float32)
    for i, c in enumerate(labels):
        scan = scans.images[rng.choice(scan_pool[c])] / 16.0
        video[i] = _render_video(rng, config, scan, video_missing[i])
        audio[i] = _render_audio(rng, config, words[i], audio_missing[i], length)
    return {"video": torch.from_numpy(video), "audio": torch.from_numpy(audio), "labels": torch.from_numpy(labels),
            "video_missing": torch.from_numpy(video_missing), "audio_missing": torch.from_numpy(audio_missing)}


def _render_video(rng: np.random.Generator, config: DigitsConfig, scan: np.ndarray, missing: bool) -> np.ndarray:
    size, t = config.size, config.frames
    grid = int(rng.integers(3, 9))  # texture scale: a grid x grid colour field, smoothly upsampled
    field = torch.from_numpy(rng.random((1, 3, grid, grid), dtype=np.float32))
    bg = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=False)[0].numpy()
    bg = np.clip(0.1 + 0.4 * bg, 0, 1)  # a dim texture: the digit, drawn bright, stands out
    for _ in range(int(rng.integers(1, 4))):  # clutter strokes, as bright as a digit's
        x0, y0 = rng.integers(0, size, 2)
        length = int(rng.integers(size // 4, size // 2))
        if rng.random() < 0.5:
            bg[:, y0:y0 + 1, x0:x0 + length] = rng.uniform(0.4, 1.0, (3, 1, 1))
        else:
            bg[:, y0:y0 + length, x0:x0 + 1] = rng.uniform(0.4, 1.0, (3, 1, 1))
    frames = np.repeat(bg[None], t, axis=0)
    if not missing:
        side = int(round(size * rng.uniform(0.5, 0.75)))
        glyph = F.interpolate(torch.from_numpy(scan[None, None].astype(np.float32)), size=(side, side),
                              mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()
        colour = rng.uniform(0.3, 1.0, 3).astype(np.float32)
        colour = colour / colour.max()  # bright
        start, end = rng.integers(0, size - side + 1, 2), rng.integers(0, size - side + 1, 2)
        for k in range(t):
            x, y = np.round(start + (end - start) * (k / max(t - 1, 1))).astype(int)
            patch = frames[k, :, y:y + side, x:x + side]
            frames[k, :, y:y + side, x:x + side] = patch * (1 - glyph) + colour[:, None, None] * glyph
    frames += rng.normal(0, 0.03, frames.shape).astype(np.float32)
    return np.clip(frames, 0, 1)


def _render_audio(rng: np.random.Generator, config: DigitsConfig, word: np.ndarray, missing: bool,
                  length: int) -> np.ndarray:
    from scipy.signal import lfilter, resample_poly

    from avrobust.data.speech import RATE

    g = np.gcd(config.sample_rate, RATE)
    speech = resample_poly(word.astype(np.float64) / 32768.0, config.sample_rate // g, RATE // g)[:length]
    speech *= rng.uniform(0.3, 0.6) / max(np.abs(speech).max(), 1e-6)
    rms = np.sqrt(np.mean(speech**2)) if speech.size else 0.05
    noise = lfilter([1.0], [1.0, -rng.uniform(0.0, 0.9)], rng.normal(0, 1, length))  # white to reddish
    noise *= rms / np.sqrt(np.mean(noise**2)) * 10 ** (-rng.uniform(config.snr_min, config.snr_max) / 20)
    out = noise
    if not missing:
        onset = int(rng.integers(0, max(length - len(speech), 0) + 1))
        out = noise.copy()
        out[onset:onset + len(speech)] += speech
    return np.clip(out, -1, 1).astype(np.float32)
