"""The standard audio-visual datasets of the balanced-multimodal and multimodal-robustness literature, read
from their released layouts: CREMA-D, AVE and VGGSound. Each reader returns ``(items, class_names,
missing)`` as :mod:`avrobust.data.sources` does; decoding, caching and bad files are the shared path's.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from avrobust.data.sources import SPLIT_NAMES, Item, _media_index, hashed_split
from avrobust.errors import ConfigError

#: CREMA-D's emotion codes (the third field of a file name) and the class names used here
CREMA_D_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMA_D_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def _dir(root: Path, name: str, what: str) -> Path:
    path = root / name
    if not path.is_dir():
        raise ConfigError(f"{root} has no {name}/ folder; pass root=DIR, the folder holding {what}")
    return path


def crema_d(root: str | Path, lists: str | Path | None = None) -> tuple[list[Item], list[str], list[str]]:
    """CREMA-D: ``root/VideoFlash/<name>.flv`` (frames) and ``root/AudioWAV/<name>.wav`` (the sound), a name
    being ``<actor>_<sentence>_<emotion>_<level>`` (``1001_DFA_ANG_XX``); the six emotions come from the
    names. Splits are **speaker-disjoint**: hashed from the actor id (80/10/10 % of the 91 actors), so no
    speaker is in two splits. ``lists``: a folder with ``train.csv`` and ``test.csv`` of ``name,EMO`` rows
    (OGM-GE's files, whose train and test share speakers) instead; val is then hashed from the train names.
    A video without its WAV is listed as missing."""
    root = Path(root)
    videos, audio = _dir(root, "VideoFlash", "CREMA-D's VideoFlash/ and AudioWAV/"), _dir(root, "AudioWAV", "AudioWAV/")
    wanted: dict[str, str] | None = None
    if lists is not None:
        wanted = {}
        for split in ("train", "test"):
            path = Path(lists) / f"{split}.csv"
            if not path.is_file():
                raise ConfigError(f"lists={lists}: no {split}.csv there (rows name,EMO as OGM-GE's data/CREMAD files)")
            with path.open(newline="") as f:
                for row in csv.reader(f):
                    if row and row[0].strip():
                        name = row[0].strip()
                        wanted[name] = split if split == "test" else ("val" if hashed_split(name, 0.1, 0.0) == "val"
                                                                      else "train")
    items, missing = [], []
    for path in sorted(p for p in videos.iterdir() if p.is_file()):
        match = CREMA_D_NAME.match(path.stem)
        if match is None or match.group(3) not in CREMA_D_EMOTIONS:
            continue  # not a clip of the dataset (a stray file)
        if wanted is not None and path.stem not in wanted:
            continue
        wav = audio / f"{path.stem}.wav"
        if not wav.is_file():
            missing.append(str(wav))
            continue
        split = wanted[path.stem] if wanted is not None else hashed_split(f"crema-d actor {match.group(1)}")
        items.append(Item(str(path), CREMA_D_EMOTIONS[match.group(3)], split, audio=str(wav)))
    if wanted is not None:
        found = {Path(i.path).stem for i in items}
        missing += [name for name in wanted if name not in found and not (videos / f"{name}.flv").exists()]
    if not items:
        raise ConfigError(f"no CREMA-D clips under {root}/VideoFlash (names like 1001_DFA_ANG_XX.flv)")
    return items, sorted({i.label for i in items}), missing


AVE_SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}


def _ave_rows(path: Path) -> list[tuple[str, str, float, float]]:
    """``(category, video id, start, end)`` of an AVE annotation file (``Category&VideoID&Quality&Start&End``)."""
    rows = []
    for i, line in enumerate(path.read_text(errors="replace").splitlines()):
        parts = line.strip().split("&")
        if i == 0 and parts[0] == "Category" or not line.strip():
            continue
        if len(parts) != 5:
            raise ConfigError(f"{path}, line {i + 1}: expected Category&VideoID&Quality&StartTime&EndTime")
        try:
            rows.append((parts[0], parts[1], float(parts[3]), float(parts[4])))
        except ValueError:
            raise ConfigError(f"{path}, line {i + 1}: start and end must be seconds") from None
    return rows


def ave(root: str | Path, annotations: str | Path | None = None) -> tuple[list[Item], list[str], list[str]]:
    """AVE (Audio-Visual Event): ``<id>.mp4`` anywhere under ``root``, the annotation file
    ``Annotations.txt`` (``Category&VideoID&Quality&StartTime&EndTime``, 28 events) and the split lists
    ``trainSet.txt``, ``valSet.txt``, ``testSet.txt`` beside it (the released layout; default: in
    ``root``). Each clip is the annotated **event segment** (start to end second) of its video."""
    root = Path(root)
    ann = Path(annotations) if annotations is not None else root / "Annotations.txt"
    if not ann.is_file():
        raise ConfigError(f"AVE annotations {ann} do not exist; pass annotations=FILE (Annotations.txt)")
    splits: dict[str, str] = {}
    for split, name in AVE_SPLIT_FILES.items():
        path = ann.parent / name
        if not path.is_file():
            raise ConfigError(f"AVE split list {path} does not exist; keep {', '.join(AVE_SPLIT_FILES.values())} "
                              "beside the annotations")
        splits.update({vid: split for _, vid, _, _ in _ave_rows(path)})
    index = _media_index(root)
    items, missing = [], []
    for category, vid, start, end in _ave_rows(ann):
        path = index.get(vid)
        if path is None:
            missing.append(vid)
        elif vid in splits:
            items.append(Item(str(path), category, splits[vid], start, end))
    if not items:
        raise ConfigError(f"no AVE clips found under {root} for {ann}")
    return items, sorted({i.label for i in items}), missing


def vggsound(root: str | Path, annotations: str | Path) -> tuple[list[Item], list[str], list[str]]:
    """VGGSound: its CSV (``youtube_id,start_seconds,label,split`` rows, no header; split ``train`` or
    ``test``) over clips named ``<id>_<start:06d>.mp4`` (or ``<id>_<start>.mp4``) anywhere under ``root``,
    each a 10-second clip cut at that start. VGGSound has no validation split: val is hashed from the
    training clips (10 %)."""
    ann = Path(annotations)
    if not ann.is_file():
        raise ConfigError(f"VGGSound annotations {ann} do not exist; pass annotations=FILE (vggsound.csv)")
    index = _media_index(Path(root))
    items, missing = [], []
    with ann.open(newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 4:
                raise ConfigError(f"{ann}, line {i + 1}: expected youtube_id,start_seconds,label,split")
            vid, start, label, split = (x.strip() for x in row[:4])
            try:
                second = int(float(start))
            except ValueError:
                raise ConfigError(f"{ann}, line {i + 1}: the start must be a number of seconds, got {start!r}") from None
            path = index.get(f"{vid}_{second:06d}") or index.get(f"{vid}_{second}")
            key = f"{vid}_{second:06d}"
            if path is None:
                missing.append(key)
                continue
            split = SPLIT_NAMES.get(split.lower(), "train")
            if split == "train" and hashed_split(key, 0.1, 0.0) == "val":
                split = "val"
            items.append(Item(str(path), label, split))
    if not items:
        raise ConfigError(f"no VGGSound clips found under {root} for {ann} (names like <id>_000030.mp4)")
    return items, sorted({i.label for i in items}), missing
