"""Where real clips are and what they are labelled: Kinetics-Sounds, MUSIC and any folder of videos.

Each reader returns :class:`Item` s (a file, its class, its split and optionally the part of the
file to use) and the class names. Splits a source does not define come from a stable hash of the
clip's key (80 % train, 10 % val, 10 % test), so they never change between runs or machines.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from avrobust.errors import ConfigError

MEDIA_SUFFIXES = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg", ".ogv")
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
               "validation": "val", "test": "test", "testing": "test"}


@dataclass(frozen=True)
class Item:
    """One clip to decode: ``path``, class name ``label``, ``split``, the seconds ``start``-``end``
    of the file to use (``None``: the whole file) and ``audio``, a separate audio file (CREMA-D's WAVs;
    ``None``: the video file's own audio stream, or its ``.wav`` sidecar)."""

    path: str
    label: str
    split: str
    start: float | None = None
    end: float | None = None
    audio: str | None = None


def hashed_split(key: str, val: float = 0.1, test: float = 0.1) -> str:
    """A stable split for ``key``: ``val`` and ``test`` shares, the rest train."""
    x = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if x < test else "val" if x < test + val else "train"


def _media_index(root: Path) -> dict[str, Path]:
    """Every media file under ``root`` by file stem (the first in sorted order wins)."""
    if not root.is_dir():
        raise ConfigError(f"dataset root {root} is not a directory; pass root=DIR with your downloaded clips")
    index: dict[str, Path] = {}
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file():
            index.setdefault(p.stem, p)
    return index


def read_class_list(path: str | Path | None) -> list[str]:
    """Class names, one per line (``#`` comments and blank lines ignored); ``None``: the shipped
    Kinetics-Sounds list."""
    if path is None:
        text = resources.files("avrobust.data").joinpath("kinetics_sounds.txt").read_text()
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"class list {p} does not exist; pass classes=FILE with one class per line")
        text = p.read_text()
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [n for n in names if n]


def kinetics_sounds(root: str | Path, annotations: str | Path, classes: str | Path | None = None) -> tuple[list[Item], list[str], list[str]]:
    """Kinetics-Sounds from a Kinetics CSV (``youtube_id, time_start, time_end, label, split`` in any
    column order; ``split`` optional) and downloaded clips named ``<youtube_id>_<start>_<end>.mp4``
    (start/end as six-digit integers, the Kinetics downloader's names) or ``<youtube_id>.mp4`` (the
    full video; the annotated segment is cut from it), anywhere under ``root``.

    Returns ``(items, class_names, missing)``: rows of the class list whose file is found; the class
    names (the list's order, classes without any clip dropped); annotated files not found.
    """
    wanted = read_class_list(classes)
    ann = Path(annotations)
    if not ann.is_file():
        raise ConfigError(f"annotations file {ann} does not exist; pass annotations=FILE (a Kinetics CSV)")
    with ann.open(newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"youtube_id", "time_start", "time_end", "label"}
    if not rows or not need <= set(rows[0]):
        raise ConfigError(f"{ann} must be a CSV with columns {', '.join(sorted(need))} (and optionally split)")
    index = _media_index(Path(root))
    items, missing = [], []
    for row in rows:
        label = row["label"].strip().strip('"')
        if label not in wanted:
            continue
        yid, start, end = row["youtube_id"].strip(), float(row["time_start"]), float(row["time_end"])
        trimmed = index.get(f"{yid}_{int(start):06d}_{int(end):06d}")
        full = index.get(yid)
        split = SPLIT_NAMES.get(row.get("split", "").strip().lower()) or hashed_split(yid)
        if trimmed is not None:
            items.append(Item(str(trimmed), label, split))
        elif full is not None:
            items.append(Item(str(full), label, split, start, end))
        else:
            missing.append(f"{yid}_{int(start):06d}_{int(end):06d}")
    present = {i.label for i in items}
    return items, [c for c in wanted if c in present], missing


def music(root: str | Path, annotations: str | Path) -> tuple[list[Item], list[str], list[str]]:
    """MIT MUSIC solo videos: a JSON ``{"videos": {instrument: [youtube ids]}}`` (the released
    ``MUSIC_solo_videos.json``; a bare ``{instrument: [ids]}`` works too) and ``<id>.mp4`` files under
    ``root`` (e.g. ``root/<instrument>/<id>.mp4``). Splits are hashed from the id (the dataset has
    none); the clip window is centred in each video."""
    ann = Path(annotations)
    if not ann.is_file():
        raise ConfigError(f"annotations file {ann} does not exist; pass annotations=FILE (MUSIC's JSON)")
    try:
        data = json.loads(ann.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{ann} is not valid JSON ({err})") from None
    videos = data.get("videos", data) if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise ConfigError(f"{ann} must map instruments to lists of video ids")
    index = _media_index(Path(root))
    items, missing = [], []
    for instrument in sorted(videos):
        for vid in videos[instrument]:
            path = index.get(vid)
            if path is None:
                missing.append(vid)
            else:
                items.append(Item(str(path), instrument, hashed_split(vid)))
    present = {i.label for i in items}
    return items, sorted(present), missing


def folder(root: str | Path, csv_file: str | Path | None = None) -> tuple[list[Item], list[str], list[str]]:
    """Any folder of videos: ``root/<class>/<clip>`` (one subfolder per class), or a CSV with columns
    ``path,label`` and optionally ``split`` (paths relative to ``root``). Splits are hashed from the
    path unless the CSV gives them."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"dataset root {root} is not a directory")
    items, missing = [], []
    if csv_file is not None:
        ann = Path(csv_file)
        if not ann.is_file():
            raise ConfigError(f"csv {ann} does not exist")
        with ann.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"path", "label"} <= set(rows[0]):
            raise ConfigError(f"{ann} must be a CSV with columns path,label (and optionally split)")
        for row in rows:
            path = root / row["path"].strip()
            split = SPLIT_NAMES.get((row.get("split") or "").strip().lower()) or hashed_split(row["path"].strip())
            if path.exists():
                items.append(Item(str(path), row["label"].strip(), split))
            else:
                missing.append(str(path))
    else:
        for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for p in sorted(class_dir.iterdir()):
                if p.suffix.lower() in MEDIA_SUFFIXES:
                    rel = str(p.relative_to(root))
                    items.append(Item(str(p), class_dir.name, hashed_split(rel)))
    if not items:
        raise ConfigError(f"no clips found under {root}; lay it out as ROOT/<class>/<clip>.mp4 or pass csv=FILE")
    return items, sorted({i.label for i in items}), missing
