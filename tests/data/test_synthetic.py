import numpy as np
import pytest
import torch

from avrobust.data import AVDataset, load_dataset
from avrobust.data.synthetic import SynthConfig, _pitch, generate
from avrobust.errors import ConfigError
from avrobust.specs import format_spec, parse_spec


def test_same_seed_gives_identical_tensors_and_splits_differ(tiny_spec):
    a, b = load_dataset(tiny_spec, "train"), load_dataset(tiny_spec, "train")
    assert torch.equal(a.video, b.video) and torch.equal(a.audio, b.audio) and torch.equal(a.labels, b.labels)
    name, options = parse_spec(tiny_spec)
    other_seed = load_dataset(format_spec(name, {**options, "seed": options.get("seed", 0) + 1}), "train")
    assert not torch.equal(a.video, other_seed.video)
    val = load_dataset(tiny_spec, "val")
    assert not torch.equal(a.video[: len(val)], val.video)


def test_shapes_ranges_and_balance(tiny_train):
    d = tiny_train
    assert d.video.shape == (24, 4, 3, 16, 16) and d.video.dtype == torch.float32
    assert d.audio.shape == (24, 4 * 1000)  # 0.5 s at 8 kHz over 4 frames
    assert d.fps == 8.0 and d.sample_rate == 8000
    assert d.video.min() >= 0 and d.video.max() <= 1 and d.audio.abs().max() <= 1
    assert torch.bincount(d.labels).tolist() == [6, 6, 6, 6]


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)


def test_temporal_redundancy():
    """(a) consecutive frames and consecutive audio segments are highly similar."""
    d = load_dataset("synth:clips_per_class=10", "train")
    v = d.video
    frame_sim = _cos(v[:, 1:].reshape(-1, *v.shape[2:]), v[:, :-1].reshape(-1, *v.shape[2:]))
    assert frame_sim.mean() > 0.95
    # the magnitude spectra of consecutive audio segments inside the event window
    seg = torch.from_numpy(np.abs(np.fft.rfft(d.audio.view(len(d), d.frames, -1).numpy(), axis=-1)))
    ev = d.extras["event"] & ~d.extras["audio_hidden"][:, None]
    both = ev[:, 1:] & ev[:, :-1]
    seg_sim = _cos(seg[:, 1:][both], seg[:, :-1][both])
    assert seg_sim.mean() > 0.8
    # far above the similarity of event segments of clips of another class
    clip, t = torch.nonzero(both, as_tuple=True)
    labels = d.labels[clip]
    partner = torch.roll(torch.arange(len(clip)), len(clip) // 2)
    other = labels != labels[partner]
    cross_sim = _cos(seg[clip, t + 1][other], seg[clip[partner], t[partner] + 1][other])
    assert seg_sim.mean() > cross_sim.mean() + 0.3


def test_events_are_aligned_in_time():
    """(c) the object is on screen exactly in the event frames, the tone sounds exactly then."""
    cfg = SynthConfig(classes=4, clips_per_class=8, audio_noise=0.0, video_noise=0.0)
    clips = generate(cfg, "train")
    s = cfg.samples_per_segment
    t = np.arange(s) / cfg.sample_rate
    checked = 0
    for i in range(len(clips.labels)):
        if clips.visual_hidden[i] or clips.audio_hidden[i]:
            continue
        c = clips.labels[i]
        # saturated colour pixels (the object) vs grey/dim background and distractor
        v = clips.video[i]
        sat = v.max(axis=1) - v.min(axis=1)
        visible = ((sat > 0.6) & (v.max(axis=1) > 0.75)).sum(axis=(1, 2)) > 5
        # energy at the class pitch per segment (the distractor uses another random pitch)
        f0 = _pitch(int(c), cfg.classes)
        segs = clips.audio[i].reshape(cfg.frames, s)
        probe = np.abs(segs @ np.exp(-2j * np.pi * f0 * t)) / s
        sounding = probe > 0.02
        assert np.array_equal(visible, clips.event[i]), i
        assert np.array_equal(sounding, clips.event[i]), i
        checked += 1
    assert checked >= 10


def test_hidden_probabilities_are_respected():
    d = load_dataset("synth:p_visual_hidden=0.5,p_audio_hidden=0.1,p_both_hidden=0", "train")
    vh, ah = d.extras["visual_hidden"].float().mean(), d.extras["audio_hidden"].float().mean()
    assert abs(vh - 0.5) < 0.06 and abs(ah - 0.1) < 0.04
    assert not torch.any(d.extras["visual_hidden"] & d.extras["audio_hidden"])


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("synth:classes=1", "classes"),
        ("synth:p_visual_hidden=0.7,p_audio_hidden=0.7", "sum to"),
        ("synth:colour=red", "unknown option\\(s\\) colour for dataset 'synth'; valid options: classes"),
        ("nosuch", "unknown dataset 'nosuch'; valid choices: ave, crema-d, cremad, digits, folder, kinetics-sounds, ks, music, saved, synth, vggsound"),
        ("synth:seconds=0.05,frames=8", "fewer than 64"),
    ],
)
def test_bad_specs_fail_with_valid_choices(spec, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset(spec, "train")


def test_unknown_split():
    with pytest.raises(ConfigError, match="valid splits: train, val, test"):
        load_dataset("synth", "dev")


def test_save_load_roundtrip(tmp_path, tiny_train):
    path = tiny_train.save(tmp_path / "train.safetensors")
    back = AVDataset.load(path)
    assert torch.equal(back.video, tiny_train.video) and torch.equal(back.audio, tiny_train.audio)
    assert back.class_names == tiny_train.class_names and back.fps == tiny_train.fps
    assert torch.equal(back.extras["event"], tiny_train.extras["event"])
    same = load_dataset(f"saved:root={tmp_path}", "train")
    assert torch.equal(same.labels, tiny_train.labels)
