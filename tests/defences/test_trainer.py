import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import save_file

from avrobust.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from avrobust.data import load_dataset
from avrobust.defences import TrainConfig, create_method, prepare_run_dir, train
from avrobust.defences.optim import make_schedule, warmup_factor
from avrobust.errors import CheckpointError, ConfigError
from avrobust.models import create_model
from avrobust.seeding import seed_everything


def _train(spec, run_dir, epochs=1, seed=0, name="alexnet-sum-vgg", resume=False, **cfg):
    train_set, val_set = load_dataset(spec, "train"), load_dataset(spec, "val")
    seed_everything(seed)
    model = create_model(name, train_set.num_classes, train_set.sample_rate)
    summary = train(model, train_set, val_set, TrainConfig(epochs=epochs, seed=seed, batch_size=8, **cfg), run_dir,
                    meta={"model_name": name}, resume=resume, show_progress=False)
    return model, summary


@pytest.mark.slow
def test_same_seed_gives_identical_weights_after_one_epoch(tmp_path, tiny_spec):
    a, _ = _train(tiny_spec, tmp_path / "a")
    b, _ = _train(tiny_spec, tmp_path / "b")
    c, _ = _train(tiny_spec, tmp_path / "c", seed=1)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.slow
def test_summary_counts_passes_and_times(tmp_path, tiny_spec):
    _, summary = _train(tiny_spec, tmp_path / "r", epochs=2)
    assert summary["epochs"] == 2 and summary["seconds_per_epoch"] > 0
    # 24 train clips per epoch, one forward and one backward each (standard training)
    assert summary["forward_passes"] == 48 and summary["backward_passes"] == 48
    on_disk = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert on_disk["forward_passes"] == 48 and set(on_disk["metrics"]) >= {"clean_accuracy", "audio_only_accuracy"}
    assert len(on_disk["history"]) == 2


@pytest.mark.slow
def test_checkpoint_roundtrip_gives_same_outputs(tmp_path, tiny_spec, tiny_train):
    model, _ = _train(tiny_spec, tmp_path / "r")
    model.eval()
    ckpt = load_checkpoint(tmp_path / "r")
    batch, _ = tiny_train.batch(slice(0, 4))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(batch.video, batch.audio).logits, model(batch.video, batch.audio).logits,
                                   rtol=0, atol=0)
    assert ckpt.meta["class_names"] == tiny_train.class_names
    assert ckpt.meta["data_spec"] == tiny_train.spec and ckpt.meta["model_name"] == "alexnet-sum-vgg"
    assert not ckpt.model.training


