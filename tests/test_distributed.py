"""Several processes (torchrun, gloo on CPU), crash-safe checkpoints, exact resume after a kill."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from avrobust.checkpoint import CHECKPOINT_FILE, load_checkpoint
from avrobust.errors import CheckpointError
from avrobust.models import create_model
from avrobust.seeding import seed_everything

pytestmark = pytest.mark.slow  # every test here trains or starts processes that do

TINY = "synth:classes=4,clips_per_class=6,eval_clips_per_class=3,frames=4,size=16,seconds=0.5"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def avrobust(*args: str, procs: int = 1, check: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI in fresh processes (under torchrun when ``procs`` > 1)."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
                if procs > 1 else [sys.executable])
    done = subprocess.run([*launcher, "-m", "avrobust", *map(str, args)], env=ENV, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ddp") / "run"
    avrobust("train", "--data", TINY, "--model", "AsV", "--out", run, "--epochs", "6", "--batch-size", "8")
    return run


def test_two_process_evaluation_equals_one_process(tiny_run, tmp_path):
    common = ["evaluate", "--checkpoint", tiny_run, "--split", "train", "--attack", "fgsm,pgd,tma", "--steps", "3",
              "--batch-size", "4"]
    avrobust(*common, "--json", tmp_path / "one.json")
    two = avrobust(*common, "--json", tmp_path / "two.json", procs=2)
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert a["n"] == b["n"] == 24
    for key in ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy", "worst_case_robust_accuracy"):
        assert a[key] == b[key], key
    assert 0 < a["clean_accuracy"] and a["worst_case_robust_accuracy"] < a["clean_accuracy"]
    for label in a["attacks"]:
        ra, rb = a["attacks"][label], b["attacks"][label]
        assert ra["robust_flags"] == rb["robust_flags"] and ra["attack_success_rate"] == rb["attack_success_rate"]
        assert ra["psnr_db"] == pytest.approx(rb["psnr_db"], rel=1e-9)
    assert two.stderr.count("results ->") == 1 and two.stdout.count("clean accuracy") == 1  # only rank 0 prints


def test_two_process_training_matches_one_process(tmp_path):
    """Same global batch (8 = 2 x 4). Batch norm normalises each process's half-batch (no SyncBatchNorm on
    CPU), so the audio branch (batch-normalised) drifts; the visual branch has no batch norm and
    must follow the one-process run closely, and the summed loss too."""
    common = ["train", "--data", TINY, "--model", "AsV", "--epochs", "1", "--batch-size", "8", "--optimizer", "sgd",
              "--lr", "0.01", "--schedule", "constant"]
    avrobust(*common, "--out", tmp_path / "one")
    avrobust(*common, "--out", tmp_path / "two", procs=2)
    seed_everything(0)
    init = create_model("alexnet-sum-vgg", 4, 8000).state_dict()
    one, two = (load_checkpoint(tmp_path / d) for d in ("one", "two"))
    w1, w2 = one.model.state_dict(), two.model.state_dict()
    keys = [k for k in w1 if k.startswith("visual.") and w1[k].is_floating_point()]
    d1 = torch.cat([(w1[k] - init[k]).flatten() for k in keys])
    d2 = torch.cat([(w2[k] - init[k]).flatten() for k in keys])
    assert d1.norm() > 0 and float((d1 - d2).norm() / d1.norm()) < 0.1
    h1, h2 = one.meta["history"][0], two.meta["history"][0]
    assert h1["forward_passes"] == h2["forward_passes"] == 24  # counts summed over processes
    assert h2["loss"] == pytest.approx(h1["loss"], rel=0.1)


def test_two_process_adversarial_training_runs_and_counts_every_clip(tmp_path):
    out = tmp_path / "avat"
    avrobust("adv-train", "--method", "avat:paper=true,steps=2", "--data", TINY, "--model", "AsV", "--out", out,
             "--epochs", "2", "--batch-size", "8", procs=2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2 and [c["attack_steps"] for c in summary["curriculum"]] == [1, 2]
    # 24 clips per epoch: one training pass each, plus the crafting passes on the sampled segments
    assert summary["history"][0]["backward_passes"] >= 24 and summary["forward_passes"] > 48


def test_two_process_transfer_equals_one_process(tiny_run, tmp_path):
    common = ["transfer", "--surrogates", tiny_run, "--victims", tiny_run, "--split", "train", "--attack", "mifgsm",
              "--steps", "2", "--batch-size", "4"]
    avrobust(*common, "--json", tmp_path / "one.json")
    avrobust(*common, "--json", tmp_path / "two.json", procs=2)
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert [r["attack_success_rate"] for r in a["matrix"]] == [r["attack_success_rate"] for r in b["matrix"]]


def test_two_process_benchmark_gives_the_same_card(tiny_run, tmp_path):
    """Clean and robust accuracy and every attack's per-clip flags of the cascade, summed as integers."""
    common = ["benchmark", "--checkpoint", tiny_run, "--split", "train", "--protocol", "quick", "--threat-model",
              "linf-both", "--limit", "12", "--batch-size", "4"]
    avrobust(*common, "--json", tmp_path / "one.json")
    avrobust(*common, "--json", tmp_path / "two.json", procs=2)
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert a["clean_accuracy"] == b["clean_accuracy"] > 0
    ta, tb = a["threats"]["linf-both"], b["threats"]["linf-both"]
    assert ta["robust_accuracy"] == tb["robust_accuracy"] < a["clean_accuracy"]
    untimed = lambda d: {k: v for k, v in d.items() if k != "seconds"}  # noqa: E731
    assert ta["robust_flags"] == tb["robust_flags"] and untimed(ta["eps_curve"]) == untimed(tb["eps_curve"])
    assert [untimed(c) for c in ta["cascade"]] == [untimed(c) for c in tb["cascade"]] and a["flags"] == b["flags"]


