"""TIA, MMA, TMA and ensembles: the terms have the right sign, the reductions are exact."""

import pytest
import torch
from torch import nn

from avrobust.attacks import Ensemble, ThreatModel, create_attack
from avrobust.attacks.temporal_modality import modality_agreement, temporal_variation
from avrobust.attacks.transforms import TRANSFORMS, parse_transforms
from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput, ModelConfig
from avrobust.types import AVBatch


class FrameMeans(nn.Module):
    """Hand-built model: feature of frame t = mean of frame t; audio feature = mean of segment t;
    fused logits constant (CE has no gradient); unimodal logits from the mean intensities."""

    config = ModelConfig(num_classes=2)

    def forward(self, video, audio):
        n, t = video.shape[:2]
        fv = video.mean(dim=(2, 3, 4))[..., None] + 1.0
        fa = audio.view(n, t, -1).mean(-1)[..., None] + 1.0
        logits = torch.zeros(n, 2) + 0 * video.sum()
        sv, sa = (video.mean((1, 2, 3, 4)) - 0.5) * 10, audio.mean(1) * 10  # soft, unsaturated
        return AVOutput(logits, torch.stack([sa, -sa], 1), torch.stack([sv, -sv], 1), fa, fv)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return AVBatch(torch.rand(3, 4, 3, 8, 8, generator=g) * 0.6 + 0.2, torch.rand(3, 400, generator=g) * 0.4 - 0.2,
                   8.0, 800)


def test_temporal_term_is_minimised_with_the_exact_sign_step():
    model, batch = FrameMeans(), _batch()
    labels = torch.zeros(3, dtype=torch.long)
    eps = 0.01
    attack = create_attack("tia", ThreatModel.build("video", eps_video=eps), steps=1, transforms="none")
    adv = attack(model, batch, labels)
    means = batch.video.mean(dim=(2, 3, 4))
    # d L_T / d pixel has the sign of (m_t - mean_t m): pixels of bright frames go down
    expected = batch.video - eps * torch.sign(means - means.mean(1, keepdim=True))[:, :, None, None, None]
    torch.testing.assert_close(adv.video, expected)
    before = temporal_variation(model(batch.video, batch.audio).visual_features)
    after = temporal_variation(model(adv.video, adv.audio).visual_features)
    assert torch.all(after < before)
    flipped = create_attack("tia", ThreatModel.build("video", eps_video=eps), steps=1, transforms="none",
                            maximize_temporal=True)(model, batch, labels)
    assert torch.all(temporal_variation(model(flipped.video, flipped.audio).visual_features) > before)


def test_modality_term_is_minimised():
    model, batch = FrameMeans(), _batch(1)
    labels = torch.zeros(3, dtype=torch.long)
    attack = create_attack("mma", ThreatModel.build(eps_video=0.1, eps_audio=0.1), steps=5)
    adv = attack(model, batch, labels)
    before = modality_agreement(model(batch.video, batch.audio))
    after = modality_agreement(model(adv.video, adv.audio))
    assert torch.all(after < before - 0.05)


def test_tma_without_terms_and_transforms_is_mifgsm(untrained):
    model = untrained["model"]
    batch, labels = untrained["test"].batch(slice(0, 8))
    tma = create_attack("tma", lambda1=0, lambda2=0, transforms="none", steps=4)(model, batch, labels)
    mi = create_attack("mifgsm", steps=4)(model, batch, labels)
    assert torch.equal(tma.video, mi.video) and torch.equal(tma.audio, mi.audio)


def test_defaults_of_tia_mma_tma():
    tia, mma, tma = (create_attack(n) for n in ("tia", "mma", "tma"))
    assert (tia.lambda1, tia.lambda2, bool(tia.transforms)) == (1.0, 0.0, True)
    assert (mma.lambda1, mma.lambda2, mma.transforms) == (0.0, 1.0, ())
    assert (tma.lambda1, tma.lambda2, tma.transforms) == (1.0, 1.0, ("mask", "scale", "blur", "mixup"))
    assert tma.describe()["options"]["lambda1"] == 1.0


@pytest.mark.parametrize(("kwargs", "match"), [({"lambda1": -1}, "lambda1"), ({"copies": 0}, "copies"),
                                               ({"transforms": "rotate"}, "unknown transformation rotate"),
                                               ({"alignment": "audio"}, "unknown alignment")])
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        create_attack("tma", **kwargs)


