"""Training commands: train, adv-train, train-zoo, ablate, ablate-merge."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from avrobust.cli import help as texts
from avrobust.cli.app import app, show
from avrobust.cli.option_groups import DATA_HELP, compute_options, run_options, threat_options, train_options
from avrobust.jobs.ablate import DEFAULT_ATTACKS, ablation_configs
from avrobust.console import output


def _train(method: str, threat: Any, run: dict[str, Any], train_options: dict[str, Any], compute: Any) -> None:
    from avrobust.jobs import train_model
    from avrobust.tables import frac

    s = train_model(method=method, threat=threat, precision=compute.precision, **run, **train_options)
    m = s.metrics
    output.print(f"[bold]{s.model}[/] ({s.method}) trained {s.epochs} epochs ({s.seconds_per_epoch:.1f} s/epoch, "
                 f"{s.forward_passes:,} forward and {s.backward_passes:,} backward clip passes); val accuracy "
                 f"{frac(m.get('clean_accuracy'))} (audio-only {frac(m.get('audio_only_accuracy'))}, visual-only "
                 f"{frac(m.get('visual_only_accuracy'))}) -> {run['out']}")


@app.command("train")
@compute_options
@train_options
@run_options
def train_cmd(method: str = typer.Option("standard", help=texts.METHOD + " Adversarial ones are easier with "
                                         "'adv-train'."),
              run: Any = None, train_options: Any = None, compute: Any = None) -> None:
    """Train a zoo model or your own; checkpoints every epoch, writes OUT/summary.json."""
    _train(method, None, run, train_options, compute)


@app.command("adv-train")
@compute_options
@threat_options
@train_options
@run_options
def adv_train(method: str = typer.Option("avat", help=texts.METHOD + " avat is the paper's (ours)."),
              run: Any = None, train_options: Any = None, threat: Any = None, compute: Any = None) -> None:
    """Adversarial training under explicit budgets; the summary has the cost and per-epoch curriculum values."""
    _train(method, threat, run, train_options, compute)


@app.command()
@compute_options
@threat_options
def ablate(
    out: Path = typer.Option(..., help="Directory: runs/, ablation.json, ablation.md, ablation.png."),
    data: str = typer.Option("synth:clips_per_class=40", help=DATA_HELP),
    model: str = typer.Option("alexnet-sum-vgg", help=texts.MODEL),
    seeds: list[int] = typer.Option([0, 1, 2], "--seeds", help="Seeds (repeat the flag or list them: --seeds 0 1 2)."),
    epochs: int = typer.Option(8, min=1),
    steps: int = typer.Option(5, min=1, help="Attack steps of every configuration (the curriculum ramps up to it)."),
    n: int = typer.Option(200, "--n", min=1, help="Test clips evaluated."),
    attack: Optional[str] = typer.Option(None, help=f"Attacks of the evaluation (worst case over them; default "
                                         f"{','.join(DEFAULT_ATTACKS)}, or none beyond --suite); registered: "
                                         f"{texts.ATTACK_NAMES}."),
    suite: Optional[str] = typer.Option(None, help=texts.SUITE),
    eval_steps: int = typer.Option(10, min=1, help="Steps of the evaluation attacks."),
    variants: str = typer.Option("", help=f"Comma-separated subset of the variants: {', '.join(ablation_configs(1))} "
                                 "(default: all)."),
    equal_time: bool = typer.Option(False, help="Also train every variant for PGD-AT's wall-clock time (X@time: "
                                    "epochs scaled by its measured seconds per epoch)."),
    batch_size: int = typer.Option(32, min=1),
    init: Optional[Path] = typer.Option(None, help="Every configuration starts from this run's weights (the same "
                                        "model): adversarial fine-tuning of a trained model."),
    lr: Optional[float] = typer.Option(None, help="Peak learning rate of every configuration (default 3e-3)."),
    backbone_lr: Optional[float] = typer.Option(None, help="Pretrained backbones' learning rate (default: a tenth of --lr; --backbone-lr equal to --lr trains at one rate)."),
    resume: bool = typer.Option(False, help="Keep finished runs in --out and do the rest."),
    overwrite: bool = typer.Option(False, help="Replace an ablation already in --out."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Defence ablation and comparison in one command: PGD-AT vs sampling vs curriculum vs both, rho, schedulers,
    the baselines (TRADES, FGSM-RS, N-FGSM, free-AT), at equal epochs and (--equal-time) equal wall-clock time."""
    from avrobust.jobs import run_ablation
    from avrobust.jobs.ablate import render_markdown

    result = run_ablation(out, data=data, model=model, seeds=seeds, epochs=epochs, steps=steps, n=n,
                          attacks=([a for a in attack.split(",") if a] if attack is not None
                                   else [] if suite else list(DEFAULT_ATTACKS)), eval_steps=eval_steps, suite=suite,
                          variants=[v for v in variants.split(",") if v] or None, threat=threat, resume=resume,
                          overwrite=overwrite, batch_size=batch_size, equal_time=equal_time,
                          precision=compute.precision, init=init,
                          train={k: v for k, v in (("lr", lr), ("backbone_lr", backbone_lr)) if v is not None})
    output.print(render_markdown(result), markup=False, highlight=False, soft_wrap=True)
    output.print(f"-> {out / 'ablation.json'}, {out / 'ablation.md'}, {out / 'ablation.png'}")


@app.command("ablate-merge")
def ablate_merge(
    inputs: list[Path] = typer.Argument(..., help="Ablation directories or ablation.json files, run with the same "
                                        "settings (e.g. seeds run side by side in copies of one directory)."),
    out: Path = typer.Option(..., help="Directory for the merged ablation.json, ablation.md and ablation.png."),
    overwrite: bool = typer.Option(False, help="Replace an ablation already in --out."),
) -> None:
    """Merge ablations into one (every variant and seed once) and redraw its table and plot; trains nothing.
    With one input and --out the same directory, it regenerates that ablation's outputs."""
    from avrobust.jobs.ablate import merge_ablations, render_markdown

    result = merge_ablations(inputs, out, overwrite=overwrite)
    output.print(render_markdown(result), markup=False, highlight=False, soft_wrap=True)
    output.print(f"{len(result.rows)} runs -> {out / 'ablation.json'}, {out / 'ablation.md'}, {out / 'ablation.png'}")


@app.command("train-zoo")
@compute_options
def train_zoo_cmd(
    data: str = typer.Option("synth", help=DATA_HELP),
    out: Path = typer.Option(..., help="Zoo directory: one run directory per model plus zoo.json."),
    models: str = typer.Option("*", help="Wildcard on zoo names or aliases (default '*': the paper's 8); "
                               + texts.MODEL),
    epochs: int = typer.Option(12, min=1),
    seed: int = typer.Option(0, help="Base seed: the i-th model trains with seed + i."),
    width: Optional[int] = typer.Option(None, min=1, help="Encoder width (default 8)."),
    overwrite: bool = typer.Option(False, help="Replace runs already in --out."),
    resume: bool = typer.Option(False, help="Keep finished models, continue interrupted ones."),
    compute: Any = None,
) -> None:
    """Train the model zoo for transfer studies (all 8 models on synth: about 8 min on 2 CPU cores)."""
    from avrobust.jobs import train_zoo
    from avrobust.results.zoo import zoo_table

    zoo = train_zoo(data, out, pattern=models, epochs=epochs, seed=seed, width=width, overwrite=overwrite, resume=resume,
                    precision=compute.precision)
    show(zoo_table(zoo, f"zoo in {out} ({zoo.train_seconds:.0f} s of training)"))
