"""benchmarks/gpu_check.sh runs the part a CPU can check (the throughput benchmark at tiny size, the gpu
tests collected and skipped with their reason), so it is ready for the first machine with a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # throughput.py --quick runs training steps in a subprocess (17 s)
def test_gpu_check_dry_run(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", str(tmp_path / "out")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads((tmp_path / "out" / "throughput.json").read_text())
    assert {r["precision"] for r in result["rows"]} == {"fp32", "bf16"} and result["device"] == "cpu"
    for row in result["rows"]:
        assert row["train_clips_per_s"] > 0 and row["pgd10_clips_per_s"] > 0 and row["tma10_clips_per_s"] > 0
    assert set(result["loader_clips_per_s"]) == {"0", "2"}
    if "skipped" in run.stdout:  # no CUDA here: every gpu test is skipped, none fails
        assert "failed" not in run.stdout
