"""Studies as jobs: the plan names every missing unit with what it waits for, executors give the tables of
the sequential run, a killed study computes only the rest when rerun, a failing unit is retried once and
then named in one line with its log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from avrobust.errors import ConfigError
from avrobust.studies import EXECUTORS, load_study, run_study
from avrobust.studies.executors import Executor
from avrobust.studies.scheduler import UnitFailed
from avrobust.studies.planning import plan, run_job

SMALL = '''
name = "t"
data = "{data}"
seeds = {seeds}
output = "{out}"

[zoos.z]
models = {models}
epochs = 1
train = {{ batch_size = 8 }}

[[stage]]
kind = "transfer"
name = "x1"
surrogates = ["z:AsV"]
victims = ["z"]
attacks = {attacks}
n = 8
steps = 2
'''


def small(tmp_path: Path, data: str, name: str = "s", seeds: str = "[0, 1]", models: str = '["AsV", "AcV"]',
          attacks: str = '["fgsm", "mifgsm"]', extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(SMALL.format(data=data, seeds=seeds, out=tmp_path / "results" / name, models=models,
                                 attacks=attacks) + extra)
    return path


def same_tables(a: Path, b: Path, root_a: Path, root_b: Path) -> None:
    """The two runs' JSON stages (paths under their roots aside) and Markdown tables (the header aside)."""
    ja, jb = json.loads(a.with_suffix(".json").read_text()), json.loads(b.with_suffix(".json").read_text())
    assert json.dumps(ja["stages"]).replace(str(root_a), "ROOT") == json.dumps(jb["stages"]).replace(str(root_b), "ROOT")
    ma, mb = a.with_suffix(".md").read_text().splitlines(), b.with_suffix(".md").read_text().splitlines()
    assert ma[3:] == mb[3:] and len(ma) > 6


def test_the_plan_names_every_missing_unit_and_what_it_waits_for(tmp_path: Path, tiny_spec: str) -> None:
    spec = load_study(small(tmp_path, tiny_spec))
    jobs, complete = plan(spec, tmp_path / "root")
    assert not complete
    train = {n for n, j in jobs.items() if j.kind == "train"}
    assert train == {f"train z s{k} {m}" for k in (0, 1) for m in ("AsV", "AcV")}
    units = {n: j for n, j in jobs.items() if j.kind == "unit"}
    assert set(units) == {"t/x1/s0.json", "t/x1/s1.json"}
    assert all(set(j.needs) == train and j.stage == "x1" for j in units.values())
    assert not (tmp_path / "root" / "zoos" / "z" / "s0").exists()  # planning trains nothing


