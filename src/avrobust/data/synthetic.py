"""The embedded synthetic audio-visual dataset ``synth``.

Recipe (one clip of class ``c`` out of ``K``):

* **Visual event**: a coloured shape (``SHAPES[c % 8]``, hue ``(0.618 c) mod 1``) that moves in a
  straight line in the class direction (angle ``2 pi ((0.382 c + 0.1) mod 1)``) about 1.8 px per
  frame at 32 px and T = 8. It is on screen only during the event window.
* **Audio event**: a tone of pitch ``f0 = 200 * 2 ** (3 c / K)`` Hz (three octaves over the classes,
  +-1 % jitter), timbre ``c % 3`` (sine, odd harmonics, all harmonics) and rhythm ``(c // 3) % 3``
  (steady, one or two pulses per segment). It sounds only during the same event window.
* **Alignment**: the event window covers segments ``[t0, t0 + d)`` with ``d >= T/2``; in the video the
  shape is drawn exactly in those frames, in the audio the tone sounds exactly in those segments.
* **Distractors and noise**: every clip has a smooth coloured background, a grey distractor shape
  moving at random, Gaussian pixel noise (``video_noise``), a distractor tone of random pitch over
  1-3 random segments, a low hum and white noise (``audio_noise``).
* **Modality sufficiency**: with probability ``p_visual_hidden`` the shape is absent (only the
  audio tells the class), with ``p_audio_hidden`` the tone is absent (only the video tells), and with
  ``p_both_hidden`` both are absent. Hence a perfect audio-only classifier reaches about
  ``1 - (p_audio_hidden + p_both_hidden) (1 - 1/K)`` (0.71 at the defaults), likewise for video, while
  a fused one reaches about ``1 - p_both_hidden (1 - 1/K)`` (0.98).
* **Temporal redundancy**: the background is static, the shape moves smoothly and the tone is
  stationary, so consecutive frames and audio segments are highly similar, as in real video.

Class templates depend only on the class index; the clip randomness comes from the seed, and the
train / val / test splits use disjoint seed streams ``SeedSequence([seed, split_id])``.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from avrobust.errors import ConfigError
from avrobust.runtime import memory_bytes

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond", "hbar", "vbar")
SPLITS = ("train", "val", "test")
_TIMBRES = ("sine", "odd", "saw")
_RHYTHMS = ("steady", "pulse1", "pulse2")


class AlignedTiming:
    """Clip timing of a generated dataset's config (``frames``, ``sample_rate``, ``seconds`` fields)."""

    frames: int
    sample_rate: int
    seconds: float

    @property
    def samples_per_segment(self) -> int:
        """Audio samples aligned with one frame."""
        return int(round(self.sample_rate * self.seconds / self.frames))

    @property
    def fps(self) -> float:
        """Frames per second such that one frame spans exactly one audio segment."""
        return self.sample_rate / self.samples_per_segment

    def check_fits(self, name: str, clips: int, size: int) -> None:
        """Refuse, in one line, a split of ``clips`` clips (float32 frames ``size`` px square, float32 audio)
        larger than this machine's memory, before any of it is allocated."""
        need = clips * 4 * (self.frames * 3 * size * size + self.frames * self.samples_per_segment)
        have = memory_bytes()
        if have and need > have:
            raise ConfigError(f"{name}: {clips:,} clips need about {need / 2**30:,.1f} GiB and this machine has "
                              f"{have / 2**30:.1f} GiB; ask for fewer clips per class or a smaller size")


