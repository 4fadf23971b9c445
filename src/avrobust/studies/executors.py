"""Studies across processes and machines: ``avrobust study FILE --executor local|slurm|ray``.

A study's work is a set of jobs (:class:`~avrobust.studies.context.Job`): train one zoo model, or compute
one unit file (a transfer matrix, an analysis, a card, a defence run). :func:`~avrobust.studies.scheduler.run_with` plans them
(:func:`~avrobust.studies.planning.plan`: the study's own stage code in plan mode, so a job is exactly a unit the sequential run
computes), submits every job whose needs are met to an executor, at most ``max_parallel`` at a time,
retries a failed job once and then stops with one line naming it and its log, and plans again until
nothing is missing (a stage that reads an earlier stage's result, such as ``tuned``, is planned once
that result exists). The tables are then written by the sequential code reading the units back, so they
are those of ``--executor inline``. Finished units are files: a killed or preempted study, rerun,
computes only what is missing.

Executors (:data:`EXECUTORS`; the scheduler is :mod:`avrobust.studies.scheduler`, the planning :mod:`avrobust.studies.planning`): ``local`` (processes on this machine, a fresh one per job), ``slurm``
(one SLURM job per unit through submitit; ``cluster = "local"`` in ``[executor]`` runs the same path on
submitit's local executor) and ``ray`` (Ray tasks on ``address``, or on a local Ray started for the study).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from avrobust.errors import ConfigError
from avrobust.registry import Registry
from avrobust.studies.context import Job
from avrobust.studies.planning import run_job
from avrobust.studies.spec import StudySpec


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

    @property
    def threads(self) -> int:
        """Torch threads (and CPUs asked for) per job: ``cpus_per_unit``, else this machine's cores shared
        between ``max_parallel`` jobs."""
        return self.cpus_per_unit or max(1, (os.cpu_count() or 1) // self.max_parallel)


# --- executors ----------------------------------------------------------------------------------------
class Executor:
    """Runs :func:`run_job` calls: :meth:`submit` returns a handle, :meth:`failure` of a finished handle is
    None or one line, :meth:`done` says whether it finished (by default, for handles shaped like
    :class:`concurrent.futures.Future`: ``done()`` and ``exception()``)."""

    def __init__(self, opts: ExecutorOptions, spec: StudySpec, root: Path) -> None:
        self.opts, self.spec, self.root = opts, spec, root

    def submit(self, job: Job, log: Path) -> Any:
        raise NotImplementedError

    def done(self, handle: Any) -> bool:
        return bool(handle.done())

    def failure(self, handle: Any) -> str | None:
        exc = handle.exception()
        return None if exc is None else _one_line(exc)

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

    def submit(self, job: Job, log: Path) -> Future:
        return self.pool.submit(run_job, *self.args(job, log, self.opts.threads))

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
        self.task = ray.remote(num_cpus=opts.threads, num_gpus=opts.gpus_per_unit, max_retries=0)(run_job)

    def submit(self, job: Job, log: Path) -> Any:
        return self.task.remote(*self.args(job, log, self.opts.threads))

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


def executor_options(spec: StudySpec, kind: str | None, max_parallel: int | None) -> ExecutorOptions:
    """The study file's ``[executor]`` table with the CLI's ``--executor`` and ``--max-parallel`` over it."""
    opts = ExecutorOptions.from_table(dict(spec.executor), str(spec.source))
    if kind is not None:
        opts = ExecutorOptions.from_table({**dict(spec.executor), "kind": kind}, "--executor")
    return replace(opts, max_parallel=max_parallel) if max_parallel else opts
