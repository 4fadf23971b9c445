"""``digits``: real scans and real speech, disjoint writers and voices, reproducible, cached, and a clear
line when the text-to-speech wheel is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from avrobust.data import digit_clips as digits, load_dataset, speech
from avrobust.errors import ConfigError

SPEC = "digits:clips_per_class=2,eval_clips_per_class=1,frames=4,size=24,seconds=1.0"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVROBUST_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_clips_are_valid_and_labelled_by_their_word():
    data = load_dataset(SPEC, "train")
    assert data.video.shape == (20, 4, 3, 24, 24) and data.audio.shape == (20, 8000)
    assert data.class_names == list(digits.WORDS) and sorted(data.labels.tolist()) == sorted(list(range(10)) * 2)
    data.validate()
    spoken = ~data.extras["audio_missing"]
    loud = data.audio.abs().amax(1)
    assert bool((loud[spoken] > 0.2).all())  # the word is there, well above the noise floor


def test_splits_share_no_scan_and_no_voice():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    pools = digits.pools(digits.DigitsConfig(), labels, speech.voices())
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        for c in range(10):
            assert not set(pools[a][0][c]) & set(pools[b][0][c])
        assert not set(pools[a][1]) & set(pools[b][1])
    assert all(len(pools[s][1]) >= 100 for s in ("val", "test"))  # unseen voices, many of them
    assert all(np.all(labels[pools["test"][0][c]] == c) for c in range(10))


@pytest.mark.slow  # synthesises speech twice (12 s)
def test_a_seed_rebuilds_the_same_bytes_and_the_cache_is_reused(cache, monkeypatch):
    first = digits.generate(digits.DigitsConfig(clips_per_class=1, eval_clips_per_class=1, frames=2, size=16), "val")
    again = digits.generate(digits.DigitsConfig(clips_per_class=1, eval_clips_per_class=1, frames=2, size=16), "val")
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = digits.generate(digits.DigitsConfig(clips_per_class=1, eval_clips_per_class=1, frames=2, size=16, seed=1),
                            "val")
    assert not torch.equal(first["audio"], other["audio"])
    built = load_dataset(SPEC, "test")
    assert len(list((cache / "digits").glob("*-test.safetensors"))) == 1
    monkeypatch.setattr(digits, "generate", lambda *a: pytest.fail("rebuilt instead of read from the cache"))
    cached = load_dataset(SPEC, "test")
    assert torch.equal(cached.video, built.video) and torch.equal(cached.audio, built.audio)


def test_without_the_speech_wheel_one_line_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install espeakng-loader \(GPL-3") as err:
        load_dataset(SPEC, "val")
    assert "\n" not in str(err.value)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="unknown option.*colour"):
        load_dataset("digits:colour=1", "val")
    with pytest.raises(ConfigError, match="seconds must lie"):
        load_dataset("digits:seconds=0.2", "val")


@pytest.mark.slow  # builds the dataset in a subprocess (9 s)
def test_a_script_without_a_main_guard_can_build_it(tmp_path, cache):
    """Speech runs in ``python -m avrobust.data.speech``, never by re-running the caller's script (what
    multiprocessing's spawn would do, and fail on, for a script without ``if __name__ == "__main__"``)."""
    import subprocess

    script = tmp_path / "plain.py"
    script.write_text(f"from avrobust.data import load_dataset\nprint(len(load_dataset({SPEC!r}, 'val')))\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "AVROBUST_CACHE": str(cache)})
    assert run.returncode == 0 and run.stdout.strip() == "10", run.stderr[-500:]
