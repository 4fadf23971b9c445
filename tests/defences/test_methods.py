"""Adversarial training methods: modes, batch-norm statistics, cost, equivalences, one epoch of each."""

import json

import pytest
import torch
from torch import nn

from avrobust.attacks.threat import ThreatModel, within_budget
from avrobust.data import load_dataset
from avrobust.defences import METHODS, TrainConfig, create_method, train
from avrobust.defences.crmt import certified_bound, margin_loss, orthogonality_penalty
from avrobust.errors import ConfigError
from avrobust.jobs import train_model
from avrobust.models import create_model
from avrobust.seeding import seed_everything
from avrobust.specs import parse_spec

EVERY_METHOD = ["standard", "pgd-at:steps=2", "trades:steps=2", "mixup", "crmt-at:steps=2,reweight_steps=10",
                "avat:steps=2", "avat:rho=0.5,mask_sync=false,steps_schedule=step",
                "avat:steps=2,spread=linear,trades_beta=6", "fgsm-rs", "n-fgsm",
                "free-at:replays=2", "gaussian-aug:sigma_audio=0.05", "subsample-aug:k_video=2"]


def _run(spec, out, method, epochs=1, seed=0, name="alexnet-sum-vgg"):
    return train_model(spec, name, out, epochs=epochs, seed=seed, method=method, batch_size=8, show_progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("method", EVERY_METHOD)
def test_one_epoch_of_every_method(tmp_path, tiny_spec, method):
    summary = _run(tiny_spec, tmp_path / "r", method)
    assert summary["epochs"] == 1 and summary["seconds_per_epoch"] > 0
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in summary["history"])
    assert 0 <= summary["metrics"]["clean_accuracy"] <= 1
    saved = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert saved["method"] == method.split(":")[0] and saved["forward_passes"] >= 24
    if summary["method"] not in {"standard", "mixup", "gaussian-aug", "subsample-aug"}:
        assert summary["method_options"]["threat"]["video"]["eps"] == pytest.approx(8 / 255)


def test_every_registered_method_is_covered():
    assert {m.split(":")[0] for m in EVERY_METHOD} == set(METHODS)


def _bn_model():
    seed_everything(0)
    model = create_model("resnet-sum-resnet", 4, 8000)
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    return model


@pytest.mark.parametrize("method", ["pgd-at:steps=2", "trades:steps=2", "avat:steps=2,rho=0.5", "crmt-at:steps=2"])
def test_crafting_runs_in_eval_mode_and_leaves_batch_norm_statistics_alone(tiny_train, method):
    model = _bn_model()
    name, options = parse_spec(method)
    m = create_method(name, **options)
    m.start_epoch(model, 1, 3, seed=0)
    batch, labels = tiny_train.batch(slice(0, 8))
    modes = []
    hook = model.register_forward_hook(lambda mod, i, o: modes.append(mod.training))
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    if name == "trades":
        from avrobust.defences.trades import _TradesKL
        with torch.no_grad():
            clean_logits = model.eval()(batch.video, batch.audio).logits
        model.train()
        _TradesKL(m.threat, clean_logits, steps=2)(model, batch, labels)
    elif name == "avat":
        from avrobust.defences.sampling import craft_on_segments
        craft_on_segments(lambda b: m.craft(model, b, labels, 2), batch, m.rho, m.threat, m._cpu)
    else:
        m.craft(model, batch, labels)
    hook.remove()
    assert model.training, "crafting must restore train mode"
    assert modes and not any(modes), "every crafting forward pass runs in eval mode"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"crafting changed {k}"
    # the loss itself runs the update's forward pass in train mode (batch-norm statistics move once)
    modes.clear()
    hook = model.register_forward_hook(lambda mod, i, o: modes.append(mod.training))
    loss = m.loss(model, batch, labels)
    hook.remove()
    assert modes[-1] and loss.requires_grad and torch.isfinite(loss)


@pytest.mark.slow
def test_avat_with_rho_one_and_no_curriculum_is_plain_tma_adversarial_training(tmp_path, tiny_spec):
    a = _run(tiny_spec, tmp_path / "a", "avat:rho=1,curriculum=false,steps=2", epochs=2)
    b = _run(tiny_spec, tmp_path / "b", "pgd-at:attack=tma,copies=1,steps=2", epochs=2)
    from avrobust.checkpoint import load_checkpoint
    wa, wb = load_checkpoint(tmp_path / "a").model.state_dict(), load_checkpoint(tmp_path / "b").model.state_dict()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert a["forward_passes"] == b["forward_passes"]


