"""Attention fusions: the heads' logits still sum to the fused ones, the tokens of one modality reach the
other's (where late fusion keeps them apart by construction), gradients flow, and methods that assume
late fusion refuse them in one line."""

from __future__ import annotations

import pytest
import torch

from avrobust.errors import ConfigError
from avrobust.models import list_models
from avrobust.models.fusion import FUSIONS, is_late
from avrobust.models.model_zoo import SCRATCH_ATTENTION
from tests.conftest import grads_of, moved_off_init



@pytest.mark.parametrize("name", SCRATCH_ATTENTION)
def test_attention_fused_zoo_models_run_any_t_with_gradients_to_both_inputs(make_model, name):
    model = moved_off_init(make_model(name, num_classes=5)).eval()
    for frames in (4, 1):
        video, audio = torch.rand(2, frames, 3, 16, 16), torch.rand(2, frames * 500) * 2 - 1
        out = model(video, audio)
        assert out.logits.shape == (2, 5) and out.audio_features.shape[:2] == out.visual_features.shape[:2] == (2, frames)
        torch.testing.assert_close(out.audio_logits + out.visual_logits, out.logits)
        gv, ga = grads_of(model, video, audio)
        assert gv.abs().sum() > 0 and ga.abs().sum() > 0 and torch.isfinite(gv).all() and torch.isfinite(ga).all()


@pytest.mark.parametrize(("fusion", "crosses"), [("sum", False), ("concat", False), ("bottleneck", True), ("xattn", True)])
def test_the_visual_prediction_hears_the_audio_only_under_attention(make_model, fusion, crosses):
    """Changing only the sound changes the visual head's logits and the visual tokens after attention
    fusion; under late fusion they stay exactly as they were."""
    model = moved_off_init(make_model(f"alexnet-{fusion}-vgg", num_classes=5)).eval()
    video, audio = torch.rand(3, 4, 3, 16, 16), torch.rand(3, 2000) * 2 - 1
    with torch.no_grad():
        before, after = model(video, audio), model(video, torch.rand(3, 2000) * 2 - 1)
    moved = (after.visual_logits - before.visual_logits).abs().max()
    tokens = (after.visual_features - before.visual_features).abs().max()
    assert is_late(model) is not crosses
    if crosses:
        assert moved > 0 and tokens > 0  # any dependence at all: without it the values are bitwise equal
    else:
        assert moved == 0 and tokens == 0


@pytest.mark.parametrize("fusion", ["bottleneck", "xattn"])
def test_an_untrained_attention_fusion_starts_as_its_late_twin(fusion):
    """Zero-initialised residual branches: at init the visual prediction does not hear the audio at all, and
    one optimiser step on the fused loss opens the path (the gradient reaches the zero projections)."""
    torch.manual_seed(0)
    module = FUSIONS.create(fusion, audio_dim=6, visual_dim=5, num_classes=3).eval()
    fa, fv = torch.randn(2, 4, 6), torch.randn(2, 4, 5)
    other = torch.randn(2, 4, 6)
    with torch.no_grad():
        assert torch.equal(module(fa, fv)[2], module(other, fv)[2])
    opt = torch.optim.SGD(module.parameters(), lr=0.5)
    for _ in range(2):  # step 1 moves the zero projections; step 2 the attention behind them
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(fa, fv)[0], torch.tensor([0, 2])).backward()
        opt.step()
    with torch.no_grad():
        assert not torch.equal(module(fa, fv)[2], module(other, fv)[2])


def test_bottleneck_tokens_are_the_only_path_between_modalities():
    """With its shared tokens' attention cut (zero keys and values cannot be cut, so: no bottleneck tokens
    at all), MBT's modalities no longer see each other."""
    torch.manual_seed(0)
    fusion = moved_off_init(FUSIONS.create("bottleneck", audio_dim=6, visual_dim=5, num_classes=3, bottlenecks=0))
    fusion.eval()
    fa, fv = torch.randn(2, 4, 6), torch.randn(2, 4, 5)
    with torch.no_grad():
        _, _, lv, _, tv = fusion(fa, fv)
        _, _, lv2, _, tv2 = fusion(torch.randn(2, 4, 6), fv)
    assert torch.equal(lv, lv2) and torch.equal(tv, tv2)
    fusion = moved_off_init(FUSIONS.create("bottleneck", audio_dim=6, visual_dim=5, num_classes=3, bottlenecks=2))
    fusion.eval()
    with torch.no_grad():
        assert not torch.equal(fusion(fa, fv)[2], fusion(torch.randn(2, 4, 6), fv)[2])


