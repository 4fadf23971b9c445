"""Where models run: device choice (CUDA and MPS mocked), --device, mixed precision and the
out-of-memory back-off, all on the CPU."""

from __future__ import annotations

import json

import pytest
import torch

from avrobust import device as dev
from avrobust.attacks import build_attacks
from avrobust.checkpoint import save_checkpoint
from avrobust.data import AVDataset, load_dataset
from avrobust.errors import ConfigError
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.memory import Chunked, within_memory
from avrobust.evaluation.transfer_matrix import Member, transfer_matrix
from avrobust.models import create_model
from avrobust.models.classifier import AVClassifier
from avrobust.seeding import seed_everything


@pytest.fixture
def no_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AVROBUST_DEVICE", raising=False)
    dev.choose(None)


@pytest.mark.parametrize(("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_the_default_is_cuda_then_mps_then_the_cpu(no_choice, monkeypatch, cuda: bool, mps: bool, expected: str) -> None:
    monkeypatch.setattr(dev, "cuda_available", lambda: cuda)
    monkeypatch.setattr(dev, "mps_available", lambda: mps)
    assert dev.resolve().type == expected
    from avrobust.distributed import default_device

    assert default_device().type == expected


def test_a_chosen_device_wins_over_the_environment_which_wins_over_the_default(no_choice, monkeypatch) -> None:
    monkeypatch.setattr(dev, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("AVROBUST_DEVICE", "cpu")
    assert dev.resolve().type == "cpu"
    dev.choose("cuda:1")
    try:
        assert dev.resolve() == torch.device("cuda:1")
    finally:
        dev.choose(None)
    with pytest.raises(ConfigError, match="there are 2 CUDA devices"):
        dev.resolve("cuda:2")


@pytest.mark.parametrize(("name", "message"), [("cuda", "this machine has no CUDA GPU"), ("mps", "MPS"),
                                               ("tpu", "unknown device 'tpu'"), ("cpu:x", "unknown device")])
def test_unavailable_or_unknown_devices_are_one_line(no_choice, monkeypatch, name: str, message: str) -> None:
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    with pytest.raises(ConfigError, match=message):
        dev.resolve(name)


@pytest.fixture
def untrained_run(tmp_path, tiny_spec):
    data = load_dataset(tiny_spec, "test")
    seed_everything(0)
    save_checkpoint(tmp_path / "run", create_model("AsV", data.num_classes, data.sample_rate),
                    {"model_name": "alexnet-sum-vgg", "class_names": data.class_names, "data_spec": tiny_spec})
    return tmp_path / "run"


def test_device_cpu_runs_and_is_recorded(run_cli, untrained_run, tmp_path) -> None:
    code, _, err = run_cli("evaluate", "--checkpoint", untrained_run, "--attack", "fgsm", "--device", "cpu",
                           "--json", tmp_path / "e.json")
    assert code == 0, err
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["device"] == "cpu" and result["precision"] == "fp32"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["evaluate", "transfer", "train", "adv-train"])
def test_device_cuda_without_cuda_is_one_line_and_exit_2(run_cli, untrained_run, tmp_path, command: str) -> None:
    args = {"evaluate": ["--checkpoint", untrained_run], "transfer": ["--surrogates", untrained_run],
            "train": ["--model", "AsV", "--out", tmp_path / "x"], "adv-train": ["--model", "AsV", "--out", tmp_path / "x"]}
    code, _, err = run_cli(command, *args[command], "--device", "cuda")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "no CUDA GPU" in lines[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # 5-7 s: out of the fast tier's 90 s (it trains nothing)
def test_bf16_attacks_keep_the_perturbation_in_float32_within_its_budget(untrained) -> None:
    model, test = untrained["model"], untrained["test"]
    batch, labels = test.batch(slice(0, 8))
    for name in ("pgd", "tma", "apgd-ce"):
        (attack,) = build_attacks([name], steps=2)
        with dev.autocast("cpu", "bf16"):
            adv = attack(model, batch, labels)
        assert adv.video.dtype == torch.float32 and adv.audio.dtype == torch.float32
        assert (adv.video - batch.video).abs().max() <= 8 / 255 + 1e-7
        assert (adv.audio - batch.audio).abs().max() <= 0.01 + 1e-7
        assert not torch.equal(adv.video, batch.video), name


@pytest.mark.slow  # 5-7 s: out of the fast tier's 90 s (it trains nothing)
def test_bf16_evaluation_is_recorded_and_close_to_fp32(untrained) -> None:
    plan = {p: EvaluationPlan(("fgsm",), precision=p) for p in ("fp32", "bf16")}
    idx = torch.arange(32)
    results = {p: evaluate_classifier(untrained["model"], untrained["test"], plan[p], indices=idx) for p in plan}
    assert results["bf16"].precision == "bf16" and results["fp32"].precision == "fp32"
    assert abs(results["bf16"].clean_accuracy - results["fp32"].clean_accuracy) <= 4 / 32
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        EvaluationPlan(precision="fp8")


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_training_in_half_precision_records_it_and_keeps_it_on_resume(tmp_path, tiny_spec, precision: str) -> None:
    from avrobust.checkpoint import read_meta
    from avrobust.errors import CheckpointError
    from avrobust.jobs import train_model

    summary = train_model(tiny_spec, "AsV", tmp_path / "run", epochs=1, batch_size=8, precision=precision,
                          method="pgd-at:steps=1", show_progress=False)
    assert summary.train_config["precision"] == precision and summary.device == "cpu"
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in summary.history)
    scaler = read_meta(tmp_path / "run")["training_state"]["scaler"]
    assert (scaler is not None) == (precision == "fp16")  # fp16's gradient scaler is checkpointed
    with pytest.raises(CheckpointError, match="precision"):
        train_model(tiny_spec, "AsV", tmp_path / "run", epochs=1, batch_size=8, method="pgd-at:steps=1",
                    show_progress=False, resume=True)


class Limited(AVClassifier):
    """A zoo model that runs out of memory when fed more than ``limit`` clips at once."""

    limit = 3

    def forward(self, video: torch.Tensor, audio: torch.Tensor):  # noqa: ANN201
        if video.shape[0] > self.limit:
            raise torch.OutOfMemoryError(f"simulated: {video.shape[0]} clips do not fit")
        return super().forward(video, audio)


def _double(data: AVDataset) -> AVDataset:
    return AVDataset(data.video.double(), data.audio.double(), data.labels, data.class_names, data.fps,
                     data.sample_rate, data.spec, data.split)


@pytest.mark.slow  # 5-7 s: out of the fast tier's 90 s (it trains nothing)
def test_out_of_memory_halves_the_batch_with_one_warning_and_the_same_results(tiny_spec, capsys) -> None:
    data = _double(load_dataset(tiny_spec, "train"))
    seed_everything(0)
    plain = create_model("AsV", data.num_classes, data.sample_rate).double().eval()
    limited = Limited(plain.config).double().eval()
    limited.load_state_dict(plain.state_dict())
    plan = EvaluationPlan(("fgsm,pgd,tma,apgd-ce",), steps=2, suite=None)
    want = evaluate_classifier(plain, data, plan, batch_size=8)
    got = evaluate_classifier(limited, data, plan, batch_size=8)
    err = capsys.readouterr().err
    assert err.count("out of memory with 8 clips at once; running 4 at a time") == 1
    assert err.count("out of memory with 4 clips at once; running 2 at a time") == 1
    assert "running 1 at a time" not in err  # the attacks' batched copies are fed in pieces too
    assert (got.clean_accuracy, got.worst_case_robust_accuracy) == (want.clean_accuracy, want.worst_case_robust_accuracy)
    for label, r in want.attacks.items():
        assert torch.equal(got.attacks[label].robust_flags, r.robust_flags), label
        assert got.attacks[label].psnr_db == pytest.approx(r.psnr_db, rel=1e-9)
        assert got.attacks[label].snr_db == pytest.approx(r.snr_db, rel=1e-9)
    members = [Member("plain", plain, ("p",), {})]
    victims = [Member("limited", limited, ("l",), {})]
    a = transfer_matrix(members, victims, data, build_attacks(["mifgsm"], steps=2), batch_size=8)
    b = transfer_matrix(members, [Member("plain2", plain, ("q",), {})], data, build_attacks(["mifgsm"], steps=2),
                        batch_size=8)
    assert a.matrix[0].attack_success_rate == b.matrix[0].attack_success_rate


def test_chunked_outputs_and_gradients_equal_the_whole_batch(untrained) -> None:
    model = untrained["model"].double()
    try:
        batch, _ = untrained["test"].batch(slice(0, 5))
        video, audio = batch.video.double().requires_grad_(True), batch.audio.double()
        whole = model(video, audio)
        (g_whole,) = torch.autograd.grad(whole.logits.sum() + whole.visual_features.square().sum(), [video])
        parts = Chunked(model, 2)(video, audio)
        (g_parts,) = torch.autograd.grad(parts.logits.sum() + parts.visual_features.square().sum(), [video])
        assert torch.allclose(parts.logits, whole.logits, rtol=1e-12, atol=1e-12)
        assert torch.allclose(g_parts, g_whole, rtol=1e-10, atol=1e-12)
    finally:
        model.float()


def test_out_of_memory_on_one_clip_is_one_line(untrained) -> None:
    from avrobust.errors import InputError

    def always(_model):  # noqa: ANN001, ANN202
        raise torch.OutOfMemoryError("simulated")

    with pytest.raises(InputError, match="out of memory with a single clip"):
        within_memory(always, untrained["model"], 4)


def test_other_runtime_errors_are_not_taken_for_out_of_memory(untrained) -> None:
    def broken(_model):  # noqa: ANN001, ANN202
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        within_memory(broken, untrained["model"], 4)
