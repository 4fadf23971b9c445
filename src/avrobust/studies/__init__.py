"""Studies as data: ``benchmarks/studies/*.toml`` files run by ``avrobust study FILE`` (resumable), each
writing its JSON, the Markdown tables RESULTS.md quotes and each table as CSV and LaTeX (through
:mod:`avrobust.report`) (:mod:`.spec` for the file's layout,
:mod:`.stages` for the stage kinds)."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from avrobust.console import console
from avrobust.io import write_json, write_text
from avrobust.report.seed_tables import Block, markdown, write_blocks
from avrobust.studies import card_stages, stages, transfer_stages  # noqa: F401  (each registers its stage kinds)
from avrobust.studies.context import Context
from avrobust.studies.executors import EXECUTORS, executor_options
from avrobust.studies.scheduler import run_with
from avrobust.studies.planning import selected
from avrobust.studies.kinds import STAGES
from avrobust.studies.spec import StudySpec, parse_study
from avrobust.version import __version__


def load_study(path: str | Path) -> StudySpec:
    """Read and check the study file at ``path`` (one :class:`ConfigError` line per problem)."""
    return parse_study(path, STAGES)


def run_study(path: str | Path, root: str | Path = "runs/studies", *, stages: Sequence[str] = (), train: bool = True,
              output: str | Path | None = None, show_progress: bool = False, executor: str | None = None,
              max_parallel: int | None = None) -> dict[str, Any]:
    """Run the study file at ``path`` under ``root`` and write ``OUTPUT.json`` and ``OUTPUT.md``.

    Units already computed under ``root`` are read back, so an interrupted study continues where it
    stopped. ``stages``: run only these (and the ones they read), in file order; ``train=False`` refuses to
    train a zoo model that is missing (tables from what is there). ``executor``: ``inline`` (one process,
    the default), ``local``, ``slurm`` or ``ray`` (:mod:`avrobust.studies.executors`; the study file's
    ``[executor]`` table when None) computes the missing units as jobs first, ``max_parallel`` at a time.
    """
    spec = load_study(path)
    chosen = selected(spec, stages)
    start = time.perf_counter()
    opts = executor_options(spec, executor, max_parallel)
    jobs = run_with(opts, spec, Path(root), stages, train) if opts.kind != "inline" else None
    ctx = Context(spec, Path(root), show_progress=show_progress, train=train)
    sections: dict[str, list[Block]] = {}
    for stage in chosen:
        console.rule(f"study {spec.name}: stage {stage.name} ({stage.kind})")
        kind = STAGES.create(stage.kind)
        t0 = time.perf_counter()
        ctx.results[stage.name] = kind.run(ctx, stage)
        sections[f"{stage.name} ({stage.kind})"] = kind.render(stage, ctx.results[stage.name])
        console.print(f"stage {stage.name}: {time.perf_counter() - t0:.0f} s")
    out = Path(output) if output else spec.output
    record = {"study": spec.name, "output": str(out), "title": spec.title, "file": str(spec.source), "data": spec.data,
              "seeds": list(spec.seeds), "zoos": {n: z.describe() for n, z in spec.zoos.items()},
              "machine": machine(), "avrobust": __version__, "seconds": round(time.perf_counter() - start, 1),
              "stages": ctx.results}
    if jobs is not None:
        record["executor"] = {k: v for k, v in jobs.items() if k != "jobs"} | {"jobs_run": len(jobs["jobs"])}
    write_json(out.with_suffix(".json"), record)
    header = (f"## {spec.title}\n\n`avrobust study {spec.source}` (data `{spec.data}`, seeds "
              f"{', '.join(map(str, spec.seeds))}; {machine()})\n")
    write_text(out.with_suffix(".md"), header + "\n" + "\n".join(f"### {title}\n\n{markdown(blocks)}\n"
                                                                  for title, blocks in sections.items()))
    tables = out.with_name(f"{out.name}-tables")
    write_blocks(sections, tables)
    console.print(f"study {spec.name} -> {out.with_suffix('.json')}, {out.with_suffix('.md')}, {tables}/ (CSV, LaTeX)")
    return record


def machine() -> str:
    """The machine a study ran on, in words."""
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


__all__ = ["EXECUTORS", "STAGES", "Context", "StudySpec", "load_study", "run_study"]
