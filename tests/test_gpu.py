"""On a CUDA GPU (skipped elsewhere; benchmarks/gpu_check.sh runs them): the default device, every tensor
the engine creates on the data's device, mixed precision, a model on cuda:1 staying there."""

from __future__ import annotations

import pytest
import torch

import avrobust
from avrobust import device as dev
from avrobust.attacks import build_attacks
from avrobust.data import load_dataset
from avrobust.models import create_model

pytestmark = pytest.mark.gpu


@pytest.fixture
def gpu_model(tiny_spec):
    data = load_dataset(tiny_spec, "test")
    torch.manual_seed(0)
    return create_model("AsV", data.num_classes, data.sample_rate).cuda().eval(), data


def test_cuda_is_the_default_device(monkeypatch) -> None:
    monkeypatch.delenv("AVROBUST_DEVICE", raising=False)
    dev.choose(None)
    assert dev.resolve().type == "cuda"


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_every_attack_runs_on_the_gpu_within_budget(gpu_model, precision: str) -> None:
    model, data = gpu_model
    batch, labels = data.batch(slice(0, 6))
    batch, labels = batch.to("cuda"), labels.cuda()
    for attack in build_attacks(["fgsm,pgd,mifgsm,nifgsm,mig,pam,tia,mma,tma,apgd-ce,apgd-dlr"], steps=2):
        g = torch.Generator(device="cuda").manual_seed(0)
        with dev.autocast("cuda", precision):
            adv = attack(model, batch, labels, generator=g)
        assert adv.video.device.type == "cuda" and adv.video.dtype == torch.float32
        assert (adv.video - batch.video).abs().max() <= 8 / 255 + 1e-6, attack.label


def test_evaluation_on_the_gpu_matches_the_cpu_closely_and_records_the_device(gpu_model) -> None:
    model, data = gpu_model
    on_gpu = avrobust.evaluate(model, data, attacks=["pgd"], steps=3)
    on_cpu = avrobust.evaluate(model, data, attacks=["pgd"], steps=3, device="cpu")
    assert on_gpu.device.startswith("cuda:0") and on_cpu.device == "cpu"
    assert on_gpu.clean_accuracy == on_cpu.clean_accuracy
    assert abs(on_gpu.attacks["pgd"].robust_accuracy - on_cpu.attacks["pgd"].robust_accuracy) <= 2 / on_cpu.n


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_a_model_on_cuda_1_stays_there(tiny_spec) -> None:
    data = load_dataset(tiny_spec, "test")
    model = create_model("AsV", data.num_classes, data.sample_rate).to("cuda:1").eval()
    result = avrobust.evaluate(model, data, attacks=["pgd"], steps=2)
    assert result.device.startswith("cuda:1") and next(model.parameters()).device == torch.device("cuda:1")


@pytest.mark.slow
def test_training_in_bf16_on_the_gpu(tmp_path, tiny_spec) -> None:
    from avrobust.jobs import train_model

    dev.choose("cuda")
    try:
        summary = train_model(tiny_spec, "AsV", tmp_path / "run", epochs=1, batch_size=8, precision="bf16",
                              method="pgd-at:steps=1", show_progress=False, workers=2)
    finally:
        dev.choose(None)
    assert summary.device.startswith("cuda") and summary.train_config["precision"] == "bf16"


def test_corruptions_and_certificates_run_on_the_gpu(gpu_model) -> None:
    from avrobust.certification import certify_model, create_certifier
    from avrobust.corruptions import CORRUPTIONS, corrupt

    model, data = gpu_model
    batch = data.batch(slice(0, 4))[0].to("cuda")
    for name in CORRUPTIONS:
        out = corrupt(batch, name, 1, seed=0)
        assert out.video.device.type == "cuda" and out.audio.device.type == "cuda"
        again = corrupt(batch, name, 1, seed=0)
        assert torch.equal(out.video, again.video) and torch.equal(out.audio, again.audio)
        out.validate()
    for spec in ({"name": "smoothing", "n0": 10, "n": 50}, {"name": "mmcert", "k_video": 1, "k_audio": 1}):
        result = certify_model(model, data, create_certifier(spec.pop("name"), **spec), indices=torch.arange(2))
        assert result.device.startswith("cuda")
