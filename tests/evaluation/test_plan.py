import pytest
import torch

from avrobust.cost import CostMeter
from avrobust.data import load_dataset
from avrobust.errors import CheckpointError
from avrobust.evaluation import ModelOutputError, evaluate_classifier
from avrobust.jobs import evaluate_checkpoint
from avrobust.evaluation.metrics import Counts
from avrobust.results import SCHEMA_VERSION


def test_evaluate_model_restores_mode_and_reports_schema(make_model, tiny_train):
    model = make_model()
    model.train()
    result = evaluate_classifier(model, tiny_train)
    assert model.training
    assert result["schema_version"] == SCHEMA_VERSION and result["n"] == 24 and result["attacks"] == {}
    for key in ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy"):
        assert 0 <= result[key] <= 1


def test_counts_are_exact():
    class Out:
        logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        audio_logits = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
        visual_logits = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])

    c = Counts()
    c.update(Out(), torch.tensor([0, 1, 1]))
    assert (c.n, c.correct, c.audio_correct, c.visual_correct) == (3, 2, 2, 1)
    both = c.merge(Counts.from_tensor(c.as_tensor()))
    assert both.metrics()["clean_accuracy"] == pytest.approx(2 / 3) and both.n == 6


def test_nan_model_output_is_a_clear_error(make_model, tiny_train):
    model = make_model()
    with torch.no_grad():
        model.fusion.audio_head.bias.fill_(float("nan"))
    with pytest.raises(ModelOutputError, match="NaN/inf"):
        evaluate_classifier(model, tiny_train)


def test_nan_input_is_a_clear_error(make_model, tiny_train):
    bad = load_dataset(tiny_train.spec, "train")
    bad.video[0, 0, 0, 0, 0] = float("nan")
    from avrobust.errors import InputError

    with pytest.raises(InputError, match="NaN"):
        evaluate_classifier(make_model(), bad)


@pytest.mark.slow
def test_evaluate_checkpoint_defaults_to_training_data_and_checks_classes(trained):
    result = evaluate_checkpoint(trained["run_dir"], split="val")
    assert result["data"] == trained["test"].spec and result["n"] == 400 and result["model"] == "alexnet-sum-vgg"
    with pytest.raises(CheckpointError, match="trained on 10 classes and the data has 4"):
        evaluate_checkpoint(trained["run_dir"], "synth:classes=4", "test")


def test_cost_meter_counts_forward_and_backward_in_clips(make_model):
    model = make_model()
    video, audio = torch.rand(3, 4, 3, 16, 16), torch.rand(3, 4000) - 0.5
    with CostMeter(model) as meter:
        with torch.no_grad():
            model(video, audio)
        v = video.clone().requires_grad_(True)
        model(v, audio).logits.sum().backward()
    assert (meter.forward_passes, meter.backward_passes) == (6, 3)
    model(video, audio)  # after the context: not counted
    assert meter.forward_passes == 6


def test_out_of_range_saved_data_is_rejected_at_load(tmp_path, tiny_train):
    from avrobust.data import AVDataset
    from avrobust.errors import InputError

    bad = AVDataset(tiny_train.video.clone(), tiny_train.audio.clone(),
                    tiny_train.labels, tiny_train.class_names, tiny_train.fps, tiny_train.sample_rate)
    bad.audio[2, 10] = 3.0
    bad.save(tmp_path / "train.safetensors")
    with pytest.raises(InputError, match="audio values lie in"):
        load_dataset(f"saved:root={tmp_path}", "train")
