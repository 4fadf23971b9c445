"""avrobust export: MP4 / WAV / PNG files that decode to what was attacked."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from avrobust.errors import ConfigError
from avrobust.jobs import export_examples


@pytest.fixture(scope="module")
def exported(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("export")
    return out, export_examples(trained["run_dir"], out, attack="ifgsm", n=2, steps=2)


@pytest.mark.slow
def test_mp4_has_every_frame_and_the_adversarial_audio(exported: tuple[Path, dict], trained: dict) -> None:
    out, index = exported
    clip = trained["test"].batch(slice(0, 1))[0]
    with av.open(str(out / "clip_000.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(out / "clip_000.mp4")) as c:
        samples = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
        rate = c.streams.audio[0].rate
    assert len(frames) == clip.frames
    assert frames[0].shape[0] % 2 == 0 and frames[0].shape[1] % 2 == 0
    assert rate == clip.sample_rate
    # AAC adds priming and padding, at most a couple of 1024-sample frames
    assert clip.audio.shape[1] <= samples.shape[1] <= clip.audio.shape[1] + 3 * 1024
    assert index["fps"] == pytest.approx(clip.fps)


@pytest.mark.slow
def test_wavs_hold_the_waveforms(exported: tuple[Path, dict], trained: dict) -> None:
    out, _ = exported
    clean = trained["test"].batch(slice(0, 1))[0].audio[0].numpy()
    with wave.open(str(out / "clip_000_clean.wav")) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, 8000)
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    assert len(pcm) == len(clean)
    assert np.abs(pcm / 32767 - clean).max() < 1e-4
    with wave.open(str(out / "clip_000_adv.wav")) as f:
        adv = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32767
    assert 0 < np.abs(adv - clean).max() <= 0.01 + 1e-4  # the default audio budget


@pytest.mark.slow
def test_index_and_spectrograms(exported: tuple[Path, dict]) -> None:
    out, index = exported
    saved = json.loads((out / "index.json").read_text())
    assert len(saved["clips"]) == 2 and saved["attack"]["attack"] == "ifgsm"
    for clip in saved["clips"]:
        for name in clip["files"]:
            assert (out / name).stat().st_size > 0
    assert (out / "clip_001_logmel.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_export_refuses_to_overwrite_and_bad_requests(exported: tuple[Path, dict], trained: dict, run_cli) -> None:
    out, _ = exported
    with pytest.raises(ConfigError, match="--overwrite"):
        export_examples(trained["run_dir"], out, attack="fgsm", n=1)
    with pytest.raises(ConfigError, match="one attack"):
        export_examples(trained["run_dir"], out / "x", attack="fgsm,pgd", n=1)
    code, _, err = run_cli("export", "--checkpoint", trained["run_dir"], "--attack", "nope", "--out", out / "y")
    assert code == 2 and "unknown attack" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_export_writes_corrupted_clips_to_watch_and_hear(trained: dict, tmp_path: Path, run_cli) -> None:
    from avrobust.corruptions import corrupt

    code, out, err = run_cli("export", "--checkpoint", trained["run_dir"], "--corruption", "wind:3", "--n", "1",
                             "--out", tmp_path / "wind")
    assert code == 0 and "after the corruption" in out, err
    saved = json.loads((tmp_path / "wind" / "index.json").read_text())
    assert saved["corruption"] == {"name": "wind", "severity": 3, "seed": 0} and saved["amplify"] == 1.0
    clip = trained["test"].batch(slice(0, 1))[0]
    expected = corrupt(clip, "wind", 3, seed=0).audio[0].numpy()
    with wave.open(str(tmp_path / "wind" / "clip_000_corrupted.wav")) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32767
    assert np.abs(pcm - expected).max() < 1e-4  # the corrupted sound, as the card measures it
    code, _, err = run_cli("export", "--checkpoint", trained["run_dir"], "--corruption", "wind", "--out", tmp_path / "x")
    assert code == 2 and "NAME:SEVERITY" in err and len(err.strip().splitlines()) == 1