@dataclass(frozen=True)
class SynthConfig(AlignedTiming):
    """Options of ``synth`` (the names are the dataset-spec keys).

    Attributes:
        classes: number of classes K (2..64).
        clips_per_class: clips per class in the train split; val and test get ``eval_clips_per_class``.
        eval_clips_per_class: clips per class in the val and test splits.
        frames: frames (aligned segments) per clip, T.
        size: frame side in pixels (H = W).
        sample_rate: audio samples per second.
        seconds: clip length; the audio has ``T * round(sample_rate * seconds / T)`` samples.
        seed: base seed; each split draws from its own stream.
        p_visual_hidden, p_audio_hidden, p_both_hidden: probabilities that only the shape, only
            the tone, or both are absent from a clip.
        video_noise: std of Gaussian pixel noise (video units, [0, 1]).
        audio_noise: std of white noise (waveform units, [-1, 1]).
    """

    classes: int = 10
    clips_per_class: int = 100
    eval_clips_per_class: int = 40
    frames: int = 8
    size: int = 32
    sample_rate: int = 8000
    seconds: float = 1.0
    seed: int = 0
    p_visual_hidden: float = 0.28
    p_audio_hidden: float = 0.28
    p_both_hidden: float = 0.02
    video_noise: float = 0.03
    audio_noise: float = 0.02

    def __post_init__(self) -> None:
        checks = [
            (2 <= self.classes <= 64, "classes must lie in [2, 64]"),
            (self.clips_per_class >= 1, "clips_per_class must be >= 1"),
            (self.eval_clips_per_class >= 1, "eval_clips_per_class must be >= 1"),
            (1 <= self.frames <= 256, "frames must lie in [1, 256]"),
            (16 <= self.size <= 512, "size must lie in [16, 512]"),
            (1000 <= self.sample_rate <= 96000, "sample_rate must lie in [1000, 96000]"),
            (0.05 <= self.seconds <= 60, "seconds must lie in [0.05, 60]"),
            (
                min(self.p_visual_hidden, self.p_audio_hidden, self.p_both_hidden) >= 0
                and self.p_visual_hidden + self.p_audio_hidden + self.p_both_hidden <= 1,
                "the p_*_hidden probabilities must be >= 0 and sum to <= 1",
            ),
            (0 <= self.video_noise <= 0.5, "video_noise must lie in [0, 0.5]"),
            (0 <= self.audio_noise <= 0.5, "audio_noise must lie in [0, 0.5]"),
            (0 <= self.seed < 2**63, "seed must lie in [0, 2**63)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"synth: {message}")
        if self.samples_per_segment < 64:
            raise ConfigError(
                "synth: fewer than 64 audio samples per frame; raise sample_rate or seconds"
            )
        self.check_fits("synth", self.classes * max(self.clips_per_class, self.eval_clips_per_class), self.size)



def class_names(classes: int) -> list[str]:
    """Readable names: shape, hue in degrees, pitch in Hz, e.g. ``circle-h0-200Hz``."""
    return [
        f"{SHAPES[c % len(SHAPES)]}-h{int(_hue(c) * 360)}-{int(round(_pitch(c, classes)))}Hz"
        for c in range(classes)
    ]


def _hue(c: int) -> float:
    return (c * 0.618034) % 1.0


def _pitch(c: int, classes: int) -> float:
    return 200.0 * 2.0 ** (3.0 * c / classes)


def _direction(c: int) -> float:
    return 2 * math.pi * ((c * 0.381966 + 0.1) % 1.0)


def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    ax, ay = np.abs(dx), np.abs(dy)
    dist = np.sqrt(dx**2 + dy**2)
    if shape == "circle":
        return dist <= r
    if shape == "square":
        return np.maximum(ax, ay) <= 0.85 * r
    if shape == "triangle":
        return (dy <= 0.8 * r) & (2 * ax <= dy + r)
    if shape == "cross":
        return ((ax <= 0.3 * r) & (ay <= r)) | ((ay <= 0.3 * r) & (ax <= r))
    if shape == "ring":
        return (dist <= r) & (dist >= 0.55 * r)
    if shape == "diamond":
        return ax + ay <= r
    if shape == "hbar":
        return (ay <= 0.35 * r) & (ax <= r)
    if shape == "vbar":
        return (ax <= 0.35 * r) & (ay <= r)
    raise AssertionError(shape)


@dataclass
class SynthClips:
    """Raw arrays of one split plus ground truth used by tests and analyses."""

    video: np.ndarray  # [N, T, 3, H, W] float32 in [0, 1]
    audio: np.ndarray  # [N, L] float32 in [-1, 1]
    labels: np.ndarray  # [N] int64
    event: np.ndarray  # [N, T] bool, True in the event window
    visual_hidden: np.ndarray  # [N] bool
    audio_hidden: np.ndarray  # [N] bool


def generate(config: SynthConfig, split: str) -> SynthClips:
    """Generate one split of ``synth`` deterministically from ``config.seed`` and ``split``."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, SPLITS.index(split)]))
    per_class = config.clips_per_class if split == "train" else config.eval_clips_per_class
    labels = rng.permutation(np.repeat(np.arange(config.classes), per_class))
    n, t, size = len(labels), config.frames, config.size
    s = config.samples_per_segment
    video = np.empty((n, t, 3, size, size), dtype=np.float32)
    audio = np.empty((n, t * s), dtype=np.float32)
    event = np.zeros((n, t), dtype=bool)
    u = rng.random(n)
    pv, pa, pb = config.p_visual_hidden, config.p_audio_hidden, config.p_both_hidden
    visual_hidden = (u < pv) | ((u >= pv + pa) & (u < pv + pa + pb))
    audio_hidden = (u >= pv) & (u < pv + pa + pb)
    for i, c in enumerate(labels):
        min_len = max(1, math.ceil(t / 2))
        length = int(rng.integers(min_len, t + 1))
        start = int(rng.integers(0, t - length + 1))
        event[i, start : start + length] = True
        video[i] = _render_video(config, int(c), event[i], bool(visual_hidden[i]), rng)
        audio[i] = _render_audio(config, int(c), event[i], bool(audio_hidden[i]), rng)
    return SynthClips(video, audio, labels.astype(np.int64), event, visual_hidden, audio_hidden)


def _render_video(
    config: SynthConfig, c: int, event: np.ndarray, hidden: bool, rng: np.random.Generator
) -> np.ndarray:
    t, size = config.frames, config.size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Static smooth background: a dim random colour with a linear gradient.
    base = rng.uniform(0.15, 0.4, size=3).astype(np.float32)
    grad = rng.uniform(-0.15, 0.15, size=(3, 2)).astype(np.float32)
    bg = base[:, None, None] + (grad[:, 0, None, None] * xx + grad[:, 1, None, None] * yy) / size
    frames = np.repeat(bg[None], t, axis=0)
    # Grey distractor with a random trajectory, present in every frame.
    rd = 0.1 * size
    p0 = rng.uniform(rd, size - rd, size=2)
    vel = rng.normal(0, 0.04 * size, size=2) * 8 / max(t, 1)
    grey = rng.uniform(0.55, 0.85)
    d_shape = ("circle", "square")[int(rng.integers(0, 2))]
    for k in range(t):
        cx, cy = np.clip(p0 + vel * k, rd, size - rd)
        m = _shape_mask(d_shape, xx - cx, yy - cy, rd)
        frames[k][:, m] = grey
    # The class object, drawn only during the event window.
    if not hidden:
        r = 0.18 * size
        jitter = 0.1 * size
        reach = size / 2 - r - jitter
        speed = 0.9 * reach * 2 / max(t - 1, 1)
        theta = _direction(c) + rng.normal(0, 0.1)
        v = speed * np.array([math.cos(theta), math.sin(theta)])
        centre = size / 2 + rng.uniform(-jitter, jitter, size=2)
        hue = (_hue(c) + rng.normal(0, 0.01)) % 1.0
        colour = np.array(colorsys.hsv_to_rgb(hue, 0.9, rng.uniform(0.85, 1.0)), dtype=np.float32)
        scale = rng.uniform(0.9, 1.1)
        shape = SHAPES[c % len(SHAPES)]
        for k in np.flatnonzero(event):
            cx, cy = centre + v * (k - (t - 1) / 2)
            m = _shape_mask(shape, xx - cx, yy - cy, r * scale)
            frames[k][:, m] = colour[:, None]
    frames += rng.normal(0, config.video_noise, size=frames.shape).astype(np.float32)
    return np.clip(frames, 0.0, 1.0)


def _render_audio(
    config: SynthConfig, c: int, event: np.ndarray, hidden: bool, rng: np.random.Generator
) -> np.ndarray:
    sr, s, t = config.sample_rate, config.samples_per_segment, config.frames
    n = s * t
    time = np.arange(n) / sr
    wave = rng.normal(0, config.audio_noise, size=n)
    hum_f = rng.uniform(50, 120)
    wave += rng.uniform(0.01, 0.04) * np.sin(2 * math.pi * hum_f * time + rng.uniform(0, 6.3))
    # Distractor tone of random pitch over 1-3 random consecutive segments.
    d_len = int(rng.integers(1, min(3, t) + 1))
    d_start = int(rng.integers(0, t - d_len + 1))
    d_gate = np.zeros(n)
    d_gate[d_start * s : (d_start + d_len) * s] = 1.0
    d_f = math.exp(rng.uniform(math.log(150), math.log(3000)))
    wave += rng.uniform(0.08, 0.16) * d_gate * np.sin(2 * math.pi * d_f * time)
    if not hidden:
        f0 = _pitch(c, config.classes) * (1 + rng.uniform(-0.01, 0.01))
        timbre = _TIMBRES[c % 3]
        rhythm = _RHYTHMS[(c // 3) % 3]
        harmonics = [1] if timbre == "sine" else ([1, 3, 5] if timbre == "odd" else [1, 2, 3, 4])
        phase = rng.uniform(0, 2 * math.pi)
        tone = np.zeros(n)
        for h in harmonics:
            if h * f0 < 0.45 * sr:
                tone += np.sin(2 * math.pi * h * f0 * time + h * phase) / h
        tone /= np.max(np.abs(tone)) + 1e-8
        gate = np.repeat(event.astype(np.float64), s)
        if rhythm != "steady":
            pulses = 1 if rhythm == "pulse1" else 2
            within = (np.arange(n) % s) / s
            gate *= 0.15 + 0.85 * (np.sin(2 * math.pi * pulses * within) > 0)
        wave += rng.uniform(0.3, 0.5) * gate * tone
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def to_tensors(clips: SynthClips) -> dict[str, torch.Tensor]:
    """The arrays of :class:`SynthClips` as torch tensors (same names)."""
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in asdict(clips).items()}