@pytest.mark.parametrize(("table", "message"), [
    ('[executor]\nkind = "cloud"', "unknown kind 'cloud'; valid: inline, local, ray, slurm"),
    ('[executor]\ngpus = 1', "unknown key.* gpus; valid: address, .*gpus_per_unit"),
    ('[executor]\nmax_parallel = 0', "max_parallel must be >= 1"),
])
def test_bad_executor_tables_are_one_line(tmp_path: Path, tiny_spec: str, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_study(small(tmp_path, tiny_spec, extra="\n" + table + "\n"), tmp_path / "root")


def test_slurm_where_there_is_none_is_one_line(tmp_path: Path, tiny_spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("submitit")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch
    with pytest.raises(ConfigError, match="no SLURM here .*cluster = \"local\""):
        run_study(small(tmp_path, tiny_spec), tmp_path / "root", executor="slurm")


class InProcess(Executor):
    """Runs each job at once in this process (the scheduler's logic without spawning)."""

    def submit(self, job, log):  # type: ignore[no-untyped-def]
        done: Future = Future()
        try:
            run_job(*self.args(job, log, None))
            done.set_result(None)
        except Exception as exc:
            done.set_exception(exc)
        return done

    def done(self, handle):  # type: ignore[no-untyped-def]
        return True

    def failure(self, handle):  # type: ignore[no-untyped-def]
        exc = handle.exception()
        return None if exc is None else f"{type(exc).__name__}: {exc}"


@pytest.fixture
def in_process():
    EXECUTORS.register("in-process")(InProcess)
    yield "in-process"
    EXECUTORS.remove("in-process")


@pytest.mark.slow
def test_a_failing_unit_is_retried_once_then_named_with_its_log(tmp_path: Path, tiny_spec: str, in_process: str) -> None:
    path = small(tmp_path, tiny_spec, seeds="[0]", models='["AsV"]', attacks='["fgsm:nosuch=1"]')
    with pytest.raises(UnitFailed, match=r"study t: t/x1/s0.json failed twice \(ConfigError: .*nosuch.*\); its log: "
                                         r".*logs/t_x1_s0.json.log"):
        run_study(path, tmp_path / "root", executor=in_process)
    record = json.loads((tmp_path / "root" / "t" / "jobs.json").read_text())["jobs"]
    assert record["train z s0 AsV"]["state"] == "done"  # trained once, and kept for the rerun
    assert record["t/x1/s0.json"] == {**record["t/x1/s0.json"], "state": "failed", "attempts": 2}
    log = Path(record["t/x1/s0.json"]["log"]).read_text()
    assert log.count("Traceback") == 2 and "nosuch" in log


ONE_SEED = dict(seeds="[0]", attacks='["fgsm"]')  # two models, one seed: three jobs (the suite's budget)
JOBS = {"train z s0 AsV", "train z s0 AcV", "t/x1/s0.json"}


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> tuple[Path, Path]:
    """The small study run in one process: (its results, its root)."""
    tmp = tmp_path_factory.mktemp("sequential")
    run_study(small(tmp, tiny_spec, "seq", **ONE_SEED), tmp / "root")
    return tmp / "results" / "seq", tmp / "root"


@pytest.mark.slow
def test_a_local_study_killed_after_its_first_unit_computes_only_the_rest_and_equals_the_sequential_run(
        tmp_path: Path, tiny_spec: str, sequential: tuple[Path, Path]) -> None:
    local = small(tmp_path, tiny_spec, "local", **ONE_SEED)
    root = tmp_path / "local-root"
    cmd = [sys.executable, "-m", "avrobust", "study", str(local), "--root", str(root), "--executor", "local",
           "--max-parallel", "1"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    record = root / "t" / "jobs.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        if record.exists() and '"done"' in record.read_text():
            break
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = json.loads(record.read_text())["jobs"]
    finished = {n for n, j in before.items() if j["state"] == "done"}
    assert len(finished) == 1, before
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    after = json.loads(record.read_text())["jobs"]
    assert set(after) == JOBS - finished
    assert all(j["state"] == "done" and j["attempts"] == 1 for j in after.values())
    same_tables(sequential[0], tmp_path / "results" / "local", sequential[1], root)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["slurm", "ray"])
def test_slurm_through_submitit_and_ray_give_the_sequential_tables(tmp_path: Path, tiny_spec: str, kind: str,
                                                                   sequential: tuple[Path, Path]) -> None:
    """SLURM's path on submitit's local executor, and a Ray started for the study."""
    pytest.importorskip("submitit" if kind == "slurm" else "ray")
    other = small(tmp_path, tiny_spec, kind, **ONE_SEED,
                  extra=f'\n[executor]\nkind = "{kind}"\ncpus_per_unit = 1\n' + ('cluster = "local"\nmax_parallel = 2\n'
                                                                                  if kind == "slurm" else ""))
    record = run_study(other, tmp_path / f"{kind}-root")  # Ray: one worker (its start is the cost here)
    assert record["executor"] == {"executor": kind, "max_parallel": 2 if kind == "slurm" else 1, "jobs_run": len(JOBS)}
    same_tables(sequential[0], tmp_path / "results" / kind, sequential[1], tmp_path / f"{kind}-root")
