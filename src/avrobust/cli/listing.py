"""Commands that list, build data, report and demo: models, datasets, attacks, corruptions, certifiers, methods,
analyses, data,
prepare, report, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from avrobust.cli import help as texts
from avrobust.cli.app import app, show
from avrobust.cli.option_groups import DATA_HELP, compute_options
from avrobust.console import console, output


@app.command()
def models(pattern: str = typer.Argument("all", help="Wildcard on names or aliases, e.g. 'resnet-*' or 'P*', or a "
                                         "group: all, paper (the paper's 8, what '*' means), attention, standard, "
                                         "pretrained; " + texts.MODEL)) -> None:
    """List the model zoo (every model by default): parts, parameters and the data each needs."""
    from avrobust.jobs.catalog import zoo_catalog

    table = zoo_catalog(pattern)
    show(table) if table.rows else output.print(f"no model matches {pattern!r}; 'avrobust models' lists them all, "
                                                "or name a group: paper, attention, standard, pretrained")


@app.command()
def datasets() -> None:
    """List the datasets and their spec options."""
    from avrobust.jobs.catalog import dataset_catalog

    show(dataset_catalog())


@app.command()
def attacks() -> None:
    """List the registered attacks."""
    from avrobust.jobs.catalog import attack_catalog

    show(attack_catalog())


@app.command()
def corruptions() -> None:
    """List the natural corruptions and failing modalities, with each stream's effect per severity."""
    from avrobust.jobs.catalog import corruption_catalog

    show(corruption_catalog())


@app.command()
def certifiers() -> None:
    """List the certifiers and their options."""
    from avrobust.jobs.catalog import certifier_catalog

    show(certifier_catalog())


@app.command()
def methods() -> None:
    """List the training methods (use --method NAME or NAME:key=value,...)."""
    from avrobust.jobs.catalog import method_catalog

    show(method_catalog())


@app.command()
def analyses() -> None:
    """List the Section 3 analyses ('avrobust analyze NAME')."""
    from avrobust.jobs.catalog import analysis_catalog

    show(analysis_catalog())


@app.command()
def data(spec: str = typer.Argument(..., help=DATA_HELP),
         out: Path = typer.Option(..., help="Directory for train/val/test .safetensors files."),
         overwrite: bool = typer.Option(False, help="Replace existing split files.")) -> None:
    """Build a dataset and save its splits (load them later with the spec saved:root=OUT)."""
    from avrobust.jobs import save_splits

    for split, n in save_splits(spec, out, overwrite=overwrite).items():
        console.print(f"{split}: {n} clips -> {out / (split + '.safetensors')}")


@app.command()
def prepare(
    data: str = typer.Option(..., help=texts.PREPARE),
    out: Path = typer.Option(..., help="Cache directory (manifest.json and shards); pass it later as cache=OUT."),
    workers: int = typer.Option(1, min=1, help="Decoding threads (FFmpeg decodes without the GIL)."),
    strict: bool = typer.Option(False, help="Stop at the first bad file instead of skipping it."),
) -> None:
    """Decode a real video dataset once into a sharded cache (idempotent, resumable, skips bad files)."""
    from avrobust.jobs import prepare as prepare_job

    m = prepare_job(data, out, workers=workers, strict=strict)
    c, s = m["counts"], m["per_split"]
    output.print(f"{m['name']}: {m['classes']} classes; clips train {s['train']}, val {s['val']}, test {s['test']}; "
                 f"{c['decoded']} decoded, {c['kept']} unchanged, {c['skipped']} skipped, {m['missing']} missing in "
                 f"{m['seconds']:.1f} s ({c['decoded'] / max(m['seconds'], 1e-9):.1f} clips/s) -> {out}; train with "
                 f"--data '{data},cache={out}'", soft_wrap=True)


@app.command()
@compute_options
def report(
    paths: list[Path] = typer.Argument(..., help=texts.REPORT_PATHS),
    out: Path = typer.Option(Path("report"), help="Directory for report.html, report.md, figures/ and tables/ "
                             "(every table as CSV and LaTeX)."),
    title: str = typer.Option("avrobust report", help="The report's title."),
    overwrite: bool = typer.Option(False, help="Replace a report already in --out."),
    examples: int = typer.Option(2, min=0, help="Adversarial examples (picture and audio) per evaluated model "
                                 "whose checkpoint and data are still there; 0: none."),
    compute: Any = None,
) -> None:
    """A readable report (self-contained HTML and Markdown: summary first, plots, examples to see and hear,
    tables as CSV and LaTeX) from evaluate, transfer, analyze, train and ablate results."""
    from avrobust.report import build_report

    result = build_report(paths, out, title=title, overwrite=overwrite, examples=examples, precision=compute.precision)
    output.print(f"{len(result['sections'])} sections, {len(result['figures'])} figures, {len(result['tables']) // 2} "
                 f"tables -> {result['report']}, {result['markdown']}")


@app.command()
@compute_options
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Directory for the demo's runs and summary."),
    overwrite: bool = typer.Option(False, help="Replace a previous demo in --out."),
    quick: bool = typer.Option(False, help="A tiny dataset and one epoch (a smoke test, not meaningful numbers)."),
    compute: Any = None,
) -> None:
    """End to end on the embedded datasets (synth, digits): train, attack, transfer, compare defences, write a report."""
    from avrobust.jobs import run_demo

    result = run_demo(out, overwrite=overwrite, quick=quick, precision=compute.precision)
    output.print(f"demo finished in {result['seconds']:.0f} s; summary: {out / 'summary.md'}")