@pytest.mark.parametrize("kind", ["audio-reach"])
def test_two_process_analysis_equals_one_process(tiny_run, tmp_path, kind):
    """The analyses with loops of their own share batches (per-batch generators) and sum counts: audio-reach
    (masking uses the same two helpers, Study.batches and Study.summed; the others run the transfer engine)."""
    common = ["analyze", kind, "--model", tiny_run, "--victims", tiny_run, "--split", "train", "--limit", "12",
              "--steps", "2", "--batch-size", "4"]
    avrobust(*common, "--out", tmp_path / "one")
    avrobust(*common, "--out", tmp_path / "two", procs=2)
    a, b = (json.loads((tmp_path / d / f"{kind}.json").read_text()) for d in ("one", "two"))
    assert a["results"] == b["results"] and a["setup"]["n"] == 12


def test_training_killed_at_a_random_point_resumes_to_the_same_weights(tmp_path):
    """SIGTERM and SIGKILL, each somewhere in a later epoch: the resumed run ends bit for bit where the
    uninterrupted one does (one reference run for both signals)."""
    common = ["adv-train", "--method", "avat:steps=1", "--data", TINY, "--model", "AsV", "--epochs", "8",
              "--batch-size", "4", "--checkpoint-every", "2"]  # 6 updates per epoch: kills land within epochs too
    avrobust(*common, "--out", tmp_path / "full")
    full = load_checkpoint(tmp_path / "full").model.state_dict()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        killed = tmp_path / f"killed-{sig.name}"
        proc = subprocess.Popen([sys.executable, "-m", "avrobust", *common, "--out", str(killed)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (killed / CHECKPOINT_FILE).exists() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(random.uniform(0.0, 0.3))  # somewhere in a later epoch, maybe while a checkpoint is written
        proc.send_signal(sig)
        proc.wait(timeout=60)
        saved = json.loads((killed / "checkpoint.json").read_text())
        assert saved["epoch"] < 8, f"the {sig.name} must land before the run ends"
        avrobust(*common, "--out", killed, "--resume")
        resumed = load_checkpoint(killed).model.state_dict()
        for k in full:
            assert torch.equal(full[k], resumed[k]), (sig.name, k)


def test_a_failing_checkpoint_write_keeps_the_previous_one_and_says_so(tmp_path, tiny_spec, monkeypatch):
    import avrobust.checkpoint as ckpt
    from avrobust.jobs import train_model

    calls = {"n": 0}
    real = ckpt.save_file

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(ckpt, "save_file", flaky)
    with pytest.raises(CheckpointError, match=r"could not write the checkpoint .*No space left on device.*previous "
                                              r"checkpoint .* is intact"):
        train_model(tiny_spec, "AsV", tmp_path / "r", epochs=3, batch_size=8, show_progress=False)
    saved = load_checkpoint(tmp_path / "r", with_state=True)
    assert saved.meta["epoch"] == 1
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]


def test_tampered_checkpoint_fails_its_checksum(tmp_path, tiny_spec):
    from avrobust.jobs import train_model

    train_model(tiny_spec, "AsV", tmp_path / "r", epochs=1, batch_size=8, show_progress=False)
    path = tmp_path / "r" / CHECKPOINT_FILE
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40  # one bit of the last tensor
    path.write_bytes(bytes(data))
    for with_state in (False, True):
        with pytest.raises(CheckpointError, match="fails its checksum"):
            load_checkpoint(tmp_path / "r", with_state=with_state)


def test_deterministic_flag_repeats_bit_for_bit(tmp_path):
    for name in ("a", "b"):
        avrobust("adv-train", "--method", "avat:steps=2", "--data", TINY, "--model", "AsV", "--out", tmp_path / name,
                 "--epochs", "1", "--batch-size", "8", "--deterministic")
    a, b = (load_checkpoint(tmp_path / d).model.state_dict() for d in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_interrupted_evaluation_continues_where_it_stopped(trained, tmp_path, monkeypatch):
    from avrobust.attacks import build_attacks
    from avrobust.attacks.pgd import PGD
    from avrobust.evaluation.cascade import run_cascade

    model, test = trained["model"], trained["test"]
    idx = torch.arange(40)
    full = run_cascade(model, test, build_attacks(["fgsm,pgd"], steps=2), batch_size=8, indices=idx)
    calls = {"n": 0}
    real = PGD.perturb

    def dying(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped in the third batch
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PGD, "perturb", dying)
    state = tmp_path / "eval.partial.json"
    with pytest.raises(KeyboardInterrupt):
        run_cascade(model, test, build_attacks(["fgsm,pgd"], steps=2), batch_size=8, indices=idx,
                          progress_file=state)
    assert json.loads(state.read_text())["batches"] == 2
    monkeypatch.setattr(PGD, "perturb", real)
    counted = {"n": 0}

    def counting(self, *args, **kwargs):
        counted["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PGD, "perturb", counting)
    resumed = run_cascade(model, test, build_attacks(["fgsm,pgd"], steps=2), batch_size=8, indices=idx,
                                progress_file=state)
    assert counted["n"] == 3  # batches 3, 4, 5 only
    assert not state.exists()
    assert torch.equal(resumed.clean, full.clean)
    for label in full.attacks:
        assert torch.equal(resumed.attacks[label].robust_flags, full.attacks[label].robust_flags)
        assert resumed.attacks[label].psnr_db == pytest.approx(full.attacks[label].psnr_db)
