"""Studies across processes and machines: ``avrobust study FILE --executor local|slurm|ray``.

A study's work is a set of jobs (:class:`~avrobust.studies.context.Job`): train one zoo model, or compute
one unit file (a transfer matrix, an analysis, a card, a defence run). :func:`run_with` plans them
(:func:`plan`: the study's own stage code in plan mode, so a job is exactly a unit the sequential run
computes), submits every job whose needs are met to an executor, at most ``max_parallel`` at a time,
retries a failed job once and then stops with one line naming it and its log, and plans again until
nothing is missing (a stage that reads an earlier stage's result, such as ``tuned``, is planned once
that result exists). The tables are then written by the sequential code reading the units back, so they
are those of ``--executor inline``. Finished units are files: a killed or preempted study, rerun,
computes only what is missing.

Executors (:data:`EXECUTORS`): ``local`` (processes on this machine, a fresh one per job), ``slurm``
(one SLURM job per unit through submitit; ``cluster = "local"`` in ``[executor]`` runs the same path on
submitit's local executor) and ``ray`` (Ray tasks on ``address``, or on a local Ray started for the study).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from avrobust.console import console
from avrobust.errors import AvrobustError, ConfigError
from avrobust.io import write_json
from avrobust.registry import Registry
from avrobust.studies.context import PENDING, Context, Job, Pending, UnitDone
from avrobust.studies.kinds import STAGES
from avrobust.studies.spec import StudySpec


class UnitFailed(AvrobustError):
    """A job of a study failed twice."""


@dataclass(frozen=True)
class ExecutorOptions:
    """The ``[executor]`` table of a study file (CLI flags override it).

    ``max_parallel``: jobs running at once; ``cpus_per_unit``, ``gpus_per_unit``, ``mem_gb``: what each job
    asks for; ``time_limit``: minutes per job (SLURM); ``partition`` (SLURM); ``cluster``: submitit's
    cluster (None: SLURM, refused where ``sbatch`` is missing; ``"local"``: submitit's local executor);
    ``address``: a Ray cluster (None: a local one); ``poll``: seconds between looks at running jobs.
    """

    kind: str = "inline"
    max_parallel: int = 1
    cpus_per_unit: int | None = None
    gpus_per_unit: int = 0
    mem_gb: float | None = None
    time_limit: int = 240
    partition: str | None = None
    cluster: str | None = None
    address: str | None = None
    poll: float = 1.0

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> ExecutorOptions:
        valid = set(cls.__dataclass_fields__)
        unknown = sorted(set(table) - valid)
        if unknown:
            raise ConfigError(f"{where} [executor]: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        opts = cls(**table)
        if opts.kind not in ("inline", *EXECUTORS.names()):
            raise ConfigError(f"{where} [executor]: unknown kind {opts.kind!r}; valid: inline, {', '.join(EXECUTORS.names())}")
        if opts.max_parallel < 1:
            raise ConfigError(f"{where} [executor]: max_parallel must be >= 1, got {opts.max_parallel}")
        return opts


# --- planning and running one job --------------------------------------------------------------------
def selected(spec: StudySpec, stages: Sequence[str]) -> list[Any]:
    """The stages to run: all, or ``stages`` and the tuning stages they read, in file order."""
    unknown = sorted(set(stages) - {s.name for s in spec.stages})
    if unknown:
        raise ConfigError(f"{spec.source}: no stage named {', '.join(unknown)}; "
                          f"stages: {', '.join(s.name for s in spec.stages)}")
    needed = set(stages) | {s.options["tuned"] for s in spec.stages if s.name in stages and s.options.get("tuned")}
    return [s for s in spec.stages if not stages or s.name in needed]


def _walk(ctx: Context, stages: Sequence[Any], until: str | None = None) -> bool:
    """Run ``stages`` in ``ctx``'s mode (up to and including ``until``); True when every result is there."""
    complete = True
    for stage in stages:
        ctx.enter(stage)
        try:
            ctx.results[stage.name] = STAGES.create(stage.kind).run(ctx, stage)
        except Pending:
            ctx.results[stage.name], complete = PENDING, False
        if stage.name == until:
            break
    return complete


def plan(spec: StudySpec, root: Path, stages: Sequence[str] = (), train: bool = True) -> tuple[dict[str, Job], bool]:
    """The jobs missing from the study under ``root`` (nothing is computed) and whether it is complete."""
    ctx = Context(spec, root, train=train, mode="plan")
    complete = _walk(ctx, selected(spec, stages))
    return ctx.jobs, complete and not ctx.jobs


def run_job(study: str, root: str, job: Job, log: str, threads: int | None = None, device: str | None = None) -> None:
    """Do ``job`` of the study file ``study`` under ``root``, its output appended to ``log`` (what an
    executor runs, in a process of its own); ``device``: the submitting process's ``--device``."""
    import torch

    from avrobust.device import choose
    from avrobust.studies import load_study

    choose(device)

    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", buffering=1) as f, redirect_stdout(f), redirect_stderr(f):
        if threads:
            torch.set_num_threads(threads)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {job.name} (pid {os.getpid()})")
        try:
            spec = load_study(study)
            if job.kind == "train":
                ctx = Context(spec, Path(root))
                ctx.run_dir(ctx.zoo(job.zoo), job.alias, job.seed)
            else:
                ctx = Context(spec, Path(root), train=False, mode="job", target=Path(job.path))
                try:
                    _walk(ctx, spec.stages, until=job.stage)
                except UnitDone:
                    pass
                if not Path(job.path).exists():
                    raise RuntimeError(f"stage {job.stage} did not compute {job.path} (its inputs are missing)")
        except BaseException:
            traceback.print_exc(file=f)
            raise
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done")


# --- executors ----------------------------------------------------------------------------------------
class Executor:
    """Runs :func:`run_job` calls: :meth:`submit` returns a handle, :meth:`failure` of a finished handle is
    None or one line, :meth:`done` says whether it finished."""

    def __init__(self, opts: ExecutorOptions, spec: StudySpec, root: Path) -> None:
        self.opts, self.spec, self.root = opts, spec, root

    def submit(self, job: Job, log: Path) -> Any:
        raise NotImplementedError

    def done(self, handle: Any) -> bool:
        raise NotImplementedError

    def failure(self, handle: Any) -> str | None:
        raise NotImplementedError

    def cancel(self, handles: Sequence[Any]) -> None:
        """Stop running jobs (after a job failed twice)."""

    def close(self) -> None:
        pass

    def args(self, job: Job, log: Path, threads: int | None) -> tuple[Any, ...]:
        from avrobust.device import chosen

        return str(self.spec.source.resolve()), str(self.root.resolve()), job, str(log.resolve()), threads, chosen()


EXECUTORS: Registry[type[Executor]] = Registry("executor")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".strip()


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """Processes on this machine, a fresh one per job (nothing one job loaded stays for the next), the
    cores shared between ``max_parallel`` of them."""

    def __init__(self, opts: ExecutorOptions, spec: StudySpec, root: Path) -> None:
        super().__init__(opts, spec, root)
        self.pool = ProcessPoolExecutor(opts.max_parallel, mp_context=get_context("spawn"), max_tasks_per_child=1)
        self.threads = opts.cpus_per_unit or max(1, (os.cpu_count() or 1) // opts.max_parallel)

    def submit(self, job: Job, log: Path) -> Future:
        return self.pool.submit(run_job, *self.args(job, log, self.threads))

    def done(self, handle: Future) -> bool:
        return handle.done()

    def failure(self, handle: Future) -> str | None:
        exc = handle.exception()
        return None if exc is None else _one_line(exc)

    def cancel(self, handles: Sequence[Future]) -> None:
        for h in handles:
            h.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


@EXECUTORS.register("slurm")
class SlurmExecutor(Executor):
    """One SLURM job per unit through submitit (``pip install 'avrobust[slurm]'``); submitit's own logs
    are under ``ROOT/NAME/slurm``."""

    def __init__(self, opts: ExecutorOptions, spec: StudySpec, root: Path) -> None:
        super().__init__(opts, spec, root)
        try:
            import submitit
        except ImportError:
            raise ConfigError("--executor slurm needs submitit: pip install 'avrobust[slurm]'") from None
        if opts.cluster is None and shutil.which("sbatch") is None:
            raise ConfigError("--executor slurm: no SLURM here (sbatch is not on PATH); run the study on the cluster's "
                              "login node, or set cluster = \"local\" under [executor] to try it on submitit's local "
                              "executor")
        self.ex = submitit.AutoExecutor(folder=str(root / spec.name / "slurm" / "%j"), cluster=opts.cluster)
        params: dict[str, Any] = {"timeout_min": opts.time_limit, "name": f"avrobust-{spec.name}"}
        if opts.gpus_per_unit:
            params["gpus_per_node"] = opts.gpus_per_unit
        if opts.cpus_per_unit:
            params["cpus_per_task"] = opts.cpus_per_unit
        if opts.mem_gb:
            params["mem_gb"] = opts.mem_gb
        if opts.partition:
            params["slurm_partition"] = opts.partition
        self.ex.update_parameters(**params)

    def submit(self, job: Job, log: Path) -> Any:
        return self.ex.submit(run_job, *self.args(job, log, self.opts.cpus_per_unit))

    def done(self, handle: Any) -> bool:
        return handle.done()

    def failure(self, handle: Any) -> str | None:
        exc = handle.exception()
        if exc is None:
            return None
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        return lines[-1].strip() if lines else type(exc).__name__

    def cancel(self, handles: Sequence[Any]) -> None:
        for h in handles:
            h.cancel(check=False)


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Ray tasks (``pip install 'avrobust[ray]'``) on the cluster at ``address``, else on a Ray started here
    for the study; each task asks for ``cpus_per_unit`` and ``gpus_per_unit``."""

    def __init__(self, opts: ExecutorOptions, spec: StudySpec, root: Path) -> None:
        super().__init__(opts, spec, root)
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'avrobust[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(address=opts.address, include_dashboard=False, log_to_driver=False,
                     **({} if opts.address else {"num_cpus": os.cpu_count()}))
        cpus = opts.cpus_per_unit or max(1, (os.cpu_count() or 1) // opts.max_parallel)
        self.task = ray.remote(num_cpus=cpus, num_gpus=opts.gpus_per_unit, max_retries=0)(run_job)
        self.threads = cpus

    def submit(self, job: Job, log: Path) -> Any:
        return self.task.remote(*self.args(job, log, self.threads))

    def done(self, handle: Any) -> bool:
        ready, _ = self.ray.wait([handle], timeout=0)
        return bool(ready)

    def failure(self, handle: Any) -> str | None:
        try:
            self.ray.get(handle)
        except Exception as exc:  # RayTaskError wraps the job's exception
            cause = getattr(exc, "cause", None)
            return _one_line(cause) if isinstance(cause, BaseException) else _one_line(exc)
        return None

    def cancel(self, handles: Sequence[Any]) -> None:
        for h in handles:
            self.ray.cancel(h, force=True)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


# --- the scheduler -----------------------------------------------------------------------------------
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


def executor_options(spec: StudySpec, kind: str | None, max_parallel: int | None) -> ExecutorOptions:
    """The study file's ``[executor]`` table with the CLI's ``--executor`` and ``--max-parallel`` over it."""
    opts = ExecutorOptions.from_table(dict(spec.executor), str(spec.source))
    if kind is not None:
        opts = ExecutorOptions.from_table({**dict(spec.executor), "kind": kind}, "--executor")
    return replace(opts, max_parallel=max_parallel) if max_parallel else opts


def read_record(root: Path, spec: StudySpec) -> dict[str, Any]:
    """``ROOT/NAME/jobs.json`` of the last executor run, or an empty record."""
    path = Path(root) / spec.name / "jobs.json"
    return json.loads(path.read_text()) if path.exists() else {"jobs": {}}
