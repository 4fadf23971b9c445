"""The Python API: one call per job on any classifier and any iterable of batches."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import avrobust
from avrobust.errors import ConfigError, InputError
from tests.models.test_adapter import LogitsOnly, logits_only


def test_evaluate_reads_a_dataloader_in_the_models_layout(tiny_train, make_model):
    """uint8 ``[N, C, T, H, W]`` batches from a DataLoader give the same result as the dataset itself."""
    net = make_model()
    video = (tiny_train.video * 255).round().to(torch.uint8)
    loader = DataLoader(TensorDataset(video.permute(0, 2, 1, 3, 4), tiny_train.audio, tiny_train.labels), batch_size=7)
    from_loader = avrobust.evaluate(net, loader, attacks=["pgd"], steps=2, video_layout="NCTHW")
    exact = avrobust.AVDataset(video.float() / 255, tiny_train.audio, tiny_train.labels, tiny_train.class_names,
                               tiny_train.fps, tiny_train.sample_rate)
    direct = avrobust.evaluate(net, exact, attacks=["pgd"], steps=2)
    assert from_loader["n"] == len(tiny_train)
    assert torch.equal(from_loader["attacks"]["pgd"]["robust_flags"], direct["attacks"]["pgd"]["robust_flags"])


@pytest.mark.parametrize(("data", "kind", "message"), [
    ([(torch.rand(2, 4, 3, 16, 16), torch.rand(2, 2000))], InputError, "batch 0 is not"),
    ([(torch.rand(2, 3, 16, 16), torch.rand(2, 2000), torch.zeros(2))], InputError, "video must be 5-D"),
    ([(torch.rand(2, 4, 3, 16, 16) * 3, torch.rand(2, 2000), torch.zeros(2))], InputError, r"must lie in \[0.0, 1.0\]"),
    ([], InputError, "no batches"),
    (42, ConfigError, "iterable of"),
])
def test_bad_data_is_one_clear_line(make_model, data, kind, message):
    with pytest.raises(kind, match=message) as err:
        avrobust.evaluate(make_model(), data)
    assert "\n" not in str(err.value)


def test_an_unwrapped_module_is_refused_with_the_fix(tiny_spec):
    with pytest.raises(ConfigError, match=r"wrap it first: avrobust.wrap\(model, num_classes"):
        avrobust.evaluate(LogitsOnly(4), tiny_spec)


def test_transfer_from_a_native_to_a_wrapped_model(tiny_spec, make_model):
    source, victim = make_model(), logits_only(4)
    result = avrobust.transfer(source, {"mine": victim, "itself": source}, tiny_spec, attacks=["pgd", "mma"], steps=2)
    rows = {(r["victim"], r["attack"]): r for r in result["matrix"]}
    assert rows[("itself", "pgd")]["white_box"] and not rows[("mine", "pgd")]["white_box"]
    assert result["victims"]["mine"]["unimodal"].startswith("ablation")
    assert "unimodal" not in result["victims"]["itself"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["trades:steps=1", "avat:steps=1"])
def test_adversarial_training_of_a_wrapped_model(tiny_spec, tmp_path, method):
    net = logits_only(4, visual_features="video", audio_features="audio", audio_feature_layout="NDT")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    summary = avrobust.train(net, tiny_spec, tmp_path / "run", method=method, epochs=1, batch_size=8)
    assert summary["epochs"] == 1 and summary["method_options"]["unimodal_weight"] == 0.0
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(ConfigError, match="crmt-at changes avrobust's own fusion layer"):
        avrobust.train(net, tiny_spec, tmp_path / "crmt", method="crmt-at")


def test_benchmark_of_a_wrapped_model_with_a_twin(tiny_spec, make_model, tmp_path):
    """``avrobust.benchmark`` runs the same protocol on a user's model; the twin's transfer enters the card."""
    net = logits_only(4)
    card = avrobust.benchmark(net, tiny_spec, protocol="quick", threats=["linf-audio"], limit=6, twin=make_model(),
                              name="mine")
    audio = card.threats["linf-audio"]
    assert card.model == "mine" and card.n == 6 and not card.randomised
    assert [s.attack for s in audio.cascade] == ["apgd-ce", "apgd-t", "square"]
    assert audio.twin_robust_accuracy is not None
    assert audio.robust_accuracy <= min(audio.white_box_accuracy(), audio.twin_robust_accuracy)
    from avrobust.results import read_result

    assert read_result(card.write(tmp_path / "card.json")).model == "mine"


def test_the_api_verbs_are_the_documented_face():
    assert {"train", "evaluate", "attack", "transfer", "benchmark", "study", "report"} <= set(avrobust.__all__)
    assert not hasattr(avrobust, "adversarial_training")


def test_attack_saves_a_set_from_a_model_in_memory(untrained, tmp_path):
    manifest = avrobust.attack(untrained["model"], untrained["test"], tmp_path / "set", attacks=["fgsm"], limit=6)
    assert manifest["complete"] and manifest["n"] == 6 and (tmp_path / "set" / "manifest.json").exists()
