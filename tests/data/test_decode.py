"""Decoding real media files (written here with PyAV, known content), datasets, the cache, bad files."""

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from avrobust.data import load_dataset
from avrobust.data.cache import MANIFEST, prepare
from avrobust.data.sources import Item, folder, hashed_split, kinetics_sounds, music, read_class_list
from avrobust.data.decode import DecodeConfig, DecodeError, decode_clip
from avrobust.errors import ConfigError
from tests.data.media import colour_at, write_clip

CFG = DecodeConfig(frames=4, size=16, sample_rate=8000, seconds=1.0)


def dominant_hz(audio: torch.Tensor, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio.numpy() * np.hanning(len(audio))))
    return float(np.argmax(spectrum)) * rate / len(audio)


def expected_colours(seconds: float, fps: int, frames: int, start: float = 0.0) -> list[tuple[int, int, int]]:
    """The colour of the frame on screen at each segment centre."""
    out = []
    for t in range(frames):
        centre = start + (t + 0.5) * seconds / frames
        out.append(colour_at((math.floor(centre * fps) + 0.5) / fps, seconds))
    return out


@pytest.mark.parametrize("ext, rate", [("mp4", 16000), ("webm", 48000), ("mkv", 48000), ("avi", 22050)])
def test_frames_and_tone_match_what_was_written(tmp_path, ext, rate):
    path = write_clip(tmp_path / f"clip.{ext}", seconds=1.0, fps=10, tone_hz=500, sample_rate=rate)
    video, audio = decode_clip(path, CFG)
    assert video.shape == (4, 3, 16, 16) and video.dtype == torch.float32
    assert audio.shape == (4 * CFG.samples_per_segment,) and float(audio.abs().max()) <= 1.0
    got = (video[:, :, 8, 8] * 255).round()
    want = torch.tensor(expected_colours(1.0, 10, 4), dtype=torch.float32)
    assert (got - want).abs().max() <= 8, (got, want)  # lossy codecs and YUV round trips
    assert abs(dominant_hz(audio, 8000) - 500) <= 10


def test_stereo_44k_becomes_mono_at_the_target_rate(tmp_path):
    path = write_clip(tmp_path / "s.mp4", seconds=1.0, tone_hz=1000, sample_rate=44100, channels=2)
    _, audio = decode_clip(path, CFG)
    assert audio.dim() == 1 and len(audio) == 8000
    assert abs(dominant_hz(audio, 8000) - 1000) <= 10


def test_window_is_cut_from_a_longer_file_and_short_files_are_padded(tmp_path):
    path = write_clip(tmp_path / "long.mp4", seconds=3.0, fps=10, tone_hz=300, sample_rate=16000)
    video, _ = decode_clip(path, CFG, start=1.0, end=2.0)  # the segment 1-2 s, as a Kinetics row
    want = torch.tensor([colour_at((math.floor((1.0 + (t + 0.5) / 4) * 10) + 0.5) / 10, 3.0) for t in range(4)],
                        dtype=torch.float32)
    assert ((video[:, :, 8, 8] * 255).round() - want).abs().max() <= 8
    short = write_clip(tmp_path / "short.mp4", seconds=0.5, fps=10, tone_hz=300, sample_rate=16000)
    video, audio = decode_clip(short, CFG)
    assert video.shape[0] == 4 and torch.equal(video[2], video[3])  # the last frame holds
    assert float(audio[-1000:].abs().max()) == 0.0 and float(audio[:2000].abs().max()) > 0.1  # silence pads


def test_wav_sidecar_gives_the_audio(tmp_path):
    path = write_clip(tmp_path / "mute.mp4", tone_hz=None)
    with pytest.raises(DecodeError, match="no audio stream and no sidecar mute.wav"):
        decode_clip(path, CFG)
    write_clip(tmp_path / "mute.wav", tone_hz=700, sample_rate=16000)
    _, audio = decode_clip(path, CFG)
    assert abs(dominant_hz(audio, 8000) - 700) <= 10