@pytest.mark.parametrize("fusion", ["bottleneck", "xattn"])
def test_fusion_lr_trains_the_mixing_layers_alone_at_their_rate(make_model, fusion):
    """``fusion_lr``: the attention layers and bottleneck tokens get their own group; the heads, projections
    and norms (what a late fusion has too) stay at the heads' rate; every parameter is in exactly one group."""
    from avrobust.models.finetune import parameter_groups

    model = make_model(f"alexnet-{fusion}-vgg", num_classes=5)
    slow, rest = parameter_groups(model, 3e-3, None, 3e-4)
    assert (slow["lr"], rest["lr"]) == (3e-4, 3e-3)
    named = {id(p): n for n, p in model.named_parameters()}
    slow_names = {named[id(p)] for p in slow["params"]}
    assert slow_names and all(n.startswith(("fusion.audio_", "fusion.visual_", "fusion.bottleneck"))
                              for n in slow_names)
    late_too = {"fusion.audio_head.weight", "fusion.visual_in.weight", "fusion.modality", "fusion.audio_norm.bias"}
    assert not slow_names & late_too
    assert ("fusion.bottleneck" in slow_names) is (fusion == "bottleneck")
    assert len(slow["params"]) + len(rest["params"]) == len(list(model.parameters()))
    assert [g["lr"] for g in parameter_groups(model, 3e-3, None)] == [3e-3]  # None: one rate, as before


def test_fusion_lr_is_refused_for_late_fusion_and_checked(make_model):
    from avrobust.defences.trainer import TrainConfig
    from avrobust.models.finetune import parameter_groups

    with pytest.raises(ConfigError, match="fusion_lr applies to attention fusions .* this model fuses late"):
        parameter_groups(make_model("AsV", num_classes=5), 3e-3, None, 3e-4)
    with pytest.raises(ConfigError, match="fusion learning rate must be > 0"):
        TrainConfig(fusion_lr=0.0)


def test_attention_fused_models_are_listed_with_aliases():
    names = list_models("all")
    assert set(SCRATCH_ATTENTION) <= set(names) and "mobilenetv2-bottleneck-yamnet" in names
    assert list_models("PMbY") == ["mobilenetv2-bottleneck-yamnet"] and list_models("AxV") == ["alexnet-xattn-vgg"]
    assert len(list_models("*")) == 8 and not set(list_models("*")) & set(SCRATCH_ATTENTION)


def test_crmt_refuses_attention_fusion_in_one_line(make_model):
    from avrobust.defences.base import method_for

    with pytest.raises(ConfigError, match="crmt-at assumes late fusion .* bottleneck fusion mixes"):
        method_for(make_model("alexnet-bottleneck-vgg"), "crmt-at")
    assert method_for(make_model("alexnet-sum-vgg"), "crmt-at") is not None


@pytest.mark.parametrize("name", ["AbV", "AxV"])
def test_the_papers_attacks_run_on_attention_fusion_within_their_budgets(make_model, untrained, name):
    """TIA (per-segment features), MMA (p_a, p_v) and TMA read what an attention fusion gives them."""
    from avrobust.attacks import ThreatModel, create_attack
    from avrobust.attacks.threat import flat_norm

    batch, labels = untrained["test"].batch(slice(0, 6))
    model = make_model(name, num_classes=untrained["test"].num_classes).eval()
    threat = ThreatModel()
    for attack in ("tia", "mma", "tma"):
        adv = create_attack(attack, threat, steps=2, **({"copies": 1} if attack == "tma" else {}))(model, batch, labels)
        for m in ("video", "audio"):
            delta = flat_norm(getattr(adv, m) - getattr(batch, m), "linf")
            assert torch.all(delta <= threat.budget(m).eps + 1e-6) and delta.max() > 0, (attack, m)
