"""``avrobust attack``: craft adversarial clips on a run once and save them (``evaluate --adversarial``
scores any model on them); ``avrobust wrap``: your own model, untrained by avrobust, as a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from avrobust.cli import help as texts
from avrobust.cli.app import N_HELP, app
from avrobust.cli.option_groups import DATA_HELP, compute_options, threat_options
from avrobust.console import output


@app.command()
@compute_options
@threat_options
def attack(
    checkpoint: Path = typer.Option(..., help="Run directory of the model the clips are crafted on."),
    save: Path = typer.Option(..., help="Directory for the adversarial set (safetensors shards and manifest.json); "
                              "rerun the same command to finish an interrupted one."),
    attack: list[str] = typer.Option(["pgd"], "--attack", help=texts.ATTACKS_HELP),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help=texts.SPLIT),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help=N_HELP),
    steps: Optional[int] = typer.Option(None, help="Iterations for every iterative attack (default: each attack's)."),
    seed: int = typer.Option(0, help="Seeds the attacks' randomness."),
    batch_size: int = typer.Option(64, min=1, help="Clips per batch (a shard); transfer figures match a matrix run "
                                   "with the same batch size."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Craft adversarial clips once and save them: 'evaluate --adversarial DIR' scores any model (a run or an
    ONNX file) on them without crafting again."""
    from avrobust.jobs.attack_sets import attack_and_save

    m = attack_and_save(checkpoint, save, attacks=attack, data=data, split=split, limit=n, steps=steps, seed=seed,
                        batch_size=batch_size, threat=threat, precision=compute.precision)
    for label, a in m["attacks"].items():
        output.print(f"{label}: white-box ASR {100 * a['white_box_asr']:.1f} %, robust accuracy "
                     f"{100 * a['white_box_robust_accuracy']:.1f} % ({len(a['shards'])} shards, {a['seconds']:.1f} s)",
                     highlight=False)
    output.print(f"{m['n']} clips of {m['data']} ({m['split']}) -> {save / 'manifest.json'}", highlight=False)


@app.command()
def wrap(
    model_file: Optional[str] = typer.Option(None, help="Your model: PATH.py:FACTORY (called with num_classes, "
                                             "sample_rate if it takes them; it may load its own weights)."),
    model: Optional[str] = typer.Option(None, help="Or an importable factory: package.module:FACTORY."),
    wrap: Optional[Path] = typer.Option(None, help="How to wrap it (TOML or YAML; examples/own_model.toml)."),
    data: str = typer.Option(..., help=DATA_HELP + " Its classes and sample rate are the model's."),
    out: Path = typer.Option(..., help="Run directory to write (checkpoint with the factory's weights)."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
) -> None:
    """Your own model, with the weights its factory gives it, as a run directory: evaluate, attack, transfer,
    analyze, export, benchmark and report then take it (later commands rebuild it from the factory)."""
    from avrobust.errors import ConfigError
    from avrobust.jobs.wrap import wrap_model

    if (model is None) == (model_file is None):
        raise ConfigError("give --model-file PATH.py:FACTORY or --model module:FACTORY: exactly one")
    meta = wrap_model(model or model_file, out, data=data, wrap_config=wrap, overwrite=overwrite)  # type: ignore[arg-type]
    output.print(f"{meta['model_name']} from {meta['model_source']['factory']} -> {out} (its own weights; "
                 f"{len(meta['class_names'])} classes of {meta['data_spec']})", highlight=False)
