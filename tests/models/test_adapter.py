"""avrobust.wrap: a user's model behind the classifier interface, identical results, clear errors."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import avrobust
from avrobust.attacks import build_attacks, create_attack
from avrobust.errors import AvrobustError, ConfigError, InputError
from avrobust.models.adapter import ABLATION, FEATURE_LAYOUTS, features_ntd


class Plain(nn.Module):
    """An AVClassifier's network as a user would write it: normalised ``[N, C, T, H, W]`` video and a
    log-mel in, fused logits out (its sum fusion's heads are modules, its encoders too)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, video: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor:
        n, _, t = video.shape[:3]
        frames = video.permute(0, 2, 1, 3, 4).reshape(n * t, *video.shape[1:2], *video.shape[3:])
        fv = self.net.visual(frames).view(n, t, -1)
        fa = self.net.audio(logmel, t)
        return self.net.fusion(fa, fv)[0]


def wrapped_twin(native: nn.Module, **overrides) -> avrobust.WrappedModel:
    cfg = native.config
    options = dict(video_layout="NCTHW", video_mean=tuple(cfg.video_mean), video_std=tuple(cfg.video_std),
                   audio_frontend=native.frontend, audio_head="net.fusion.audio_head",
                   visual_head="net.fusion.visual_head", audio_features="net.audio", visual_features="net.visual")
    return avrobust.wrap(Plain(native), num_classes=cfg.num_classes, sample_rate=cfg.sample_rate,
                         **{**options, **overrides})


class LogitsOnly(nn.Module):
    """A late-fusion model of ``[N, C, T, H, W]`` video and a waveform returning fused logits only."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.video = nn.Sequential(nn.Conv3d(3, 6, 3, (1, 2, 2), 1), nn.ReLU())
        self.audio = nn.Sequential(nn.Conv1d(1, 6, 32, 16), nn.ReLU())
        self.pooled = nn.Identity()
        self.bn = nn.BatchNorm1d(12)
        self.fc = nn.Linear(12, num_classes)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        v = self.video(video).mean(dim=(2, 3, 4))
        a = self.audio(audio[:, None]).mean(dim=2)
        return self.fc(self.bn(self.pooled(torch.cat([v, a], 1))))


def logits_only(num_classes: int = 10, **options) -> avrobust.WrappedModel:
    torch.manual_seed(0)
    return avrobust.wrap(LogitsOnly(num_classes), num_classes=num_classes, sample_rate=8000,
                         **{"video_layout": "NCTHW", **options})


@pytest.mark.slow
def test_wrapped_results_identical_to_native(trained):
    """The same network, native and wrapped (layout, normalisation, front end, heads and features
    through the adapter): every attack crafts the same clips and the evaluation reports the same."""
    native = copy.deepcopy(trained["model"]).double().eval()
    twin = wrapped_twin(native)
    test = trained["test"]
    data = avrobust.AVDataset(test.video[:12].double(), test.audio[:12].double(), test.labels[:12], test.class_names,
                              test.fps, test.sample_rate, "fixture", "test")
    batch, labels = data.batch(slice(0, 12))
    for name in ("pgd", "mifgsm", "tia", "mma", "tma"):
        attack = create_attack(name, steps=3)
        a = attack(native, batch, labels, generator=torch.Generator().manual_seed(1))
        b = attack(twin, batch, labels, generator=torch.Generator().manual_seed(1))
        assert torch.allclose(a.video, b.video, atol=1e-10) and torch.allclose(a.audio, b.audio, atol=1e-10), name
    ours = avrobust.evaluate(native, data, attacks=["pgd", "tma"], steps=3)
    theirs = avrobust.evaluate(twin, data, attacks=["pgd", "tma"], steps=3)
    for key in ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy", "worst_case_robust_accuracy"):
        assert ours[key] == theirs[key], key
    for label in ("pgd", "tma"):
        assert torch.equal(ours["attacks"][label]["robust_flags"], theirs["attacks"][label]["robust_flags"])
    assert theirs["unimodal"] is None  # the model's own heads


def test_ablation_defines_the_unimodal_predictions():
    net = logits_only().eval()
    video, audio = torch.rand(3, 4, 3, 16, 16), torch.rand(3, 4 * 500) * 2 - 1
    out = net(video, audio)
    grey = video.mean(dim=(1, 3, 4), keepdim=True).expand_as(video)
    assert torch.allclose(out.audio_logits, net(grey, audio).logits)
    assert torch.allclose(out.visual_logits, net(video, torch.zeros_like(audio)).logits)
    assert out.unimodal == "ablation" and net.unimodal_definition == ABLATION


def test_logits_only_model_takes_logit_attacks_and_names_what_tia_needs(tiny_train):
    net = logits_only(4)
    batch, labels = tiny_train.batch(slice(0, 6))
    for name in ("fgsm", "pgd", "mma", "apgd-ce"):
        adv = build_attacks([name], steps=2)[0](net, batch, labels)
        assert (adv.video - batch.video).abs().max() <= 8 / 255 + 1e-6
    with pytest.raises(ConfigError, match=r"TIA and TMA .*audio_features='<module name>'"):
        create_attack("tia", steps=1)(net, batch, labels)


def test_the_users_model_is_left_as_it_was(tiny_train):
    net = logits_only(4, visual_features="video", audio_features="audio", audio_feature_layout="NDT")
    user = net.model
    user.train()
    user.bn.eval()  # a frozen batch norm inside a training model
    modes = {name: m.training for name, m in user.named_modules()}
    params = {k: v.clone() for k, v in user.state_dict().items()}
    result = avrobust.evaluate(net, tiny_train, attacks=["tma"], steps=2)
    assert result["attacks"]["tma"]["robust_accuracy"] <= result["clean_accuracy"]
    assert {name: m.training for name, m in user.named_modules()} == modes
    assert all(not m._forward_hooks for m in user.modules())
    assert all(torch.equal(params[k], v) for k, v in user.state_dict().items())


@pytest.mark.parametrize(("options", "message"), [
    ({"video_layout": "NHWC"}, "video_layout='NHWC'"),
    ({"audio_features": "audio.9"}, "audio_features='audio.9': the model has no module"),
    ({"visual_features": "vidoe"}, "did you mean video"),
    ({"audio_head": "fc"}, "both audio_head and visual_head"),
    ({"inputs": ("video", "spectrogram")}, "inputs="),
    ({"video_mean": (0.5, 0.5)}, "video_mean must be 3"),
    ({"visual_feature_layout": "TND"}, "visual_feature_layout='TND'"),
])
def test_bad_wrappings_name_the_argument(options, message):
    with pytest.raises(ConfigError, match=message) as err:
        logits_only(4, **options)
    assert "\n" not in str(err.value)


def test_bad_wrappings_found_on_the_first_batch(tiny_train):
    batch, labels = tiny_train.batch(slice(0, 4))
    cases = [
        (logits_only(4, video_layout="NTCHW"), InputError, "check video_layout"),  # the model wants [N, C, T, H, W]
        (avrobust.wrap(LogitsOnly(4), num_classes=5, sample_rate=8000, video_layout="NCTHW"), ConfigError,
         r"logits have shape \(1, 4\), expected \[N, 5\]"),
    ]
    for net, kind, message in cases:
        with pytest.raises(kind, match=message) as err:
            net.check_batch(batch)
        assert "\n" not in str(err.value)
    pooled = logits_only(4, visual_features="pooled", audio_features="audio", audio_feature_layout="NDT")
    with pytest.raises(ConfigError, match=r"visual_features: .*\(\d+, 12\).*no time axis.*visual_feature_layout"):
        create_attack("tia", steps=1)(pooled, batch, labels)


@settings(max_examples=30, deadline=None)
@given(layout=st.sampled_from(sorted(FEATURE_LAYOUTS)), n=st.integers(1, 3), t=st.integers(1, 5),
       d=st.integers(1, 4), s=st.integers(1, 3))
def test_feature_layouts_give_one_row_per_time_step(layout, n, t, d, s):
    """Every layout becomes ``[N, T, D]`` holding, at ``[i, j]``, the features of clip i at time j."""
    base = torch.randn(n, t, d)  # what the module computed, in avrobust's order
    maps = base[..., None, None].expand(n, t, d, s, s)  # spatial maps constant over H, W (and F)
    given_as = {"NTD": base, "NDT": base.transpose(1, 2), "(NT)D": base.reshape(n * t, d),
                "(NT)CHW": maps.reshape(n * t, d, s, s), "NCTHW": maps.permute(0, 2, 1, 3, 4),
                "NCFT": base.permute(0, 2, 1)[:, :, None].expand(n, d, s, t),
                "NCTF": base.permute(0, 2, 1)[..., None].expand(n, d, t, s)}[layout]
    assert torch.allclose(features_ntd(given_as, layout, n, t, "visual_features"), base)


@pytest.mark.slow
def test_wrapped_weights_round_trip_through_a_run_directory(tiny_spec, tmp_path):
    net = logits_only(4)
    avrobust.train(net, tiny_spec, tmp_path / "run", method="pgd-at:steps=1", epochs=1)
    with pytest.raises(AvrobustError, match="load_weights"):
        avrobust.load_checkpoint(tmp_path / "run")
    again = logits_only(4)
    avrobust.load_weights(again, tmp_path / "run")
    video, audio = torch.rand(2, 4, 3, 16, 16), torch.rand(2, 2000) * 2 - 1
    net.eval()
    assert torch.equal(net(video, audio).logits, again(video, audio).logits)


def test_an_ensemble_mixes_native_and_wrapped_models(tiny_train, make_model):
    from avrobust.attacks import Ensemble

    ens = Ensemble([make_model(), logits_only(4)]).eval()
    batch, labels = tiny_train.batch(slice(0, 4))
    adv = create_attack("mma", steps=2)(ens, batch, labels)
    assert (adv.audio - batch.audio).abs().max() <= 0.01 + 1e-6
