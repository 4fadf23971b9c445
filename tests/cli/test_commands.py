import json

import pytest

from avrobust.results import SCHEMA_VERSION


def test_models_lists_the_zoo(run_cli):
    code, out, _ = run_cli("models", "R[sc]R")
    assert code == 0 and "RsR" in out and "RcR" in out and "AsV" not in out
    code, out, _ = run_cli("models", "PMbY")
    assert code == 0 and "PMbY" in out and "PMsY" not in out


def test_the_listing_holds_every_model_with_the_data_it_needs():
    from avrobust.jobs.catalog import zoo_catalog
    from avrobust.models import list_models

    table = zoo_catalog()
    rows = {row[1]: row for row in table.rows}
    assert len(table.rows) == len(list_models("all")) == 52
    for alias in ("RsR", "AcV", "AbV", "RxR", "R18sR18", "PMsY", "PMbY", "PExW", "PMcS"):
        assert alias in rows
    assert rows["PMbS"][6] == "22.05 kHz" and rows["PExW"][6] == "16 kHz" and rows["AbV"][6] == "any"
    assert rows["PMbY"][7] == "224 px (ImageNet)" and rows["RsR"][7] == "any" and rows["PMbY"][3] == "bottleneck"
    assert len(zoo_catalog("paper").rows) == 8 and len(zoo_catalog("attention").rows) == 8 + 16


def test_datasets_lists_synth_options(run_cli):
    code, out, _ = run_cli("datasets")
    assert code == 0 and "synth" in out and "clips_per_class" in out


@pytest.mark.slow
def test_train_then_evaluate(run_cli, tmp_path, tiny_spec):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "--data", tiny_spec, "--model", "AsV", "--epochs", "1", "--out", run,
                             "--json", tmp_path / "train.json", "--batch-size", "8", "--schedule", "constant",
                             "--dropout", "0.2")
    assert code == 0, err
    meta = json.loads((run / "checkpoint.json").read_text())
    assert meta["model_config"]["dropout"] == 0.2
    summary = json.loads((tmp_path / "train.json").read_text())
    for key in ("seconds_per_epoch", "epochs", "forward_passes", "backward_passes", "metrics"):
        assert key in summary
    assert (run / "checkpoint.safetensors").exists() and (run / "checkpoint.json").exists()
    code, out, err = run_cli("evaluate", "--checkpoint", run, "--split", "test", "--json", tmp_path / "eval.json")
    assert code == 0, err
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["n"] == 12 and result["schema_version"] == SCHEMA_VERSION and result["attacks"] == {}
    assert "clean accuracy" in out
    # the same out dir again: refused, then resumed to 2 epochs
    code, _, err = run_cli("train", "--data", tiny_spec, "--model", "AsV", "--epochs", "1", "--out", run)
    assert code == 2 and "--resume" in err and "Traceback" not in err
    code, _, err = run_cli("train", "--data", tiny_spec, "--model", "AsV", "--epochs", "2", "--out", run,
                           "--resume", "--batch-size", "8", "--schedule", "constant", "--dropout", "0.2")
    assert code == 0, err
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "vit", "--out", "X"], "unknown model 'vit'; valid choices:"),
        (["train", "--model", "AsV", "--data", "synth:colour=1", "--out", "X"], "valid options: classes"),
        (["train", "--model", "AsV", "--data", "kinetics", "--out", "X"], "unknown dataset 'kinetics'"),
        (["train", "--model", "AsV", "--optimizer", "lbfgs", "--out", "X"], "unknown optimizer 'lbfgs'"),
        (["evaluate", "--checkpoint", "nowhere"], "no checkpoint at nowhere"),
        (["train", "--model", "AsV", "--method", "magic", "--out", "X"], "unknown training method 'magic'"),
        (["train", "--model", "AsV", "--warmup", "12", "--out", "X"], "warmup must be >= 0 epochs and fewer"),
        (["train", "--model-file", "m.py:make", "--dropout", "0.1", "--out", "X"], "--dropout"),
    ],
)
def test_user_errors_are_one_line(run_cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "X").exists()