def _train_resume(spec, run_dir, cfg):
    train_set, val_set = load_dataset(spec, "train"), load_dataset(spec, "val")
    seed_everything(123)  # resume must not depend on the fresh initialisation
    model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
    return model, train(model, train_set, val_set, cfg, run_dir, meta={"model_name": "alexnet-sum-vgg"},
                        resume=True, show_progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("warmup", [0.0, 1.5])
def test_resume_of_two_epoch_schedule_matches_when_schedule_is_the_same(tmp_path, tiny_spec, warmup):
    """A run killed after epoch 1 of 2 and resumed equals the uninterrupted 2-epoch run (warm-up included)."""
    full, _ = _train(tiny_spec, tmp_path / "full", epochs=2, warmup=warmup)
    _train_killed_after(tiny_spec, tmp_path / "killed", epochs=2, stop_after=1, warmup=warmup)
    resumed, _ = _train_resume(tiny_spec, tmp_path / "killed", TrainConfig(epochs=2, seed=0, batch_size=8,
                                                                            warmup=warmup))
    for (k, va), vb in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(va, vb), k


def _train_killed_after(spec, run_dir, epochs, stop_after, warmup=0.0):
    """Run a training that raises after ``stop_after`` epochs were checkpointed."""
    method = create_method("standard")

    class Stop(Exception):
        pass

    def start_epoch(model, epoch, total, seed=0):
        if epoch == stop_after:
            raise Stop
        return {}

    method.start_epoch = start_epoch  # type: ignore[method-assign]
    train_set, val_set = load_dataset(spec, "train"), load_dataset(spec, "val")
    seed_everything(0)
    model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
    with pytest.raises(Stop):
        train(model, train_set, val_set, TrainConfig(epochs=epochs, seed=0, batch_size=8, warmup=warmup), run_dir,
              method=method, meta={"model_name": "alexnet-sum-vgg"}, show_progress=False)


@pytest.mark.slow
def test_resume_extends_a_constant_schedule_but_not_a_cosine_one(tmp_path, tiny_spec):
    full, _ = _train(tiny_spec, tmp_path / "full", epochs=2, schedule="constant")
    _train(tiny_spec, tmp_path / "part", epochs=1, schedule="constant")
    resumed, summary = _train_resume(tiny_spec, tmp_path / "part", TrainConfig(epochs=2, seed=0, batch_size=8,
                                                                                schedule="constant"))
    assert summary["epochs"] == 2
    for (k, va), vb in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(va, vb), k
    _train(tiny_spec, tmp_path / "warm", epochs=1, schedule="constant", warmup=0.5)
    with pytest.raises(CheckpointError, match="constant schedule with warm-up; use the original --epochs"):
        _train_resume(tiny_spec, tmp_path / "warm", TrainConfig(epochs=2, seed=0, batch_size=8, schedule="constant",
                                                                warmup=0.5))
    _train(tiny_spec, tmp_path / "cos", epochs=1)
    with pytest.raises(CheckpointError, match="use the original --epochs"):
        _train_resume(tiny_spec, tmp_path / "cos", TrainConfig(epochs=2, seed=0, batch_size=8))
    with pytest.raises(CheckpointError, match="lr differ"):
        _train_resume(tiny_spec, tmp_path / "cos", TrainConfig(epochs=1, seed=0, batch_size=8, lr=0.1))


@pytest.mark.slow
def test_resume_with_other_model_is_refused(tmp_path, tiny_spec):
    _train(tiny_spec, tmp_path / "r")
    train_set = load_dataset(tiny_spec, "train")
    model = create_model("resnet-sum-vgg", train_set.num_classes)
    with pytest.raises(CheckpointError, match="cannot resume"):
        train(model, train_set, None, TrainConfig(epochs=2), tmp_path / "r", meta={"model_name": "resnet-sum-vgg"},
              resume=True, show_progress=False)


@pytest.mark.slow
def test_existing_run_dir_is_refused_and_overwrite_keeps_other_files(tmp_path, tiny_spec):
    _train(tiny_spec, tmp_path / "r")
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--resume .* --overwrite"):
        prepare_run_dir(tmp_path / "r")
    prepare_run_dir(tmp_path / "r", overwrite=True)
    assert not (tmp_path / "r" / CHECKPOINT_FILE).exists()
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"
    with pytest.raises(CheckpointError, match="nothing to resume"):
        prepare_run_dir(tmp_path / "empty", resume=True)


def test_truncated_checkpoint_is_a_clear_error(tmp_path, make_model):
    save_checkpoint(tmp_path, make_model(), {"class_names": ["a", "b", "c", "d"]})
    path = tmp_path / CHECKPOINT_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt|not a readable"):
        load_checkpoint(tmp_path)


def test_mismatched_architecture_is_a_clear_error(tmp_path, make_model):
    small = make_model("alexnet-sum-vgg")
    big = make_model("resnet-sum-resnet")
    meta = {"format_version": 1, "model_config": big.config.to_dict()}
    save_file({f"model.{k}": v.contiguous() for k, v in small.state_dict().items()}, str(tmp_path / CHECKPOINT_FILE),
              metadata={"avrobust": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="does not match its architecture resnet-sum-resnet"):
        load_checkpoint(tmp_path)


def test_missing_checkpoint_and_bad_hyper_parameters(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    for bad in ({"epochs": 0}, {"lr": -1.0}, {"optimizer": "lbfgs"}, {"schedule": "step"}, {"warmup": -1.0},
                {"warmup": 12.0}):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)
    with pytest.raises(ConfigError, match="unknown training method"):
        create_method("magic")


@pytest.mark.slow
def test_sgd_and_constant_schedule_train(tmp_path, tiny_spec):
    _, summary = _train(tiny_spec, tmp_path / "r", optimizer="sgd", schedule="constant")
    assert summary["history"][-1]["lr"] == pytest.approx(3e-3)


@pytest.mark.slow
def test_robust_validation_each_epoch_leaves_training_unchanged(tmp_path, tiny_spec):
    """--robust-val adds PGD-10's robust accuracy on N validation clips to every epoch's record (the
    catastrophic-overfitting watch) and does not change the weights."""
    plain, _ = _train(tiny_spec, tmp_path / "a", epochs=2)
    watched, summary = _train(tiny_spec, tmp_path / "b", epochs=2, robust_val=6)
    for va, vb in zip(plain.state_dict().values(), watched.state_dict().values()):
        assert torch.equal(va, vb)
    for record in summary["history"]:
        assert 0 <= record["val_pgd_robust_accuracy"] <= 1
    assert "val_pgd_robust_accuracy" not in json.loads((tmp_path / "a" / "summary.json").read_text())["history"][0]


@given(warm=st.integers(1, 50), extra=st.integers(1, 200), cosine=st.booleans())
def test_warm_up_rises_linearly_to_the_peak_then_follows_the_schedule(warm, extra, cosine):
    steps = warm + extra
    f = [warmup_factor(i, warm, steps, cosine) for i in range(steps)]
    assert f[0] == pytest.approx(1 / warm) and f[warm - 1] == 1.0 and all(0 <= x <= 1 for x in f)
    assert all(b > a for a, b in zip(f[:warm - 1], f[1:warm]))
    tail = f[warm:]
    assert all(b <= a for a, b in zip(tail, tail[1:]))
    assert (tail[0] == 1.0) and (tail[-1] < 1.0 if cosine and extra > 1 else True)
    assert cosine or all(x == 1.0 for x in tail)


def test_warm_up_starts_every_group_low_and_reaches_each_groups_own_peak():
    """Two groups (a backbone at a tenth): each starts at its peak / warm-up updates and reaches its own peak."""
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([{"params": [a], "lr": 1e-4}, {"params": [b], "lr": 1e-3}], lr=1e-3)
    schedule = make_schedule(opt, "cosine", steps=30, warm=10)
    seen = []
    for _ in range(30):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        schedule.step()
    assert seen[0] == pytest.approx([1e-5, 1e-4]) and seen[9] == pytest.approx([1e-4, 1e-3])
    assert seen[-1][1] < 1e-5
