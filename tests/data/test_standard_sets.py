"""CREMA-D, AVE and VGGSound in their released layouts, written small by the tests: they load, split as
documented, skip a missing or corrupt file with one line (nothing lost), and train one epoch."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from avrobust.data import load_dataset
from avrobust.data.sources import hashed_split
from avrobust.data.standard_sets import ave, crema_d, vggsound
from avrobust.errors import ConfigError
from avrobust.jobs import train_model
from tests.data import media
from tests.data.media import write_clip

media.CONTAINERS.setdefault("flv", ("flv", "mp3", "yuv420p"))  # CREMA-D's VideoFlash/*.flv (Sorenson FLV1)
SMALL = "frames=2,size=16,sample_rate=8000,seconds=0.5"
#: actors whose speaker-disjoint split is train, val, test
ACTORS = {"train": 1001, "val": 1007, "test": 1023}


def _crema_d(root: Path) -> Path:
    (root / "VideoFlash").mkdir(parents=True)
    (root / "AudioWAV").mkdir()
    for actor in ACTORS.values():
        for emotion in ("ANG", "HAP"):
            name = f"{actor}_DFA_{emotion}_XX"
            write_clip(root / "VideoFlash" / f"{name}.flv", tone_hz=None)
            write_clip(root / "AudioWAV" / f"{name}.wav", tone_hz=300 if emotion == "ANG" else 900)
    write_clip(root / "VideoFlash" / "1002_IEO_SAD_HI.flv", tone_hz=None)  # its WAV is missing
    (root / "VideoFlash" / "1003_IEO_NEU_XX.flv").write_bytes(b"not a video")  # corrupt
    write_clip(root / "AudioWAV" / "1003_IEO_NEU_XX.wav")
    (root / "VideoFlash" / "notes.txt").write_text("a stray file")
    return root


def test_crema_d_emotions_from_names_and_speaker_disjoint_splits(tmp_path):
    root = _crema_d(tmp_path / "crema")
    items, classes, missing = crema_d(root)
    assert classes == ["anger", "happy", "neutral"]  # from the names; the corrupt clip is decoded (and skipped) later
    assert missing == [str(root / "AudioWAV" / "1002_IEO_SAD_HI.wav")]
    splits = {Path(i.path).stem[:4]: i.split for i in items}
    assert splits == {"1001": "train", "1007": "val", "1023": "test", "1003": hashed_split("crema-d actor 1003")}
    assert all(i.audio == str(root / "AudioWAV" / f"{Path(i.path).stem}.wav") for i in items)
    # OGM-GE's lists instead: their test rows are the test split, val is hashed from their train rows
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "train.csv").write_text("1001_DFA_ANG_XX,ANG\n1023_DFA_HAP_XX,HAP\n")
    (lists / "test.csv").write_text("1007_DFA_ANG_XX,ANG\n1099_DFA_SAD_XX,SAD\n")
    items, _, missing = crema_d(root, lists)
    assert {Path(i.path).stem: i.split for i in items} == {"1001_DFA_ANG_XX": "train", "1023_DFA_HAP_XX": "train",
                                                           "1007_DFA_ANG_XX": "test"}
    assert missing == ["1099_DFA_SAD_XX"]
    with pytest.raises(ConfigError, match="has no VideoFlash/ folder"):
        crema_d(tmp_path / "lists")


def _ave(root: Path) -> Path:
    root.mkdir()
    lines = ["Category&VideoID&Quality&StartTime&EndTime"]
    rows = {"train": [("Church bell", "v1"), ("Dog", "v2")], "val": [("Church bell", "v3")],
            "test": [("Dog", "v4"), ("Dog", "v5")]}
    for split, pairs in rows.items():
        text = [f"{c}&{v}&good&1&3" for c, v in pairs]
        (root / {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}[split]).write_text(
            "\n".join([lines[0], *text]) + "\n")
        lines += text
    (root / "Annotations.txt").write_text("\n".join(lines) + "\n")
    (root / "AVE").mkdir()
    for vid in ("v1", "v2", "v3", "v4"):
        write_clip(root / "AVE" / f"{vid}.mp4", seconds=4.0)
    return root  # v5 is missing


def test_ave_event_segments_and_split_lists(tmp_path):
    root = _ave(tmp_path / "ave")
    items, classes, missing = ave(root)
    assert classes == ["Church bell", "Dog"] and missing == ["v5"]
    assert {(Path(i.path).stem, i.split, i.start, i.end) for i in items} == {
        ("v1", "train", 1.0, 3.0), ("v2", "train", 1.0, 3.0), ("v3", "val", 1.0, 3.0), ("v4", "test", 1.0, 3.0)}
    (root / "valSet.txt").unlink()
    with pytest.raises(ConfigError, match="valSet.txt does not exist"):
        ave(root)


def _vggsound(root: Path) -> tuple[Path, Path]:
    root.mkdir()
    rows = [("a1", 30, "dog barking", "train"), ("c5", 30, "dog barking", "train"), ("a2", 0, "car horn", "train"),
            ("b1", 12, "car horn", "test"), ("b2", 7, "dog barking", "test"), ("gone", 5, "car horn", "test")]
    ann = root / "vggsound.csv"
    with ann.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    for vid, start, _, _ in rows[:4]:
        write_clip(root / f"{vid}_{start:06d}.mp4")
    write_clip(root / "b2_7.mp4")  # the short naming also found
    return root, ann


def test_vggsound_csv_names_and_hashed_val(tmp_path):
    root, ann = _vggsound(tmp_path / "vgg")
    items, classes, missing = vggsound(root, ann)
    assert classes == ["car horn", "dog barking"] and missing == ["gone_000005"]
    # no val split in VGGSound: 10 % of the training clips by hash (c5_000030 is one)
    assert {Path(i.path).stem: i.split for i in items} == {"a1_000030": "train", "c5_000030": "val",
                                                           "a2_000000": "train", "b1_000012": "test", "b2_7": "test"}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["crema-d", "ave", "vggsound"])
def test_each_layout_loads_splits_and_trains_one_epoch(tmp_path, dataset, capsys):
    if dataset == "crema-d":
        spec = f"crema-d:root={_crema_d(tmp_path / 'd')},{SMALL}"
    elif dataset == "ave":
        spec = f"ave:root={_ave(tmp_path / 'd')},{SMALL}"
    else:
        root, ann = _vggsound(tmp_path / "d")
        spec = f"vggsound:root={root},annotations={ann},{SMALL}"
    cache = tmp_path / "cache"
    spec += f",cache={cache}"
    train = load_dataset(spec, "train")
    err = capsys.readouterr().err
    if dataset == "crema-d":  # the corrupt video is skipped with one line, the rest kept
        assert "1003_IEO_NEU_XX.flv" in err and len(train) == 2
    assert train.video.shape[1:] == (2, 3, 16, 16) and train.audio.shape[1] == 4000
    assert len(load_dataset(spec, "test")) >= 1
    summary = train_model(spec, "AsV", tmp_path / "run", epochs=1, batch_size=4, show_progress=False)
    assert summary.epochs == 1 and 0.0 <= summary.metrics["clean_accuracy"] <= 1.0