def test_corrupt_checkpoint_error_is_one_line(run_cli, tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    code, _, err = run_cli("evaluate", "--checkpoint", tmp_path)
    assert code == 2 and "not a readable avrobust checkpoint" in err and "Traceback" not in err


def test_data_command_saves_splits(run_cli, tmp_path, tiny_spec):
    code, _, err = run_cli("data", tiny_spec, "--out", tmp_path / "d")
    assert code == 0, err
    assert all((tmp_path / "d" / f"{s}.safetensors").exists() for s in ("train", "val", "test"))
    code, _, err = run_cli("data", tiny_spec, "--out", tmp_path / "d")
    assert code == 2 and "--overwrite" in err


@pytest.mark.slow
def test_quick_demo_writes_summary(run_cli, quick_demo):
    demo, out = quick_demo["out"], quick_demo["stdout"]
    summary = json.loads((demo / "summary.json").read_text())
    assert [m["role"] for m in summary["models"]] == ["surrogate", "victim"]
    assert summary["models"][0]["model"] != summary["models"][1]["model"]
    assert (demo / "summary.md").read_text().startswith("# avrobust demo")
    transfer = summary["transfer"]
    assert (transfer["surrogate"], transfer["victim"]) == ("AsV", "RcV")
    assert {"tia", "mma", "tma", "mifgsm", "mig", "pam"} <= {a.split(":")[0] for a in transfer["attacks"]}
    assert f"## Transfer on `{transfer['data']}`: AsV (surrogate) -> RcV (victim)" in (demo / "summary.md").read_text()
    assert (demo / "transfer.png").exists()
    assert "report: " in out and (demo / "report" / "report.html").exists()
    defence = summary["defence"]["methods"]
    assert set(defence) == {"pgd-at", "avat"}
    assert all(0 <= r["worst_case_robust_accuracy"] <= r["clean_accuracy"] for r in defence.values())
    assert "## Defence: avat (ours) vs PGD-AT" in (demo / "summary.md").read_text()
    digits = summary["digits"]
    assert digits["data"].startswith("digits:") and set(digits["pgd"]) == {"video", "audio"}
    assert all(0 <= r["robust_accuracy"] <= r["clean_accuracy"] for r in digits["pgd"].values())
    assert "## Digits: alexnet-sum-vgg on `digits:" in (demo / "summary.md").read_text()
    report = (demo / "report" / "report.md").read_text()
    assert report.count("figures/data-") >= 2  # a picture of synth's and of digits' test clips
    code, _, err = run_cli("demo", "--quick", "--out", demo)
    assert code == 2 and "--overwrite" in err


@pytest.mark.slow
def test_evaluate_with_attacks_writes_the_schema(run_cli, tmp_path, trained):
    out = tmp_path / "e.json"
    code, stdout, err = run_cli("evaluate", "--checkpoint", trained["run_dir"], "--attack", "fgsm,pgd",
                                "--attack", "pgd:steps=3,restarts=2", "--steps", "2", "--n", "24",
                                "--eps-video", "4/255", "--json", out)
    assert code == 0, err
    result = json.loads(out.read_text())
    assert set(result["attacks"]) == {"fgsm", "pgd", "pgd:steps=3,restarts=2"}
    pgd = result["attacks"]["pgd"]
    for key in ("robust_accuracy", "attack_success_rate", "budget", "steps", "modalities", "psnr_db", "snr_db"):
        assert key in pgd
    assert pgd["steps"] == 2 and pgd["budget"]["video"]["eps"] == pytest.approx(4 / 255)
    assert 0 <= result["worst_case_robust_accuracy"] <= pgd["robust_accuracy"]
    assert "worst-case robust accuracy" in stdout


def test_attacks_command_lists_the_registry(run_cli):
    code, out, _ = run_cli("attacks")
    assert code == 0
    for name in ("fgsm", "ifgsm", "pgd", "mifgsm", "nifgsm", "mig", "pam", "apgd-ce", "apgd-dlr"):
        assert name in out


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--attack", "cw"], "unknown attack 'cw'"), (["--attack", "pgd", "--eps-video", "-1"], "eps must be"),
     (["--attack", "pgd", "--eps-video", "2"], "larger than the input range"),
     (["--attack", "pgd", "--modalities", "sound"], "unknown modality sound"),
     (["--attack", "pgd:steps=0"], "steps must be an integer >= 1")],
)
@pytest.mark.slow
def test_attack_errors_are_one_line(run_cli, trained, args, message):
    code, _, err = run_cli("evaluate", "--checkpoint", trained["run_dir"], "--n", "4", *args)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.slow
