"""Corruptions and failing modalities: the registry, the stated SNRs, valid ranges and shapes, determinism,
the halves of a pair, the failures' exact effects, recordings for the sound beds, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import avrobust
from avrobust.corruptions import CORRUPTIONS, corrupt, corruption_names, create_corruption
from avrobust.corruptions.sound import BED_SNR_DB, NOISE_SNR_DB, snr_db
from avrobust.data import load_dataset
from avrobust.errors import ConfigError
from avrobust.media import write_wav
from avrobust.types import AVBatch

from tests.conftest import SYNTH

NATURAL = corruption_names()
FAILURES = corruption_names(failures=True)


@pytest.fixture(scope="module")
def clips() -> AVBatch:
    """100 synth test clips (8 frames of 32 px, 1 s at 8 kHz)."""
    batch, _ = load_dataset(SYNTH, "test").batch(torch.arange(100))
    return batch


def small(n: int = 4, frames: int = 8, side: int = 16, seed: int = 0) -> AVBatch:
    g = torch.Generator().manual_seed(seed)
    video = torch.rand(n, frames, 3, side, side, generator=g)
    audio = 0.3 * torch.sin(torch.arange(frames * 500) / 3.0)[None] * torch.rand(n, 1, generator=g)
    return AVBatch(video, audio, 8.0, 4000)


def test_the_registry_holds_15_paired_corruptions_and_the_failures() -> None:
    paired = [n for n in NATURAL if set(create_corruption(n).touches()) == {"video", "audio"}]
    assert len(paired) >= 15 and len(FAILURES) >= 3
    for name in CORRUPTIONS:
        c = create_corruption(name)
        described = c.describe()
        assert set(described) == set(c.touches()) and all(described.values())
        assert all(len(levels) == c.levels for levels in (c.video_levels, c.audio_levels) if levels)


@pytest.mark.parametrize("name", [n for n in NATURAL if create_corruption(n).family == "noise"])
def test_additive_audio_noise_is_at_its_severitys_snr_over_100_clips(clips: AVBatch, name: str) -> None:
    for severity, target in enumerate(NOISE_SNR_DB, 1):
        measured = snr_db(clips.audio, corrupt(clips, name, severity, seed=1, modality="audio").audio).mean()
        assert abs(float(measured) - target) < 0.5, (severity, float(measured))


@pytest.mark.slow
def test_sound_beds_are_mixed_at_their_snr(clips: AVBatch) -> None:
    """The beds' SNRs hold as well (severities 1 and 4 on 16 clips; marked slow: nine beds synthesised twice)."""
    some = clips.index(slice(0, 16))
    for name in [n for n in NATURAL if create_corruption(n).audio_levels == tuple(f"{s:g} dB" for s in BED_SNR_DB)]:
        for severity in (1, 4):
            measured = snr_db(some.audio, corrupt(some, name, severity, seed=0, modality="audio").audio).mean()
            assert abs(float(measured) - BED_SNR_DB[severity - 1]) < 0.5, (name, severity, float(measured))


@pytest.mark.parametrize("name", NATURAL + FAILURES)
def test_every_corruption_keeps_shapes_and_ranges_and_repeats_with_its_seed(name: str) -> None:
    batch = small()
    for severity in sorted({1, create_corruption(name).levels}):
        out = corrupt(batch, name, severity, seed=3)
        assert out.video.shape == batch.video.shape and out.audio.shape == batch.audio.shape
        out.validate(atol=0.0)
        again = corrupt(batch, name, severity, seed=3)
        assert torch.equal(out.video, again.video) and torch.equal(out.audio, again.audio)
        changed = [m for m in ("video", "audio") if not torch.equal(getattr(out, m), getattr(batch, m))]
        assert changed and set(changed) <= set(create_corruption(name).touches()), (severity, changed)


@pytest.mark.parametrize("name", NATURAL)
def test_each_half_is_exactly_that_half_of_the_pair(name: str) -> None:
    batch = small()
    pair = corrupt(batch, name, 3, seed=5)
    video_only, audio_only = (corrupt(batch, name, 3, seed=5, modality=m) for m in ("video", "audio"))
    assert torch.equal(video_only.video, pair.video) and torch.equal(video_only.audio, batch.audio)
    assert torch.equal(audio_only.audio, pair.audio) and torch.equal(audio_only.video, batch.video)


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(NATURAL), st.integers(1, 5), st.integers(0, 2**16), st.integers(8, 40))
def test_any_frame_size_and_seed_stays_valid(name: str, severity: int, seed: int, side: int) -> None:
    out = corrupt(small(n=2, frames=2, side=side, seed=seed), name, severity, seed=seed)
    out.validate(atol=0.0)