def bad_files(root: Path) -> dict[str, Path]:
    """One file per failure case."""
    good = write_clip(root / "good.mp4")
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(3000))
    truncated = root / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    empty = root / "empty.mp4"
    empty.write_bytes(b"")
    return {"corrupt": corrupt, "truncated": truncated, "empty": empty,
            "no video": write_clip(root / "audio_only.mp4", video=False),
            "no audio": write_clip(root / "silent.mp4", tone_hz=None),
            "too short": write_clip(root / "blip.mp4", seconds=0.1, fps=10),
            "unreadable": root / "nowhere.mp4"}


@pytest.mark.parametrize("case", ["corrupt", "truncated", "empty", "no video", "no audio", "too short", "unreadable"])
def test_each_bad_file_is_one_clear_error(tmp_path, case):
    path = bad_files(tmp_path)[case]
    with pytest.raises(DecodeError) as err:
        decode_clip(path, CFG)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def make_folder(root: Path, classes=("cello", "drums"), per_class=5, bad=True) -> Path:
    for c, hz in zip(classes, (300, 900)):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            write_clip(root / c / f"{c}{i}.mp4", seconds=1.0, fps=8, tone_hz=hz, sample_rate=16000)
    if bad:
        (root / classes[0] / "broken.mp4").write_bytes(b"not a video at all")
    return root


def test_prepare_is_idempotent_skips_bad_files_and_keeps_cached_clips(tmp_path, capsys):
    root = make_folder(tmp_path / "videos")
    items, classes, _ = folder(root)
    out = tmp_path / "cache"
    first = prepare(items, classes, out, CFG, show_progress=False)
    assert first["counts"] == {"decoded": 10, "kept": 0, "skipped": 1}
    assert "skipped" in capsys.readouterr().err
    shards = {p.name: p.stat().st_mtime_ns for p in out.glob("*.safetensors")}
    second = prepare(items, classes, out, CFG, show_progress=False)
    assert second["counts"] == {"decoded": 0, "kept": 10, "skipped": 0}
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.safetensors")} == shards  # nothing rewritten
    # a new clip: only it is decoded; a deleted source keeps its cached clip
    write_clip(root / "drums" / "drums9.mp4", seconds=1.0, fps=8, tone_hz=900, sample_rate=16000)
    gone = next(i.path for i in items if i.path.endswith("cello0.mp4"))
    os.remove(gone)
    items2, _, _ = folder(root)
    third = prepare([*items2, Item(gone, "cello", next(i.split for i in items if i.path == gone))], classes, out, CFG,
                    show_progress=False)
    assert third["counts"]["decoded"] == 1
    entries = {e["source"]: e for e in json.loads((out / MANIFEST).read_text())["entries"]}
    assert entries[gone]["status"] == "ok"
    with pytest.raises(DecodeError, match="--strict"):
        prepare(items, classes, tmp_path / "strict", CFG, strict=True, show_progress=False)


def test_cache_with_other_decoding_options_is_refused(tmp_path):
    root = make_folder(tmp_path / "v", per_class=1, bad=False)
    items, classes, _ = folder(root)
    prepare(items, classes, tmp_path / "c", CFG, show_progress=False)
    with pytest.raises(ConfigError, match="other decoding options"):
        prepare(items, classes, tmp_path / "c", DecodeConfig(frames=2, size=16, sample_rate=8000, seconds=1.0),
                show_progress=False)


def test_parallel_workers_give_the_same_cache(tmp_path):
    root = make_folder(tmp_path / "v", per_class=3, bad=False)
    items, classes, _ = folder(root)
    prepare(items, classes, tmp_path / "a", CFG, show_progress=False)
    prepare(items, classes, tmp_path / "b", CFG, workers=2, show_progress=False)
    from avrobust.data.cache import load_split
    for split in {i.split for i in items}:
        va, aa, la, _ = load_split(tmp_path / "a", split)
        vb, ab, lb, _ = load_split(tmp_path / "b", split)
        assert torch.equal(va, vb) and torch.equal(aa, ab) and torch.equal(la, lb)