def test_adv_train_writes_the_run_summary_with_cost_and_curriculum(run_cli, tmp_path, tiny_spec):
    code, out, err = run_cli("adv-train", "--method", "avat:paper=true,steps=2", "--data", tiny_spec, "--model", "AsV",
                             "--out", tmp_path / "r", "--epochs", "2", "--batch-size", "8", "--eps-video", "4/255",
                             "--json", tmp_path / "s.json")
    assert code == 0, err
    assert "(avat) trained 2 epochs" in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["forward_passes"] == summary["forward_passes"]
    for key in ("seconds_per_epoch", "forward_passes", "backward_passes", "forward_segments", "metrics"):
        assert key in summary
    assert [c["attack_steps"] for c in summary["curriculum"]] == [1, 2]
    assert summary["method_options"]["threat"]["video"]["eps"] == pytest.approx(4 / 255)


@pytest.mark.parametrize("args, message", [
    (["--method", "avat:rho=0"], "rho must lie in (0, 1]"),
    (["--method", "avat:steps_schedule=weekly"], "unknown schedule 'weekly'"),
    (["--method", "nothing"], "unknown training method 'nothing'"),
    (["--method", "standard", "--eps-video", "4/255"], "crafts no adversarial examples"),
])
def test_adv_train_errors_are_one_line(run_cli, tmp_path, tiny_spec, args, message):
    code, _, err = run_cli("adv-train", "--data", tiny_spec, "--model", "AsV", "--out", tmp_path / "r", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_reversed_schedule_warns_and_trains(run_cli, tmp_path, tiny_spec):
    code, _, err = run_cli("adv-train", "--method", "avat:paper=true,steps=1,mask_start=0.5,mask_end=0",
                           "--data", tiny_spec, "--model", "AsV", "--out", tmp_path / "r", "--epochs", "1",
                           "--batch-size", "8")
    assert code == 0 and "warning:" in err and "mask schedule goes from 0.5 down to 0" in err


def test_methods_command_lists_every_method(run_cli):
    code, out, _ = run_cli("methods")
    assert code == 0
    for name in ("avat", "pgd-at", "trades", "mixup", "crmt-at", "standard"):
        assert name in out


@pytest.mark.slow
def test_outputs_into_a_run_or_nowhere_are_one_line_and_the_run_is_untouched(run_cli, trained, tmp_path):
    run = trained["run_dir"]
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir())
    for args, message in [
        (["export", "--checkpoint", run, "--n", "1", "--out", run], "is a training run"),
        (["attack", "--checkpoint", run, "--n", "1", "--attack", "fgsm", "--save", run], "is a training run"),
        (["attack", "--checkpoint", run, "--n", "1", "--attack", "fgsm", "--save", "/proc/avr-x"],
         "cannot write to /proc/avr-x"),
        (["export", "--checkpoint", run, "--n", "1", "--out", "/dev/null/x"], "cannot write to /dev/null/x"),
    ]:
        code, _, err = run_cli(*args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, err)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir()) == before
