"""Decode real clips with PyAV (FFmpeg bundled): T frames and the aligned mono waveform.

Any container and codec FFmpeg reads works (mp4/h264/aac, webm/vp9/opus, mkv, avi...). A clip
window ``[start, start + seconds)`` (default: centred on the file) is cut into T equal segments;
frame ``t`` is the last decoded frame whose timestamp is at or before the centre of segment ``t``
(the first frame for earlier centres), resized so the short side is ``size`` and centre-cropped to
``size x size``, RGB float in [0, 1]. The audio is decoded, downmixed to mono and resampled to
``sample_rate`` by PyAV's resampler (libswresample), cut to the same window and zero-padded where
the file ends early (a file shorter than the window keeps its last frame and pads silence, so frame
``t`` and audio segment ``t`` always cover the same time), ``T * round(sample_rate * seconds / T)`` samples in [-1, 1]. A file without
an audio stream may have a sidecar ``<stem>.wav`` next to it.

Bad files raise :class:`DecodeError` with the path and the reason (one line).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avrobust.errors import ConfigError, InputError


class DecodeError(InputError):
    """A file that cannot be decoded into a clip (corrupt, truncated, missing stream, too short)."""


@dataclass(frozen=True)
class DecodeConfig:
    """How clips are decoded (stored in every cache manifest).

    Attributes:
        frames: T, aligned segments per clip; size: frame side in pixels after the centre crop.
        sample_rate: target audio rate in Hz; seconds: clip window length.
        min_seconds: shorter files are rejected as too short (shorter windows are padded).
    """

    frames: int = 8
    size: int = 64
    sample_rate: int = 16000
    seconds: float = 2.0
    min_seconds: float = 0.25

    def __post_init__(self) -> None:
        if self.frames < 1 or self.size < 8 or self.sample_rate < 1000:
            raise ConfigError(f"decoding needs frames >= 1, size >= 8 and sample_rate >= 1000; got {self}")
        if not 0 < self.min_seconds <= self.seconds:
            raise ConfigError(f"need 0 < min_seconds <= seconds, got {self.min_seconds} and {self.seconds}")

    @property
    def samples_per_segment(self) -> int:
        return max(1, round(self.sample_rate * self.seconds / self.frames))

    @property
    def fps(self) -> float:
        """Frames per second of a decoded clip (T over the window), so segments stay aligned."""
        return self.sample_rate / self.samples_per_segment

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def _open(path: Path) -> Any:
    import av

    if not path.is_file():
        raise DecodeError(f"{path}: cannot read the file (missing or not a regular file)")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise DecodeError(f"{path}: not a readable media file ({err})") from None


def _duration(container: Any, stream: Any) -> float | None:
    if stream is not None and stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _resize_crop(frame: Any, size: int) -> np.ndarray:
    w, h = frame.width, frame.height
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    rgb = frame.reformat(width=nw, height=nh, format="rgb24").to_ndarray()
    top, left = (nh - size) // 2, (nw - size) // 2
    return rgb[top : top + size, left : left + size]


def _seek(container: Any, stream: Any, seconds: float) -> None:
    """Jump to the keyframe before ``seconds`` when that saves decoding (long files)."""
    if seconds > 1.0 and stream.time_base is not None:
        container.seek(int(seconds / stream.time_base), stream=stream, backward=True, any_frame=False)


def _decode_video(path: Path, config: DecodeConfig, start: float) -> torch.Tensor:
    import av

    container = _open(path)
    centres = [start + (t + 0.5) * config.seconds / config.frames for t in range(config.frames)]
    chosen: list[np.ndarray | None] = [None] * config.frames
    prev: Any = None
    try:
        if not container.streams.video:
            raise DecodeError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        _seek(container, stream, start)
        for frame in container.decode(stream):
            ts = float(frame.time) if frame.time is not None else 0.0
            # the previous frame is the last one at or before every centre in [its time, ts)
            lo = -float("inf") if prev is None else prev[1]
            targets = [t for t in range(config.frames) if lo <= centres[t] < ts and chosen[t] is None]
            if targets:
                img = _resize_crop(prev[0] if prev is not None else frame, config.size)
                for t in targets:
                    chosen[t] = img
            prev = (frame, ts)
            if ts > centres[-1]:
                break
    except av.error.FFmpegError as err:
        raise DecodeError(f"{path}: corrupt or truncated video ({err})") from None
    finally:
        container.close()
    if prev is None:
        raise DecodeError(f"{path}: the video stream holds no decodable frame")
    rest = [t for t in range(config.frames) if chosen[t] is None]
    if rest:  # centres after the last frame (a short file): the last frame holds
        img = _resize_crop(prev[0], config.size)
        for t in rest:
            chosen[t] = img
    video = torch.from_numpy(np.stack(chosen)).permute(0, 3, 1, 2).float() / 255.0
    return video.contiguous()


def _decode_audio(path: Path, config: DecodeConfig, start: float) -> torch.Tensor | None:
    """Mono float waveform at the target rate for the window from ``start`` (None: no audio stream)."""
    import av

    container = _open(path)
    need = config.frames * config.samples_per_segment
    chunks: list[np.ndarray] = []
    origin: float | None = None
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        _seek(container, stream, start)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=config.sample_rate)
        have = 0
        for frame in container.decode(stream):
            if origin is None:
                origin = float(frame.time) if frame.time is not None else 0.0
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                have += chunks[-1].size
            if have >= round((start - origin) * config.sample_rate) + need:
                break
        else:
            for out in resampler.resample(None):  # flush the resampler at the end of the stream
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as err:
        raise DecodeError(f"{path}: corrupt or truncated audio ({err})") from None
    finally:
        container.close()
    wave = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    skip = max(0, round((start - (origin or 0.0)) * config.sample_rate))
    wave = wave[skip : skip + need]
    out = np.zeros(need, dtype=np.float32)
    out[: wave.size] = wave
    return torch.from_numpy(np.clip(out, -1.0, 1.0))


def probe_duration(path: str | Path) -> float:
    """Seconds of the longest stream (video preferred), or a :class:`DecodeError`."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0] if container.streams.video else (
            container.streams.audio[0] if container.streams.audio else None)
        if stream is None:
            raise DecodeError(f"{path}: no video or audio stream")
        seconds = _duration(container, stream)
    finally:
        container.close()
    if seconds is None:
        raise DecodeError(f"{path}: unknown duration (a broken container?)")
    return seconds


