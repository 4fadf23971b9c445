import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from avrobust.attacks.threat import Budget, ThreatModel, within_budget
from avrobust.attacks import create_attack
from avrobust.defences import create_method
from avrobust.defences.sampling import (check_rho, craft_on_segments, craft_resampled, expand_perturbation,
                                        nearest_sampled, sample_segments, spread_matrix)
from avrobust.errors import ConfigError
from avrobust.seeding import generator
from avrobust.types import AVBatch


@settings(max_examples=80, deadline=None)
@given(frames=st.integers(1, 32), rho=st.floats(0.01, 1.0), seed=st.integers(0, 1000))
def test_one_sampled_segment_per_window(frames, rho, seed):
    idx = sample_segments(frames, rho, generator(seed))
    count = max(1, round(rho * frames))
    assert len(idx) == min(count, frames)
    assert torch.equal(idx, idx.sort().values) and len(set(idx.tolist())) == len(idx)
    if count < frames:
        for i, t in enumerate(idx.tolist()):
            assert i * frames // count <= t < (i + 1) * frames // count


def test_rho_one_keeps_every_segment_and_bad_ratios_fail():
    assert torch.equal(sample_segments(8, 1.0), torch.arange(8))
    for bad in (0, -0.5, 1.5, float("nan")):
        with pytest.raises(ConfigError, match=r"rho must lie in \(0, 1\]"):
            check_rho(bad)


def test_nearest_sampled_segment():
    assert nearest_sampled(8, torch.tensor([1, 5])).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]  # 3 is a tie: earlier
    assert nearest_sampled(5, torch.tensor([4])).tolist() == [0] * 5


def _batch(n=2, t=8, s=10, seed=0):
    g = generator(seed)
    video = 0.25 + 0.5 * torch.rand(n, t, 3, 4, 4, generator=g)
    audio = 0.5 * (torch.rand(n, t * s, generator=g) * 2 - 1)
    return AVBatch(video, audio, fps=8, sample_rate=80)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 500), rho=st.sampled_from([0.125, 0.25, 0.4, 0.5]), norm=st.sampled_from(["linf", "l2"]))
def test_each_frame_gets_its_sampled_neighbours_delta_within_budget(seed, rho, norm):
    batch = _batch(seed=seed)
    eps_v, eps_a = (8 / 255, 0.01) if norm == "linf" else (0.5, 0.05)
    threat = ThreatModel(Budget(norm, eps_v), Budget(norm, eps_a, low=-1, high=1))
    sampled = sample_segments(batch.frames, rho, generator(seed))
    short = batch.select_segments(sampled)
    g = generator(seed + 1)
    adv_short = short.with_inputs(short.video + eps_v * (torch.rand(short.video.shape, generator=g) * 2 - 1) / 4,
                                  short.audio + eps_a * (torch.rand(short.audio.shape, generator=g) * 2 - 1) / 4)
    full = expand_perturbation(batch, short, adv_short, sampled, threat)
    pos = nearest_sampled(batch.frames, sampled)
    assert within_budget(full.video, batch.video, threat.video).all()
    assert within_budget(full.audio, batch.audio, threat.audio).all()
    if norm == "linf":  # no projection needed: every frame carries exactly its neighbour's delta
        dv = full.video - batch.video
        da = (full.audio - batch.audio).view(2, batch.frames, -1)
        short_dv = adv_short.video - short.video
        short_da = (adv_short.audio - short.audio).view(2, len(sampled), -1)
        for t in range(batch.frames):
            torch.testing.assert_close(dv[:, t], short_dv[:, pos[t]], rtol=0, atol=1e-6)
            torch.testing.assert_close(da[:, t], short_da[:, pos[t]], rtol=0, atol=1e-6)


def test_crafting_runs_on_the_shorter_clip_and_rho_one_is_the_plain_attack():
    batch = _batch()
    seen = []

    def attack(b):
        seen.append(b.frames)
        return b.with_inputs((b.video + 0.01).clamp(0, 1), b.audio)

    out = craft_on_segments(attack, batch, 0.25, ThreatModel(), generator(0))
    assert seen == [2] and out.frames == 8
    torch.testing.assert_close(out.video, batch.video + 0.01)
    full = craft_on_segments(attack, batch, 1.0, ThreatModel(), generator(0))
    assert seen == [2, 8] and torch.equal(full.video, (batch.video + 0.01).clamp(0, 1))


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(1, 16), rho=st.floats(0.05, 1.0), seed=st.integers(0, 1000))
def test_spread_weights_copy_or_interpolate_the_sampled_segments(frames, rho, seed):
    sampled = sample_segments(frames, rho, generator(seed))
    near, lin = spread_matrix(frames, sampled, "nearest"), spread_matrix(frames, sampled, "linear")
    for w in (near, lin):
        assert w.shape == (frames, len(sampled)) and torch.allclose(w.sum(1), torch.ones(frames)) and (w >= 0).all()
    assert near.argmax(1).tolist() == nearest_sampled(frames, sampled).tolist()
    for j, t in enumerate(sampled.tolist()):  # a sampled segment keeps its own perturbation
        assert lin[t, j] == 1.0
    # linear: between two sampled segments the weight moves monotonically from the left one to the right one
    for j in range(len(sampled) - 1):
        a, b = sampled[j].item(), sampled[j + 1].item()
        right = lin[a:b + 1, j + 1]
        assert torch.all(right[1:] >= right[:-1]) and right[0] == 0 and right[-1] == 1