@pytest.mark.slow
def test_sampled_crafting_costs_rho_of_the_segments(tmp_path, tiny_spec):
    """24 clips of T = 4 segments, 3 steps: PGD-AT forwards 24 x 4 x (3 + 1) segments per epoch;
    avat at rho = 0.25 crafts on 1 segment: 24 x (3 x 1 + 4)."""
    pgd = _run(tiny_spec, tmp_path / "p", "pgd-at:steps=3")
    avat = _run(tiny_spec, tmp_path / "v", "avat:rho=0.25,steps=3,steps_schedule=constant,curriculum=false")
    assert pgd["forward_segments"] == 24 * 4 * 4
    assert avat["forward_segments"] == 24 * (3 * 1 + 4)
    assert avat["forward_passes"] == pgd["forward_passes"]  # same number of (shorter) passes
    resampled = _run(tiny_spec, tmp_path / "r", "avat:rho=0.25,steps=3,steps_schedule=constant,curriculum=false,"
                                                "resample=true")
    assert resampled["forward_segments"] == avat["forward_segments"]  # new segments each step, the same cost


@pytest.mark.slow
def test_avat_logs_curriculum_values_per_epoch_and_sets_dropout(tmp_path, tiny_spec):
    summary = _run(tiny_spec, tmp_path / "r",
                   "avat:paper=true,steps=3,dropout_end=0.3,mask_end=0.5,mask_schedule=step,stages=2",
                   epochs=3)
    cur = summary["curriculum"]
    assert [c["attack_steps"] for c in cur] == [1, 2, 3]
    assert [c["dropout"] for c in cur] == [0.0, 0.15, 0.3]
    assert [c["mask_ratio"] for c in cur] == [0.0, 0.5, 0.5]
    assert all(c["rho"] == 0.25 for c in cur)


@pytest.mark.slow
def test_resumed_avat_run_equals_uninterrupted(tmp_path, tiny_spec):
    full = _run(tiny_spec, tmp_path / "full", "avat:steps=2", epochs=2)
    _run(tiny_spec, tmp_path / "part", "avat:steps=2", epochs=2)
    # rerun the same two epochs into a new directory, stopping after the first, then resume
    train_set, val_set = load_dataset(tiny_spec, "train"), load_dataset(tiny_spec, "val")
    method = create_method("avat", steps=2)
    real_start = method.start_epoch

    class Stop(Exception):
        pass

    def start(model, epoch, epochs, seed=0):
        if epoch == 1:
            raise Stop
        return real_start(model, epoch, epochs, seed)

    method.start_epoch = start  # type: ignore[method-assign]
    seed_everything(0)
    model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
    with pytest.raises(Stop):
        train(model, train_set, val_set, TrainConfig(epochs=2, batch_size=8), tmp_path / "k", method=method,
              meta={"model_name": "alexnet-sum-vgg"}, show_progress=False)
    seed_everything(5)
    model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
    resumed = train(model, train_set, val_set, TrainConfig(epochs=2, batch_size=8), tmp_path / "k",
                    method=create_method("avat", steps=2), meta={"model_name": "alexnet-sum-vgg"}, resume=True,
                    show_progress=False)
    from avrobust.checkpoint import load_checkpoint
    ref = load_checkpoint(tmp_path / "full").model.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k
    assert resumed["curriculum"] == full["curriculum"]


def test_trades_examples_stay_within_budget(tiny_train, make_model):
    from avrobust.defences.trades import _TradesKL
    model = make_model()
    batch, labels = tiny_train.batch(slice(0, 6))
    threat = ThreatModel()
    with torch.no_grad():
        logits = model.eval()(batch.video, batch.audio).logits
    adv = _TradesKL(threat, logits, steps=3)(model, batch, labels)
    assert within_budget(adv.video, batch.video, threat.video).all()
    assert within_budget(adv.audio, batch.audio, threat.audio).all()
    assert not torch.equal(adv.video, batch.video)


