"""benchmarks/gpu_study_pack.py: the pretrained claims study at full size for one GPU machine. Its dry run
(files written and planned, the claims table printed from a recorded study) and its whole path on a tiny
study (pilot, estimate, full run, claims table) run here on the CPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_study_pack.py"


def pack():
    spec = importlib.util.spec_from_file_location("gpu_study_pack", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: object) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "AVROBUST_DEVICE": "cpu"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_dry_run_writes_the_full_study_plans_it_and_prints_a_claims_table(tmp_path: Path) -> None:
    done = run(tmp_path, "--dry-run")
    assert done.returncode == 0, done.stderr[-2000:]
    import tomllib

    full = tomllib.loads((tmp_path / "full.toml").read_text())
    assert full["seeds"] == [0, 1, 2] and all(s.get("n", 400) == 400 and "seeds" not in s for s in full["stage"])
    pilot = tomllib.loads((tmp_path / "pilot.toml").read_text())
    assert pilot["seeds"] == [0] and all(z["epochs"] == 1 for z in pilot["zoos"].values())
    assert "12 zoo models to train" in done.stdout  # 3 pretrained + 1 scratch model, 3 seeds each
    assert "| TMA transfers better than MI-FGSM (x1) | +4.7 [+0.0, +12.4] (8 pairs) | not separated |" in done.stdout
    assert not list((tmp_path / "runs").rglob("summary.json"))  # nothing trained


def test_the_estimate_scales_work_by_clips_and_seeds_and_training_by_epochs_and_seeds() -> None:
    m = pack()
    full = {"name": "s", "seeds": [0, 1, 2], "zoos": {"z": {"epochs": 4}},
            "stage": [{"kind": "clean"}, {"kind": "transfer", "name": "x1", "n": 400}]}
    pilot = m.pilot_study(full, Path("out"), 40)
    timings = {"stages": {"clean": 12.0, "x1": 5.0}, "trained": {"clean": [["z", "AsV", 10.0, 1]]}}
    est = m.estimate(pilot, full, timings)
    # clean: training 10 s/epoch x 4 epochs x 3 seeds + 2 s of evaluation x 3 seeds; x1: 5 s x 10 x 3
    assert [r["estimate_s"] for r in est["rows"]] == [126.0, 150.0] and est["total_s"] == 276.0


@pytest.mark.slow  # trains the tiny study's zoo twice (pilot and full), 1 epoch each
def test_the_pack_runs_pilot_estimate_full_study_and_claims_on_a_tiny_study(tmp_path: Path, tiny_spec: str) -> None:
    template = tmp_path / "tiny.toml"
    template.write_text(f'''name = "tiny"
data = "{tiny_spec}"
seeds = [0]
output = "unused"

[zoos.z]
models = ["AsV", "AcV"]
epochs = 1
train = {{ batch_size = 8 }}

[[stage]]
kind = "transfer"
name = "x1"
surrogates = ["z:AsV"]
victims = ["z"]
attacks = ["mifgsm", "tma"]
n = 8
steps = 2
compare = [["tma", "mifgsm"]]
''')
    out = tmp_path / "pack"
    done = run(out, "--template", template, "--seeds", 0, 1, "--test-clips", 8, "--pilot-n", 4, "--budget-min", 0)
    assert done.returncode != 0 and "exceeds --budget-min 0" in done.stderr and "x1" in done.stderr
    assert not (out / "runs").exists() or not list((out / "runs").rglob("summary.json"))  # stopped before the full run
    done = run(out, "--template", template, "--seeds", 0, 1, "--test-clips", 8, "--pilot-n", 4, "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    est = json.loads((out / "estimate.json").read_text())
    assert [r["stage"] for r in est["rows"]] == ["x1"] and est["total_s"] > 0 and est["rows"][0]["scale"] == 4.0
    record = json.loads((out / "claims-full.json").read_text())
    assert record["seeds"] == [0, 1] and record["stages"]["x1"]["n"] == 8
    assert "| TMA transfers better than MI-FGSM (x1) |" in done.stdout
