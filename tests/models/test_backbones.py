"""The pretrained backbones as encoders: shapes, per-segment features, differentiable from the raw inputs,
the zoo's pretrained grid, fine-tuning options; and (with fetched weights) a pretrained zoo model trained
end to end with its weights' provenance in the run and the report."""

from __future__ import annotations

import pytest
import torch

from avrobust.errors import ConfigError
from avrobust.models import ZOO, create_model, list_models
from avrobust.models.finetune import freeze, parameter_groups
from avrobust.weights import installed


def test_the_pretrained_grid_is_in_the_zoo_but_not_in_the_papers_eight() -> None:
    grid = list_models("P*")
    assert len(grid) == 2 * 4 * 4 == len(list_models("pretrained")) and ZOO.canonical("PMsY") == "mobilenetv2-sum-yamnet"
    assert not set(grid) & set(list_models())


@pytest.mark.parametrize(("name", "rate"), [("PMsY", 16000), ("PEcC", 16000), ("PMbS", 22050), ("PExW", 16000)])
def test_pretrained_models_give_per_segment_features_and_input_gradients(name: str, rate: int) -> None:
    torch.manual_seed(0)
    model = create_model(name, 10, rate).eval()
    video = torch.rand(2, 4, 3, 64, 64, requires_grad=True)
    audio = (torch.rand(2, rate) * 0.2 - 0.1).requires_grad_(True)
    out = model(video, audio)
    assert out.logits.shape == (2, 10) and out.audio_features.shape[:2] == (2, 4) and out.visual_features.shape[:2] == (2, 4)
    g_v, g_a = torch.autograd.grad(out.logits.sum(), [video, audio])
    assert g_v.abs().sum() > 0 and g_a.abs().sum() > 0


def test_pretrained_audio_needs_its_sample_rate() -> None:
    with pytest.raises(ConfigError, match="yamnet audio encoder takes 16000 Hz audio and the data has 8000 Hz"):
        create_model("PMsY", 10, 8000)


def test_frozen_backbones_keep_their_weights_and_batch_norms() -> None:
    model = create_model("PMsY", 10, 16000)
    frozen = freeze(model, 2)
    assert frozen > 0
    blocks = model.visual.blocks()
    assert not any(p.requires_grad for p in blocks[0].parameters()) and all(p.requires_grad for p in blocks[-1].parameters())
    model.train()
    assert not blocks[0].training and blocks[-1].training and model.fusion.training
    groups = parameter_groups(model, 1e-3, 1e-4)
    assert [g["lr"] for g in groups] == [1e-4, 1e-3]
    assert sum(len(g["params"]) for g in groups) == sum(p.requires_grad for p in model.parameters())
    with pytest.raises(ConfigError, match="this model has none"):
        freeze(create_model("AsV", 10), 0)


def test_pretrained_backbones_default_to_a_tenth_of_the_heads_learning_rate_and_scratch_models_to_one() -> None:
    groups = parameter_groups(create_model("PMsY", 10, 16000), 3e-3, None)
    assert [g["lr"] for g in groups] == pytest.approx([3e-4, 3e-3])
    scratch = create_model("AsV", 10)
    assert [g["lr"] for g in parameter_groups(scratch, 3e-3, None)] == [3e-3]
    with pytest.raises(ConfigError, match="this model has none"):
        parameter_groups(scratch, 3e-3, 1e-4)
    fused = parameter_groups(create_model("PMbY", 10, 16000), 3e-3, None, 1e-3)  # backbones, mixing layers, rest
    assert [g["lr"] for g in fused] == pytest.approx([3e-4, 1e-3, 3e-3])


@pytest.mark.slow
@pytest.mark.skipif(not {"mobilenet-v2", "yamnet"} <= set(installed()), reason="weights not fetched ('make weights')")
def test_a_pretrained_zoo_model_trains_with_its_weights_and_says_where_they_came_from(tmp_path, run_cli) -> None:
    pytest.importorskip("espeakng_loader", reason="digits needs espeakng-loader")
    spec = "digits:clips_per_class=2,eval_clips_per_class=1,frames=4,size=48,sample_rate=16000"
    code, _, err = run_cli("train", "--data", spec, "--model", "PMsY", "--epochs", "1", "--batch-size", "10",
                           "--trainable-blocks", "0", "--out", tmp_path / "run")
    assert code == 0, err
    import json

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [p["weights"] for p in summary["pretrained"]] == ["mobilenet-v2", "yamnet"]
    assert summary["train_config"]["trainable_blocks"] == 0 and "BSD-3-Clause" in summary["pretrained"][0]["licence"]
    code, _, err = run_cli("report", tmp_path / "run", "--out", tmp_path / "report", "--examples", "0")
    assert code == 0, err
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Visual backbone: mobilenet-v2 (torchvision mobilenet_v2" in text and "trained on AudioSet" in text