def test_crmt_terms():
    from avrobust.models.classifier import AVOutput
    za, zv = torch.tensor([[2.0, 0.0, 1.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    out = AVOutput(za + zv, za, zv, torch.zeros(1, 1, 1), torch.zeros(1, 1, 1))
    y = torch.tensor([0])
    expected = torch.log(torch.exp(torch.tensor(-2.0)) + torch.exp(torch.tensor(-1.0))
                         + torch.exp(torch.tensor(1.0)) + torch.exp(torch.tensor(0.0)))
    torch.testing.assert_close(margin_loss(out, y), expected)
    assert float(orthogonality_penalty((torch.eye(3) * 2, torch.eye(3)[:, [1, 0, 2]]))) == 0.0
    assert float(orthogonality_penalty((torch.ones(3, 4),))) == pytest.approx(1.0)
    # the bound: margin over the Lipschitz combination
    a = (torch.ones(3), torch.ones(3))
    bound = certified_bound(a, (za, zv), torch.zeros(3), torch.ones(2, 3), y)
    # fused = [2, 1, 1]: runner-up class 1; margin (2 - 0) + (0 - 1) = 1; denominator sqrt(2^2 + 2^2)
    torch.testing.assert_close(bound, torch.tensor([1 / 8 ** 0.5]))


@pytest.mark.slow
def test_crmt_second_stage_raises_the_bound_and_folds_weights(tmp_path, tiny_spec):
    """Stage 2 never lowers the certified bound over the training clips (it keeps the weights otherwise)."""
    summary = _run(tiny_spec, tmp_path / "r", "crmt-at:steps=1,reweight_steps=50,reweight_lr=0.05", epochs=2)
    stage = summary["final_stage"]
    assert stage["crmt_bound_after"] >= stage["crmt_bound_before"]
    assert all(v >= 1e-3 for v in stage["crmt_a_audio"] + stage["crmt_a_visual"])
    assert "val_clean_accuracy" in stage and summary["metrics"]["clean_accuracy"] == stage["val_clean_accuracy"]


@pytest.mark.parametrize("method, message", [
    ("avat:rho=0", r"rho must lie in \(0, 1\]"),
    ("avat:rho=1.5", r"rho must lie in \(0, 1\]"),
    ("avat:mask_schedule=exp", "unknown schedule 'exp'"),
    ("avat:mask_end=2", r"masking ratio must lie in \[0, 1\]"),
    ("avat:dropout_end=1", r"dropout ratio must lie in \[0, 1\)"),
    ("madness", "unknown training method 'madness'"),
    ("pgd-at:attack=nope", "unknown attack 'nope'"),
    ("pgd-at:steps=0", "steps must be an integer >= 1"),
    ("trades:beta=-1", "beta must be >= 0"),
    ("mixup:alpha=0", "alpha must be > 0"),
    ("free-at:replays=0", "replays must be an integer >= 1"),
    ("avat:spread=cubic", "unknown spread 'cubic'"),
    ("avat:trades_beta=-1", "trades_beta must be >= 0"),
    ("n-fgsm:noise=-1", "noise must be >= 0 and step > 0"),
])
def test_bad_method_specs_are_one_line_errors(tmp_path, tiny_spec, method, message):
    with pytest.raises(ConfigError, match=message):
        _run(tiny_spec, tmp_path / "r", method)


def test_budgets_with_a_non_adversarial_method_are_refused(tmp_path, tiny_spec):
    with pytest.raises(ConfigError, match="crafts no adversarial examples"):
        train_model(tiny_spec, "AsV", tmp_path / "r", epochs=1, method="standard", threat=ThreatModel().scaled(2))


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["avat:steps=2,rho=0.5", "mixup", "trades:steps=1"])
def test_a_run_stopped_within_an_epoch_resumes_to_the_same_weights(tmp_path, tiny_spec, spec):
    """Checkpoints every 2 updates (6 per epoch); the run dies in update 3 of epoch 2 and resumes from update 2."""
    train_set, val_set = load_dataset(tiny_spec, "train"), load_dataset(tiny_spec, "val")
    config = TrainConfig(epochs=2, batch_size=4, checkpoint_every=2)
    name, options = parse_spec(spec)

    def run(out, method, resume=False):
        seed_everything(0 if not resume else 7)
        model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
        train(model, train_set, val_set, config, out, method=method, meta={"model_name": "alexnet-sum-vgg"},
              resume=resume, show_progress=False)
        return model

    full = run(tmp_path / "full", create_method(name, **options))

    class Stop(Exception):
        pass

    dying = create_method(name, **options)
    real_loss, calls = dying.loss, {"n": 0}

    def loss(*args):
        calls["n"] += 1
        if calls["n"] == 9:
            raise Stop
        return real_loss(*args)

    dying.loss = loss  # type: ignore[method-assign]
    with pytest.raises(Stop):
        run(tmp_path / "cut", dying)
    from avrobust.checkpoint import read_meta
    assert (read_meta(tmp_path / "cut")["epoch"], read_meta(tmp_path / "cut")["step"]) == (1, 2)
    resumed = run(tmp_path / "cut", create_method(name, **options), resume=True)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("full", "cut"))
    assert a["forward_passes"] == b["forward_passes"] and a["history"][1]["loss"] == pytest.approx(b["history"][1]["loss"])


@pytest.mark.slow
def test_avat_carry_starts_each_clip_where_its_last_perturbation_ended(tmp_path, tiny_spec, tiny_train):
    """Epoch 1 has nothing to carry (the same weights as without carry); from epoch 2 on every clip's
    crafting starts from its kept perturbation, which stays within the budget."""
    from avrobust.checkpoint import load_checkpoint
    spec = "avat:steps=2,rho=0.5,mask_end=0"
    weights = {}
    for tag, method, epochs in [("plain1", spec, 1), ("carry1", spec + ",carry=true", 1),
                                ("plain2", spec, 2), ("carry2", spec + ",carry=true", 2)]:
        _run(tiny_spec, tmp_path / tag, method, epochs=epochs)
        weights[tag] = load_checkpoint(tmp_path / tag).model.state_dict()
    assert all(torch.equal(weights["plain1"][k], weights["carry1"][k]) for k in weights["plain1"])
    assert not all(torch.equal(weights["plain2"][k], weights["carry2"][k]) for k in weights["plain2"])
    name, options = parse_spec(spec + ",carry=true")
    m = create_method(name, **options)
    model = create_model("alexnet-sum-vgg", tiny_train.num_classes, tiny_train.sample_rate)
    m.start_epoch(model, 0, 2, seed=0)
    batch, labels = tiny_train.batch(slice(0, 8))
    m.clip_ids = torch.arange(8)
    m.loss(model, batch, labels)
    assert sorted(m._carried) == list(range(8))
    start = m._carried_start(batch)
    assert within_budget(start.video, batch.video, m.threat.video, tol=1e-3).all()  # float16, kept
    assert within_budget(start.audio, batch.audio, m.threat.audio, tol=1e-3).all()
    assert not torch.equal(start.video, batch.video)
    m.clip_ids = torch.arange(8, 16)  # clips not seen yet: nothing to carry
    assert m._carried_start(batch) is None


def test_avat_paper_option_restores_the_papers_configuration_and_explicit_options_win():
    from avrobust.defences.avat import DEFAULTS, PAPER
    paper = create_method("avat", paper=True)
    keys = ("rho", "spread", "trades_beta", "carry", "resample")
    assert {k: paper.options()[k] for k in keys} == {k: PAPER[k] for k in keys}
    assert paper.curriculum.enabled and paper.curriculum.at(7, 8)["mask_ratio"] == pytest.approx(PAPER["mask_end"])
    assert [paper.curriculum.at(e, 8)["attack_steps"] for e in (0, 7)] == [1, 10]  # the paper's step ramp
    ours = create_method("avat")
    assert ours.curriculum.enabled == DEFAULTS["curriculum"] and ours.carry == DEFAULTS["carry"]
    assert ours.rho == DEFAULTS["rho"] and ours.options()["paper"] is False
    mixed = create_method("avat", paper=True, mask_end=0.0, carry=True)
    assert mixed.curriculum.at(7, 8)["mask_ratio"] == 0.0 and mixed.carry
    with pytest.raises(ConfigError, match="option paper wants true or false"):
        create_method("avat", paper="yes")


def test_gaussian_augmentation_noises_each_modality_at_its_sigma_and_repeats_with_its_seed():
    from avrobust.types import AVBatch

    m = create_method("gaussian-aug", sigma_video=0.25, sigma_audio=0.05)
    batch = AVBatch(torch.full((16, 4, 3, 16, 16), 0.5), torch.zeros(16, 4000), 8.0, 8000)
    m.start_epoch(None, 1, 1, seed=3)
    video, audio = m.noised(batch)
    assert (video - 0.5).std().item() == pytest.approx(0.25, rel=0.02)  # 49,152 draws: 0.3 % standard error
    assert audio.std().item() == pytest.approx(0.05, rel=0.02)
    m.start_epoch(None, 1, 1, seed=3)
    again, _ = m.noised(batch)
    assert torch.equal(video, again)
    clean = create_method("gaussian-aug", sigma_video=0.1).noised(batch)[1]
    assert torch.equal(clean, batch.audio)  # sigma 0 leaves that modality clean
    with pytest.raises(ConfigError, match="sigma_video and sigma_audio must be >= 0"):
        create_method("gaussian-aug", sigma_video=-1)


def test_subsample_augmentation_keeps_k_frames_and_k_segments_per_clip():
    from avrobust.types import AVBatch

    m = create_method("subsample-aug", k_video=2, k_audio=3)
    batch = AVBatch(torch.rand(5, 8, 3, 4, 4) + 0.1, torch.rand(5, 8 * 10) + 0.1, 8.0, 80)
    m.start_epoch(None, 1, 1, seed=1)
    shown = m.subsampled(batch)
    frames_kept = shown.video.flatten(2).abs().sum(-1).gt(0).sum(1)
    segments_kept = shown.audio_segments().abs().sum(-1).gt(0).sum(1)
    assert frames_kept.tolist() == [2] * 5 and segments_kept.tolist() == [3] * 5
    with pytest.raises(ConfigError, match="at most the clips' 8 frames"):
        create_method("subsample-aug", k_video=9).subsampled(batch)