def test_feature_alignment_needs_equal_sizes(untrained):
    from avrobust.errors import InputError

    batch, labels = untrained["test"].batch(slice(0, 2))
    with pytest.raises(InputError, match="equal feature sizes"):
        create_attack("mma", alignment="features", steps=1)(untrained["model"], batch, labels)


def test_transforms_keep_shapes_and_mask_drops_a_quarter():
    batch = _batch()
    g = torch.Generator().manual_seed(0)
    for name, fn in TRANSFORMS.items():
        v, a = fn(batch.video, batch.audio, g)
        assert v.shape == batch.video.shape and a.shape == batch.audio.shape, name
    v, a = TRANSFORMS["mask"](batch.video, batch.audio, g)
    dropped = (v.flatten(2).abs().sum(-1) == 0)
    assert torch.all(dropped.sum(1) == 1)  # 25 % of 4 segments
    assert torch.all((a.view(3, 4, -1).abs().sum(-1) == 0) == dropped)
    assert parse_transforms("none") == () and parse_transforms("mask+blur") == ("mask", "blur")


def test_ensemble_of_one_is_the_plain_attack(untrained):
    model = untrained["model"]
    batch, labels = untrained["test"].batch(slice(0, 8))
    for name in ("pgd", "tma"):
        plain = create_attack(name, steps=3, copies=2)(model, batch, labels) if name == "tma" else \
            create_attack(name, steps=3)(model, batch, labels)
        ens = (create_attack(name, steps=3, copies=2) if name == "tma" else create_attack(name, steps=3))(
            Ensemble([model]), batch, labels)
        assert torch.equal(plain.video, ens.video) and torch.equal(plain.audio, ens.audio), name
        assert not model.training, "attacking an ensemble must not change its members' mode"


def test_ensemble_averages_members(make_model):
    a, b = make_model("alexnet-sum-vgg", seed=0).eval(), make_model("alexnet-concat-vgg", seed=1).eval()
    video, audio = torch.rand(2, 4, 3, 16, 16), torch.rand(2, 4000) - 0.5
    with torch.no_grad():
        out = Ensemble([a, b])(video, audio)
        oa, ob = a(video, audio), b(video, audio)
    torch.testing.assert_close(out.logits, (oa.logits + ob.logits) / 2)
    assert out.visual_features.shape[-1] == oa.visual_features.shape[-1] + ob.visual_features.shape[-1]
    with pytest.raises(ConfigError, match="disagree"):
        Ensemble([a, make_model("alexnet-sum-vgg", num_classes=5)])


@pytest.mark.parametrize("synchronous", [True, False])
def test_mask_transform_drops_aligned_segments(synchronous: bool) -> None:
    from avrobust.attacks.transforms import temporal_mask

    g = torch.Generator().manual_seed(0)
    video, audio = torch.rand(32, 4, 3, 8, 8) + 0.1, torch.rand(32, 4 * 16) + 0.1
    v, a = temporal_mask(video, audio, g, ratio=0.5, synchronous=synchronous)
    dropped_v = v.flatten(2).abs().sum(-1) == 0
    dropped_a = a.view(32, 4, 16).abs().sum(-1) == 0
    assert (dropped_v.sum(1) == 2).all() and (dropped_a.sum(1) == 2).all()
    assert torch.equal(dropped_v, dropped_a) == synchronous


def test_spec_transforms_none_turns_the_pool_off() -> None:
    """``transforms=none`` in a spec parses to None, which must mean no transformation, not the default."""
    from avrobust.attacks import build_attacks

    (off,) = build_attacks(["tma:transforms=none"])
    (default,) = build_attacks(["tma"])
    assert off.transforms == () and off.copies == 1
    assert default.transforms == ("mask", "scale", "blur", "mixup")
    assert create_attack("mma").transforms == ()


def test_batched_copies_give_the_sequential_result(make_model) -> None:
    """TMA's copies in one batched pass equal one pass per copy (the same draws, the same average; in
    float64, so that no rounding difference can flip the sign of a step)."""
    model = make_model("alexnet-concat-vgg").double().eval()
    batch = AVBatch(torch.rand(3, 4, 3, 16, 16).double(), torch.rand(3, 4000).double() - 0.5, 8.0, 8000)
    labels = torch.tensor([0, 1, 2])
    one, many = (create_attack("tma", steps=3, copies=3, batch_copies=b)(model, batch, labels) for b in (False, True))
    torch.testing.assert_close(many.video, one.video, rtol=0, atol=1e-12)
    torch.testing.assert_close(many.audio, one.audio, rtol=0, atol=1e-12)
