"""The fast adversarial-training baselines: FGSM-RS and N-FGSM crafting, free-AT's replays and carried
perturbation, and their cost counted like every other method's."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.attacks.threat import ThreatModel, within_budget
from avrobust.defences import create_method
from avrobust.defences.fast import single_step
from avrobust.jobs import train_model
from avrobust.models.classifier import eval_mode
from avrobust.seeding import generator


def _batch(tiny_train, n=8):
    return tiny_train.batch(torch.arange(n))


@settings(max_examples=10, deadline=None)
@given(eps=st.sampled_from([1 / 255, 4 / 255, 16 / 255]), audio_eps=st.sampled_from([0.001, 0.01, 0.05]),
       seed=st.integers(0, 2**16))
def test_fgsm_rs_stays_in_the_ball_and_n_fgsm_reaches_beyond_it_within_three_eps(tiny_train, make_model, eps, audio_eps, seed):
    model = make_model()
    batch, labels = _batch(tiny_train)
    threat = ThreatModel.build(eps_video=eps, eps_audio=audio_eps)
    rs = single_step(model, batch, labels, threat, noise=1.0, step=1.25, clip=True, generator=generator(seed))
    for m in ("video", "audio"):
        assert within_budget(getattr(rs, m), getattr(batch, m), threat.budget(m)).all()
    nf = single_step(model, batch, labels, threat, noise=2.0, step=1.0, clip=False, generator=generator(seed))
    wide = ThreatModel.build(eps_video=3 * eps, eps_audio=3 * audio_eps)
    for m in ("video", "audio"):
        assert within_budget(getattr(nf, m), getattr(batch, m), wide.budget(m)).all()
    # N-FGSM's point is that it leaves the eps-ball: most clips go beyond it
    assert (~within_budget(nf.video, batch.video, threat.budget("video"))).float().mean() > 0.5


def test_single_step_leaves_an_unattacked_modality_clean_and_the_model_mode_alone(tiny_train, make_model):
    model = make_model().train()
    batch, labels = _batch(tiny_train)
    adv = single_step(model, batch, labels, ThreatModel.build("audio"), noise=1.0, step=1.25, clip=True,
                      generator=generator(0))
    assert torch.equal(adv.video, batch.video) and not torch.equal(adv.audio, batch.audio)
    assert model.training


@pytest.mark.slow
def test_the_fgsm_step_raises_the_loss_over_the_random_start(trained):
    """On the trained fixture model, the gradient step must raise the cross-entropy over its own start
    point on at least 75 % of 48 test clips (a wrong sign would lower it on nearly all)."""
    model = trained["model"]
    batch, labels = trained["test"].batch(torch.arange(48))
    threat = ThreatModel()
    start = single_step(model, batch, labels, threat, noise=1.0, step=1e-9, clip=True, generator=generator(0))
    moved = single_step(model, batch, labels, threat, noise=1.0, step=1.25, clip=True, generator=generator(0))
    with eval_mode(model), torch.no_grad():
        ce = [torch.nn.functional.cross_entropy(model(b.video, b.audio).logits, labels, reduction="none")
              for b in (start, moved)]
    assert (ce[1] > ce[0]).float().mean() >= 0.75


@pytest.mark.slow
def test_free_at_replays_each_batch_and_counts_its_passes(tmp_path, tiny_spec):
    one = train_model(tiny_spec, "alexnet-sum-vgg", tmp_path / "a", epochs=1, method="free-at:replays=1",
                      batch_size=8, show_progress=False)
    three = train_model(tiny_spec, "alexnet-sum-vgg", tmp_path / "b", epochs=1, method="free-at:replays=3",
                        batch_size=8, show_progress=False)
    clips = 24
    assert one["history"][0]["forward_passes"] == clips and one["history"][0]["backward_passes"] == clips
    assert three["history"][0]["forward_passes"] == 3 * clips and three["history"][0]["backward_passes"] == 3 * clips
    assert three["method_options"]["replays"] == 3


def test_free_at_carries_a_perturbation_within_the_budget(tiny_train, make_model):
    model = make_model().train()
    method = create_method("free-at", replays=2)
    method.start_epoch(model, 0, 1, seed=0)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.0)  # weights fixed: only the perturbation moves
    for start in (0, 8, 0):
        batch, labels = tiny_train.batch(torch.arange(start, start + 8))
        for _ in range(method.replays):
            loss = method.loss(model, batch, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    method._advance()
    delta = method._delta
    assert set(delta) == {"video", "audio"}
    for m, eps in (("video", 8 / 255), ("audio", 0.01)):
        assert delta[m].abs().max() <= eps + 1e-6 and delta[m].abs().max() > 0.5 * eps
    method.start_epoch(model, 1, 2, seed=1)
    assert method._delta == {}


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["fgsm-rs", "n-fgsm", "free-at:replays=2"])
def test_same_seed_same_training_loss(tmp_path, tiny_spec, spec):
    runs = [train_model(tiny_spec, "alexnet-sum-vgg", tmp_path / str(k), epochs=1, seed=3, method=spec, batch_size=8,
                        show_progress=False) for k in range(2)]
    assert runs[0]["history"][0]["loss"] == runs[1]["history"][0]["loss"]