def decode_clip(path: str | Path, config: DecodeConfig, *, start: float | None = None,
                end: float | None = None, audio_path: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode one clip: video ``[T, 3, size, size]`` in [0, 1] and audio ``[T * S]`` in [-1, 1].

    Args:
        start, end: the part of the file to use, in seconds (e.g. a Kinetics segment); the clip
            window of ``config.seconds`` is centred in it (or in the whole file).
        audio_path: read the audio from this file (the same window) instead of the video file.

    Raises:
        DecodeError: unreadable path, corrupt or truncated data, no video stream, no audio (and no
            ``.wav`` sidecar), or a file shorter than ``config.min_seconds``.
    """
    path = Path(path)
    duration = probe_duration(path)
    lo = max(0.0, start or 0.0)
    hi = min(duration, end) if end is not None else duration
    if hi - lo < config.min_seconds:
        raise DecodeError(f"{path}: too short ({max(hi - lo, 0.0):.2f} s of usable clip, need at least "
                          f"{config.min_seconds} s)")
    window_start = lo + max(0.0, (hi - lo - config.seconds) / 2)
    video = _decode_video(path, config, window_start)
    if audio_path is not None:
        if not Path(audio_path).is_file():
            raise DecodeError(f"{path}: its audio file {audio_path} does not exist")
        audio = _decode_audio(Path(audio_path), config, window_start)
        if audio is None:
            raise DecodeError(f"{audio_path}: no audio stream")
        return video, audio
    audio = _decode_audio(path, config, window_start)
    if audio is None:
        sidecar = path.with_suffix(".wav")
        if not sidecar.is_file():
            raise DecodeError(f"{path}: no audio stream and no sidecar {sidecar.name}")
        audio = _decode_audio(sidecar, config, window_start)
        if audio is None:
            raise DecodeError(f"{sidecar}: no audio stream")
    return video, audio