def test_kinetics_sounds_and_music_sources(tmp_path):
    root = tmp_path / "ks"
    root.mkdir()
    write_clip(root / "abc_000010_000020.mp4")
    write_clip(root / "full.mp4", seconds=3.0)
    ann = tmp_path / "ks.csv"
    with ann.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        w.writerow(["playing drums", "abc", 10, 20, "train"])
        w.writerow(["playing cello", "zzz", 0, 10, "train"])  # not a Kinetics-Sounds class
        w.writerow(["tapping guitar", "full", 1, 2, "validate"])
        w.writerow(["singing", "gone", 0, 10, "test"])
    items, classes, missing = kinetics_sounds(root, ann)
    assert classes == ["tapping guitar", "playing drums"]  # the shipped list's order, classes with clips only
    assert {(Path(i.path).name, i.split, i.start) for i in items} == {("abc_000010_000020.mp4", "train", None),
                                                                      ("full.mp4", "val", 1.0)}
    assert missing == ["gone_000000_000010"]
    assert len(read_class_list(None)) >= 31
    mroot = tmp_path / "music" / "violin"
    mroot.mkdir(parents=True)
    write_clip(mroot / "v1.mp4")
    mjson = tmp_path / "music.json"
    mjson.write_text(json.dumps({"videos": {"violin": ["v1", "v2"]}}))
    items, classes, missing = music(tmp_path / "music", mjson)
    assert classes == ["violin"] and missing == ["v2"] and items[0].split == hashed_split("v1")


@pytest.mark.slow
def test_tiny_train_and_evaluate_on_a_generated_video_folder(tmp_path, run_cli):
    root = make_folder(tmp_path / "videos", per_class=6)
    spec = f"folder:root={root},frames=4,size=16,sample_rate=8000,seconds=1.0"
    code, out, err = run_cli("prepare", "--data", spec, "--out", tmp_path / "cache")
    assert code == 0, err
    assert "2 classes" in out and "1 skipped" in out and "clips/s" in out
    data = f"{spec},cache={tmp_path / 'cache'}"
    splits = {s: len(load_dataset(data, s)) for s in ("train", "val", "test") if _has(data, s)}
    assert sum(splits.values()) == 12
    code, out, err = run_cli("train", "--data", data, "--model", "AsV", "--out", tmp_path / "run", "--epochs", "1",
                             "--batch-size", "4")
    assert code == 0, err
    split = "val" if "val" in splits else "train"
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "run", "--split", split, "--attack", "fgsm")
    assert code == 0, err
    # the class mapping travels with the checkpoint: data with other classes is refused
    other = make_folder(tmp_path / "other", classes=("flute", "harp"), per_class=2, bad=False)
    code, _, err = run_cli("evaluate", "--checkpoint", tmp_path / "run", "--split", "train", "--data",
                           f"folder:root={other},frames=4,size=16,sample_rate=8000,seconds=1.0")
    assert code == 2 and "another mapping" in err


def _has(spec: str, split: str) -> bool:
    try:
        load_dataset(spec, split)
    except Exception:  # noqa: BLE001 - a split with no clip
        return False
    return True


@pytest.mark.parametrize("spec, message", [
    ("folder", "dataset 'folder' needs root=..."),
    ("folder:root=/nonexistent", "is not a directory"),
    ("kinetics-sounds:root=/tmp,annotations=/nonexistent.csv", "annotations file /nonexistent.csv does not exist"),
    ("folder:root=/tmp,colour=red", "unknown option(s) colour"),
])
def test_bad_dataset_specs_are_one_line_errors(spec, message):
    with pytest.raises(ConfigError) as err:
        load_dataset(spec, "train")
    assert message in str(err.value)


def test_prepare_with_nothing_decoded_is_one_line_and_not_a_success(tmp_path, run_cli):
    for label in ("cat", "dog"):
        (tmp_path / "videos" / label).mkdir(parents=True)
        (tmp_path / "videos" / label / "a.mp4").write_bytes(b"not a video")
    spec = f"folder:root={tmp_path / 'videos'},frames=4,size=16,sample_rate=8000,seconds=1.0"
    code, out, err = run_cli("prepare", "--data", spec, "--out", tmp_path / "cache")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "nothing under" in lines[0] and "2 file(s) skipped" in lines[0]
    assert "train with" not in out  # no training command suggested for a cache with no clip
