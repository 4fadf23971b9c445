"""Write small media files with known content (PyAV): frame colour changes with time, a pure tone."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

CONTAINERS = {  # extension -> (video codec, audio codec, pixel format)
    "mp4": ("libx264", "aac", "yuv420p"),
    "webm": ("libvpx-vp9", "libopus", "yuv420p"),
    "mkv": ("libx264", "libopus", "yuv420p"),
    "avi": ("mpeg4", "pcm_s16le", "yuv420p"),
}


def colour_at(t: float, seconds: float) -> tuple[int, int, int]:
    """The RGB colour of the frame shown at time ``t``: red rises with time, green falls, blue fixed."""
    x = min(max(t / seconds, 0.0), 1.0)
    return int(round(30 + 200 * x)), int(round(230 - 200 * x)), 128


def write_clip(path: Path, *, seconds: float = 1.0, fps: int = 10, width: int = 48, height: int = 32,
               tone_hz: float | None = 440.0, sample_rate: int = 16000, channels: int = 1,
               video: bool = True) -> Path:
    """Write ``path`` (container from the suffix); each frame is one flat colour (``colour_at``)."""
    vcodec, acodec, pix = CONTAINERS.get(path.suffix[1:], CONTAINERS["mp4"])
    if path.suffix == ".wav":
        vcodec, acodec, video = None, "pcm_s16le", False
    with av.open(str(path), "w") as out:
        vs = None
        if video:
            vs = out.add_stream(vcodec, rate=fps)
            vs.width, vs.height, vs.pix_fmt = width, height, pix
        aus = None
        if tone_hz is not None:
            aus = out.add_stream(acodec, rate=sample_rate, layout="stereo" if channels == 2 else "mono")
        if vs is not None:
            for i in range(int(round(seconds * fps))):
                img = np.zeros((height, width, 3), dtype=np.uint8)
                img[:] = colour_at((i + 0.5) / fps, seconds)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for packet in vs.encode(frame):
                    out.mux(packet)
            for packet in vs.encode():
                out.mux(packet)
        if aus is not None:
            n = int(round(seconds * sample_rate))
            t = np.arange(n) / sample_rate
            wave = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            block = 1024
            for k in range(0, n, block):
                chunk = np.tile(wave[k : k + block][None], (channels, 1))
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo" if channels == 2 else "mono")
                frame.sample_rate = sample_rate
                frame.pts = k
                for packet in aus.encode(frame):
                    out.mux(packet)
            for packet in aus.encode():
                out.mux(packet)
    return path