def test_other_seeds_draw_other_corruptions_and_severities_grow() -> None:
    batch = small()
    a, b = corrupt(batch, "gaussian", 3, seed=0), corrupt(batch, "gaussian", 3, seed=1)
    assert not torch.equal(a.video, b.video)
    changes = [(corrupt(batch, "gaussian", s).video - batch.video).abs().mean() for s in range(1, 6)]
    assert all(x < y for x, y in zip(changes, changes[1:]))


def test_desync_shifts_the_audio_by_whole_frames() -> None:
    batch = small()
    out = corrupt(batch, "desync", 2, seed=0)
    s = 2 * batch.samples_per_segment
    for i in range(batch.size):
        late = torch.equal(out.audio[i, s:], batch.audio[i, :-s]) and not out.audio[i, :s].any()
        early = torch.equal(out.audio[i, :-s], batch.audio[i, s:]) and not out.audio[i, -s:].any()
        assert late or early


def test_dropped_frames_repeat_the_last_frame_shown() -> None:
    batch = small(n=6)
    out = corrupt(batch, "dropped-frames", 5, seed=0)
    for i in range(batch.size):
        assert torch.equal(out.video[i, 0], batch.video[i, 0])
        kept = [t for t in range(batch.frames) if torch.equal(out.video[i, t], batch.video[i, t])]
        assert len(kept) == batch.frames - round(0.5 * batch.frames)
        for t in range(batch.frames):
            shown = max(k for k in kept if k <= t)
            assert torch.equal(out.video[i, t], batch.video[i, shown])


def test_audio_dropouts_silence_their_share_and_missing_modalities_remove_a_stream() -> None:
    batch = small()
    out = corrupt(batch, "audio-dropout", 3, seed=0)
    silent = (out.audio == 0) & (batch.audio != 0)
    assert abs(float(silent.float().mean()) - 0.3) < 1e-3  # the stated share, exactly (windows never overlap)
    assert not corrupt(batch, "missing-audio", 1).audio.any()
    frames = corrupt(batch, "missing-video", 1).video
    assert torch.allclose(frames, batch.video.mean((1, 3, 4), keepdim=True).expand_as(frames))


def test_recordings_in_noise_dir_replace_the_synthesised_bed(tmp_path) -> None:
    batch = small()
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(4000) / 4000).astype(np.float32)
    write_wav(tmp_path / "wind-field.wav", tone, 4000)
    recorded = corrupt(batch, "wind", 4, seed=0, noise_dir=tmp_path)
    synthesised = corrupt(batch, "wind", 4, seed=0)
    assert not torch.equal(recorded.audio, synthesised.audio)
    assert abs(float(snr_db(batch.audio, recorded.audio).mean()) - BED_SNR_DB[3]) < 0.5
    with pytest.raises(ConfigError, match="no recordings for the 'rain' sound bed"):
        corrupt(batch, "rain", 1, noise_dir=tmp_path)


def test_selections_all_quick_and_names() -> None:
    quick = corruption_names("quick")
    assert len({create_corruption(n).family for n in quick}) == len(quick) == len({create_corruption(n).family
                                                                                    for n in NATURAL})
    assert corruption_names("snow, wind") == ["snow", "wind"] and corruption_names(["all"]) == NATURAL
    assert all(create_corruption(n).failure for n in FAILURES) and not set(FAILURES) & set(NATURAL)


def test_bad_names_severities_and_modalities_are_one_line() -> None:
    batch = small()
    with pytest.raises(ConfigError, match="unknown corruption 'fog'; valid choices"):
        corrupt(batch, "fog", 1)
    with pytest.raises(ConfigError, match="severities 1-5, got 6"):
        corrupt(batch, "snow", 6)
    with pytest.raises(ConfigError, match="severities 1-1, got 2"):
        corrupt(batch, "missing-audio", 2)
    with pytest.raises(ConfigError, match="modality must be one of both, video, audio"):
        corrupt(batch, "snow", 1, modality="frames")


def test_the_api_verb_is_the_registry_s() -> None:
    assert avrobust.corrupt is corrupt
