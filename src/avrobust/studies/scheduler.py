"""The scheduler of a study's jobs (see :mod:`avrobust.studies.executors`): plan, submit what is ready,
retry a failure once, plan again until nothing is missing."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.console import console
from avrobust.errors import AvrobustError, ConfigError
from avrobust.io import write_json
from avrobust.studies.context import Job
from avrobust.studies.executors import EXECUTORS, Executor, ExecutorOptions
from avrobust.studies.planning import plan
from avrobust.studies.spec import StudySpec


class UnitFailed(AvrobustError):
    """A job of a study failed twice."""


def _log_path(root: Path, spec: StudySpec, job: Job) -> Path:
    return root / spec.name / "logs" / (re.sub(r"[^A-Za-z0-9_.-]+", "_", job.name).strip("_") + ".log")


def run_with(opts: ExecutorOptions, spec: StudySpec, root: Path, stages: Sequence[str] = (),
             train: bool = True) -> dict[str, Any]:
    """Compute every missing job of the study on ``opts.kind``'s executor (see the module docstring);
    returns the jobs' record (also in ``ROOT/NAME/jobs.json``)."""
    root = Path(root)
    record: dict[str, Any] = {"executor": opts.kind, "max_parallel": opts.max_parallel, "jobs": {}}
    record_file = root / spec.name / "jobs.json"
    executor: Executor | None = None
    try:
        while True:
            jobs, complete = plan(spec, root, stages, train)
            if complete:
                break
            if not jobs:
                raise ConfigError(f"{spec.source}: a stage waits for results no job can compute; run it with "
                                  "--executor inline to see which")
            executor = executor or EXECUTORS.create(opts.kind, given={"opts": opts, "spec": spec, "root": root})
            _round(executor, opts, spec, root, jobs, record, record_file)
    finally:
        if executor is not None:
            executor.close()
    return record


def _round(executor: Executor, opts: ExecutorOptions, spec: StudySpec, root: Path, jobs: dict[str, Job],
           record: dict[str, Any], record_file: Path) -> None:
    """Run ``jobs`` (one plan) to the end: each as soon as its needs are done, a failure retried once."""
    todo, running, done = dict(jobs), {}, set()
    attempts: dict[str, int] = {}
    while todo or running:
        for name, job in list(todo.items()):
            if len(running) >= opts.max_parallel:
                break
            if all(n in done or n not in jobs for n in job.needs):
                log = _log_path(root, spec, job)
                attempts[name] = attempts.get(name, 0) + 1
                running[name] = (executor.submit(job, log), time.perf_counter())
                del todo[name]
                record["jobs"][name] = {"state": "running", "attempts": attempts[name], "log": str(log)}
                console.print(f"study {spec.name}: started {name}" + (" (retry)" if attempts[name] > 1 else ""))
        for name, (handle, t0) in list(running.items()):
            if not executor.done(handle):
                continue
            del running[name]
            failure = executor.failure(handle)
            entry = record["jobs"][name]
            entry["seconds"] = round(time.perf_counter() - t0, 1)
            if failure is None:
                done.add(name)
                entry["state"] = "done"
                console.print(f"study {spec.name}: {name} done in {entry['seconds']:.0f} s "
                              f"({len(done)} of {len(jobs)} in this round)")
            elif attempts[name] < 2:
                entry["state"] = "failed once"
                entry["failure"] = failure
                console.print(f"study {spec.name}: {name} failed ({failure}); retrying once")
                todo[name] = jobs[name]
            else:
                entry.update(state="failed", failure=failure)
                write_json(record_file, record)
                executor.cancel([h for h, _ in running.values()])
                raise UnitFailed(f"study {spec.name}: {name} failed twice ({failure}); its log: {entry['log']}")
        write_json(record_file, record)
        if running:
            time.sleep(opts.poll)