def test_linear_spread_stays_within_the_budget(tiny_train, make_model):
    batch, labels = tiny_train.batch(torch.arange(4))
    threat = ThreatModel()
    attack = create_attack("pgd", threat, steps=2)
    model = make_model()
    adv = craft_on_segments(lambda b: attack(model, b, labels), batch, 0.5, threat, generator(0), spread="linear")
    for m in ("video", "audio"):
        assert within_budget(getattr(adv, m), getattr(batch, m), threat.budget(m)).all()
    with pytest.raises(ConfigError, match="unknown spread 'cubic'"):
        spread_matrix(4, torch.tensor([1]), "cubic")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 500), rho=st.sampled_from([0.125, 0.25, 0.5]), norm=st.sampled_from(["linf", "l2"]),
       spread=st.sampled_from(["nearest", "linear"]))
def test_resampled_crafting_draws_new_segments_every_step_and_stays_within_budget(seed, rho, norm, spread):
    """Every step sees a fresh sample of the segments (the first from the clean clip, the others from the
    current adversarial one) and the result is projected onto the budget."""
    batch = _batch(seed=seed)
    eps_v, eps_a = (8 / 255, 0.01) if norm == "linf" else (0.5, 0.05)
    threat = ThreatModel(Budget(norm, eps_v), Budget(norm, eps_a, low=-1, high=1))
    g, calls, seen = generator(seed + 1), [], []

    def step(short, start):
        calls.append((short.frames, start is None))
        # which clean frames the step was given: each short frame is exactly one of the batch's frames
        match = (short.video[0, :, None] == batch.video[0, None]).flatten(2).all(-1)
        seen.append(tuple(match.int().argmax(1).tolist()))
        x = short if start is None else start
        return short.with_inputs(x.video + eps_v / 2 * torch.randn(x.video.shape, generator=g).sign(),
                                 x.audio + eps_a / 2 * torch.randn(x.audio.shape, generator=g).sign())

    drawn = generator(seed)
    adv = craft_resampled(step, batch, 4, rho, threat, drawn, spread)
    t_short = max(1, round(rho * batch.frames))
    assert calls == [(t_short, True)] + [(t_short, False)] * 3
    assert within_budget(adv.video, batch.video, threat.video).all()
    assert within_budget(adv.audio, batch.audio, threat.audio).all()
    replay = generator(seed)
    samples = [tuple(sample_segments(batch.frames, rho, replay).tolist()) for _ in range(4)]
    assert seen == samples  # step k crafted on the k-th draw of the generator, not on one sample reused
    assume(len(set(samples)) > 1 or t_short == batch.frames)  # four equal draws (1 in 512 at rho 1/8) test nothing


def test_resampled_crafting_on_every_segment_is_the_plain_multi_step_attack(tiny_train, make_model):
    """With rho = 1 and I-FGSM (no momentum), 3 single steps from the running point are the 3-step attack:
    the one-step attack takes the 3-step attack's step size."""
    method = create_method("avat", attack="ifgsm", rho=1.0, steps=3, resample=True)
    model = make_model()
    batch, labels = tiny_train.batch(torch.arange(4))
    method.start_epoch(model, 0, 1)
    stepped = craft_resampled(lambda b, s: method.craft_step(model, b, labels, 3, s), batch, 3, 1.0,
                              method.threat, generator(0))
    whole = method.craft(model, batch, labels, 3)
    torch.testing.assert_close(stepped.video, whole.video, rtol=0, atol=1e-6)
    torch.testing.assert_close(stepped.audio, whole.audio, rtol=0, atol=1e-6)
    assert not torch.equal(whole.video, batch.video)
    with pytest.raises(ConfigError, match="steps >= 1"):
        craft_resampled(lambda b, s: b, batch, 0, 1.0, method.threat)
