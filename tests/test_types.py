import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.errors import InputError
from avrobust.types import AVBatch, segment_masks


def make_batch(n: int = 2, t: int = 4, s: int = 10, h: int = 8) -> AVBatch:
    video = torch.rand(n, t, 3, h, h)
    # audio sample value encodes its segment index so alignment is checkable
    audio = (torch.arange(t).repeat_interleave(s).float() / t).expand(n, -1).clone()
    return AVBatch(video, audio, fps=8.0, sample_rate=80)


def test_audio_segments_are_aligned_with_frames():
    b = make_batch()
    seg = b.audio_segments()
    assert seg.shape == (2, 4, 10)
    for t in range(4):
        assert torch.all(seg[:, t] == t / 4)


def test_select_segments_keeps_both_modalities_aligned():
    b = make_batch()
    sub = b.select_segments([3, 1])
    assert sub.frames == 2 and sub.samples_per_segment == 10
    assert torch.equal(sub.video, b.video[:, [3, 1]])
    assert torch.all(sub.audio_segments()[:, 0] == 3 / 4) and torch.all(sub.audio_segments()[:, 1] == 1 / 4)


def test_select_segments_rejects_bad_indices():
    with pytest.raises(InputError, match="segment indices"):
        make_batch().select_segments([4])
    with pytest.raises(InputError, match="at least one"):
        make_batch().select_segments([])


def test_mask_segments_zeroes_only_masked_segments():
    b = make_batch()
    vm = torch.tensor([[True, False, False, False], [False, False, False, True]])
    am = torch.tensor([False, True, False, False])
    m = b.mask_segments(vm, am)
    assert torch.all(m.video[0, 0] == 0) and torch.equal(m.video[0, 1:], b.video[0, 1:])
    assert torch.all(m.video[1, 3] == 0) and torch.equal(m.video[1, :3], b.video[1, :3])
    assert torch.all(m.audio_segments()[:, 1] == 0)
    assert torch.equal(m.audio_segments()[:, [0, 2, 3]], b.audio_segments()[:, [0, 2, 3]])


@pytest.mark.parametrize(
    ("video", "audio", "match"),
    [
        (torch.rand(2, 3, 8, 8), torch.rand(2, 30), "video must be"),
        (torch.rand(2, 3, 3, 8, 8), torch.rand(2, 31), "not a multiple"),
        (torch.rand(2, 3, 3, 8, 8), torch.rand(3, 30), "clips"),
        (torch.rand(2, 3, 3, 8, 8), torch.rand(2, 1, 30), "mono"),
    ],
)
def test_bad_shapes_are_rejected(video, audio, match):
    with pytest.raises(InputError, match=match):
        AVBatch(video, audio, 8.0, 80)


@pytest.mark.parametrize(
    ("modality", "value", "match"),
    [("video", float("nan"), "NaN"), ("audio", float("inf"), "NaN or inf"), ("video", 1.5, "must lie in"),
     ("audio", -1.2, "must lie in")],
)
def test_validate_rejects_nonfinite_and_out_of_range(modality, value, match):
    b = make_batch()
    getattr(b, modality).view(-1)[3] = value
    with pytest.raises(InputError, match=match):
        b.validate()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), t=st.integers(1, 12), ratio=st.floats(0, 1), sync=st.booleans(), seed=st.integers(0, 99))
def test_segment_masks_drop_the_requested_count(n, t, ratio, sync, seed):
    g = torch.Generator().manual_seed(seed)
    vm, am = segment_masks(n, t, ratio, synchronous=sync, generator=g)
    k = int(round(ratio * t))
    assert vm.shape == am.shape == (n, t)
    assert torch.all(vm.sum(1) == k) and torch.all(am.sum(1) == k)
    if sync:
        assert torch.equal(vm, am)


def test_asynchronous_masks_differ_and_are_seeded():
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = segment_masks(64, 8, 0.5, synchronous=False, generator=g1)
    b = segment_masks(64, 8, 0.5, synchronous=False, generator=g2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], a[1])


@settings(max_examples=30, deadline=None)
@given(t=st.integers(1, 10), data=st.data())
def test_select_segments_roundtrip(t, data):
    b = make_batch(t=t)
    idx = data.draw(st.lists(st.integers(0, t - 1), min_size=1, max_size=t))
    sub = b.select_segments(idx)
    assert sub.frames == len(idx)
    assert sub.audio.shape[1] == len(idx) * b.samples_per_segment
    for j, i in enumerate(idx):
        assert torch.equal(sub.video[:, j], b.video[:, i])
        assert torch.equal(sub.audio_segments()[:, j], b.audio_segments()[:, i])
