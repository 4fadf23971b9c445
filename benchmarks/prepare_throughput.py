"""Throughput of ``avrobust prepare`` on generated videos (issue 6); run by hand, not a test.

Writes ``--clips`` H.264/AAC MP4 files (``--seconds`` long, 320x240 at 25 fps, stereo 44.1 kHz, the
shape of a downloaded Kinetics clip at low resolution) into a folder dataset with two classes, then
times a cold ``prepare`` with 1 and with 2 decoding threads and a warm rerun (idempotence), decoding
to the default 8 frames of 64 px and 16 kHz mono over a 2 s window.

    PYTHONPATH=src:. .venv/bin/python benchmarks/prepare_throughput.py --clips 60 --out runs/prepare-bench
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from avrobust.data.cache import prepare
from avrobust.data.sources import folder
from avrobust.data.decode import DecodeConfig
from tests.data.media import write_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("runs/prepare-bench"))
    args = parser.parse_args()
    videos = args.out / "videos"
    if not videos.exists():
        for i in range(args.clips):
            cls = "low" if i % 2 else "high"
            (videos / cls).mkdir(parents=True, exist_ok=True)
            write_clip(videos / cls / f"{i:04d}.mp4", seconds=args.seconds, fps=25, width=320, height=240,
                       tone_hz=300 if i % 2 else 1200, sample_rate=44100, channels=2)
    items, classes, _ = folder(videos)
    config = DecodeConfig()
    for workers in (1, 2):
        cache = args.out / f"cache-w{workers}"
        shutil.rmtree(cache, ignore_errors=True)
        start = time.perf_counter()
        m = prepare(items, classes, cache, config, workers=workers, show_progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        prepare(items, classes, cache, config, workers=workers, show_progress=False)
        warm = time.perf_counter() - start
        print(f"workers {workers}: {m['counts']['decoded']} clips in {cold:.1f} s = "
              f"{m['counts']['decoded'] / cold:.1f} clips/s cold; rerun {warm:.2f} s (nothing decoded)")


if __name__ == "__main__":
    main()
