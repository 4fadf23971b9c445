"""Planning a study as jobs and running one job (:mod:`avrobust.studies.executors` hands them out).

:func:`plan` runs the study's own stage code in plan mode (:class:`~avrobust.studies.context.Context`):
nothing is computed, every missing unit and untrained zoo model becomes a :class:`~.context.Job` with the
jobs it waits for. :func:`run_job`, in a process of its own, computes exactly one of them.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from avrobust.errors import ConfigError
from avrobust.studies.context import PENDING, Context, Job, Pending, UnitDone
from avrobust.studies.kinds import STAGES, seeds_of
from avrobust.studies.spec import StageSpec, StudySpec, parse_study


def selected(spec: StudySpec, stages: Sequence[str]) -> list[StageSpec]:
    """The stages to run: all, or ``stages`` and the tuning stages they read, in file order."""
    unknown = sorted(set(stages) - {s.name for s in spec.stages})
    if unknown:
        raise ConfigError(f"{spec.source}: no stage named {', '.join(unknown)}; "
                          f"stages: {', '.join(s.name for s in spec.stages)}")
    needed = set(stages) | {s.options["tuned"] for s in spec.stages if s.name in stages and s.options.get("tuned")}
    return [s for s in spec.stages if not stages or s.name in needed]


REF_KEYS = ("models", "surrogates", "surrogate", "victims", "init")  # stage options that name zoo models


def _enter(ctx: Context, stage: StageSpec) -> None:
    """Start ``stage``: the zoo models it reads that are not trained become the jobs its units wait for."""
    o = stage.options
    refs = [r for key in REF_KEYS for r in ([o[key]] if isinstance(o.get(key), str) else o.get(key) or [])]
    seeds = [int(o["seed"])] if "seed" in o else seeds_of(ctx, o)  # a tuning stage's validation seed
    needs = (ctx.wait_for(zoo, alias, k) for zoo, alias in ctx.refs(refs) for k in seeds)
    ctx.stage_name, ctx.needs = stage.name, tuple(dict.fromkeys(n for n in needs if n))


def _walk(ctx: Context, stages: Sequence[StageSpec], until: str | None = None) -> bool:
    """Run ``stages`` in ``ctx``'s mode (up to and including ``until``); True when every result is there."""
    complete = True
    for stage in stages:
        _enter(ctx, stage)
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

    choose(device)

    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", buffering=1) as f, redirect_stdout(f), redirect_stderr(f):
        if threads:
            torch.set_num_threads(threads)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {job.name} (pid {os.getpid()})")
        try:
            spec = parse_study(study, STAGES)
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
