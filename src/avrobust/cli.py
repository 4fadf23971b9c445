"""The ``avrobust`` command line: a thin layer over the library (see ``avrobust --help``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from avrobust.console import console, output
from avrobust.errors import AvrobustError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Adversarial robustness of audio-visual classifiers (ICLR 2025, Zhang et al.).\n\n"
    "Video is [N,T,3,H,W] in [0,1]; audio is a mono waveform [N,L] in [-1,1]; budgets use those units.",
)

DATA_HELP = "Dataset spec NAME or NAME:key=value,... (see 'avrobust datasets')."


def _fmt(x: float) -> str:
    return f"{x:.3f}"


@app.command()
def models(pattern: str = typer.Argument("*", help="Wildcard on names or aliases, e.g. 'resnet-*' or 'R*'.")) -> None:
    """List the model zoo: the paper's 8 visual x fusion x audio configurations."""
    from avrobust.models import ZOO, create_model, list_models

    table = Table(title="avrobust model zoo (parameters for 10 classes, width 8)")
    for col in ("name", "alias", "visual", "fusion", "audio", "parameters"):
        table.add_column(col)
    for name in list_models(pattern):
        parts = ZOO.create(name)
        params = sum(p.numel() for p in create_model(name, 10).parameters())
        table.add_row(name, ", ".join(ZOO.aliases_of(name)), parts["visual"], parts["fusion"], parts["audio"], f"{params:,}")
    output.print(table) if table.row_count else output.print(f"no model matches {pattern!r}")


@app.command()
def datasets() -> None:
    """List the datasets and their spec options."""
    import inspect

    from avrobust.data import DATASETS
    from avrobust.data.synthetic import SynthConfig

    table = Table(title="datasets (spec: NAME:key=value,...)")
    table.add_column("name")
    table.add_column("options (default)")
    for name in DATASETS:
        if name == "synth":
            opts = ", ".join(f"{k}={v.default}" for k, v in SynthConfig.__dataclass_fields__.items())
        else:
            params = inspect.signature(DATASETS.get(name)).parameters
            opts = ", ".join(p for p in params if p != "split")
        table.add_row(name, opts)
    output.print(table)


@app.command()
def data(
    spec: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., help="Directory for train/val/test .safetensors files."),
    overwrite: bool = typer.Option(False, help="Replace existing split files."),
) -> None:
    """Build a dataset and save its splits (load them later with the spec saved:root=OUT)."""
    from avrobust.data import SPLITS, load_dataset
    from avrobust.errors import ConfigError

    existing = [s for s in SPLITS if (out / f"{s}.safetensors").exists()]
    if existing and not overwrite:
        raise ConfigError(f"{out} already holds {', '.join(existing)} splits; pass --overwrite to replace them")
    for split in SPLITS:
        ds = load_dataset(spec, split)
        path = ds.save(out / f"{split}.safetensors")
        console.print(f"{split}: {len(ds)} clips -> {path}")


@app.command("train")
def train_cmd(
    data: str = typer.Option("synth", help=DATA_HELP),
    model: str = typer.Option(..., help="Zoo model name or alias (see 'avrobust models')."),
    out: Path = typer.Option(..., help="Run directory (checkpoint, summary.json)."),
    epochs: int = typer.Option(12, min=1),
    seed: int = typer.Option(0, help="Seeds initialisation and shuffling."),
    method: str = typer.Option("standard", help="Training method spec, e.g. standard:unimodal_weight=0.5."),
    batch_size: int = typer.Option(32, min=1),
    lr: float = typer.Option(3e-3, help="Peak learning rate (cosine schedule)."),
    weight_decay: float = typer.Option(1e-4),
    optimizer: str = typer.Option("adamw", help="adamw or sgd."),
    schedule: str = typer.Option("cosine", help="cosine or constant."),
    width: Optional[int] = typer.Option(None, min=1, help="Encoder width (default 8)."),
    json: Optional[Path] = typer.Option(None, "--json", help="Also write the run summary here."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
) -> None:
    """Train a zoo model; checkpoints every epoch, writes OUT/summary.json."""
    from avrobust.jobs import train_model

    summary = train_model(data, model, out, epochs=epochs, seed=seed, method=method, width=width,
                          overwrite=overwrite, resume=resume, json_path=json, batch_size=batch_size, lr=lr,
                          weight_decay=weight_decay, optimizer=optimizer, schedule=schedule)
    m = summary["metrics"]
    output.print(f"[bold]{summary['model']}[/] trained {summary['epochs']} epochs "
                  f"({summary['seconds_per_epoch']:.1f} s/epoch); val accuracy {_fmt(m['clean_accuracy'])} "
                  f"(audio-only {_fmt(m['audio_only_accuracy'])}, visual-only {_fmt(m['visual_only_accuracy'])}) -> {out}")


def _number(text: Optional[str], flag: str) -> Optional[float]:
    """Read ``0.03``, ``8/255`` or ``None``."""
    from avrobust.errors import ConfigError

    if text is None:
        return None
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"{flag} must be a number such as 0.01 or 8/255, got {text!r}") from None


@app.command()
def attacks() -> None:
    """List the registered attacks."""
    from avrobust.attacks import ATTACKS, list_attacks

    table = Table(title="attacks (use --attack NAME or NAME:key=value,...)")
    table.add_column("name")
    table.add_column("aliases")
    table.add_column("description")
    for name in list_attacks():
        doc = (ATTACKS.get(name).__doc__ or "").strip().splitlines()[0]
        table.add_row(name, ", ".join(ATTACKS.aliases_of(name)), doc)
    output.print(table)


@app.command()
def evaluate(
    checkpoint: Path = typer.Option(..., help="Run directory written by 'avrobust train'."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help="train, val or test."),
    batch_size: int = typer.Option(128, min=1),
    attack: list[str] = typer.Option([], "--attack", help="Attacks: 'fgsm,pgd' or a spec 'pgd:steps=50,restarts=3' "
                                     "(repeat the flag for several specs; see 'avrobust attacks')."),
    eps_video: Optional[str] = typer.Option(None, help="Video budget in [0,1] units (default 8/255)."),
    eps_audio: Optional[str] = typer.Option(None, help="Audio budget in waveform units (default 0.01)."),
    norm_video: Optional[str] = typer.Option(None, help="linf (default) or l2."),
    norm_audio: Optional[str] = typer.Option(None, help="linf (default) or l2."),
    step_video: Optional[str] = typer.Option(None, help="Video step size (default: each attack's rule)."),
    step_audio: Optional[str] = typer.Option(None, help="Audio step size (default: each attack's rule)."),
    modalities: str = typer.Option("video,audio", help="Attacked modalities: video, audio or video,audio."),
    steps: Optional[int] = typer.Option(None, help="Iterations for every iterative attack (default: each attack's)."),
    restarts: Optional[int] = typer.Option(None, help="Restarts for attacks that take them."),
    seed: int = typer.Option(0, help="Seeds the attacks' random starts."),
    n: Optional[int] = typer.Option(None, "--n", help="Evaluate the first N clips only."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here."),
) -> None:
    """Evaluate a checkpoint: clean, audio-only, visual-only and robust accuracy under attacks."""
    from avrobust.attacks import ThreatModel
    from avrobust.checkpoint import write_json
    from avrobust.evaluation import evaluate_checkpoint

    threat = ThreatModel.build(
        modalities, eps_video=_number(eps_video, "--eps-video"), eps_audio=_number(eps_audio, "--eps-audio"),
        norm_video=norm_video, norm_audio=norm_audio, step_video=_number(step_video, "--step-video"),
        step_audio=_number(step_audio, "--step-audio"))
    result = evaluate_checkpoint(checkpoint, data, split, batch_size, attacks=attack, threat=threat, steps=steps,
                                 restarts=restarts, seed=seed, limit=n, show_progress=True)
    table = Table(title=f"{result['model']} on {result['data']} ({split}, n={result['n']})")
    for col in ("clean accuracy", "audio-only accuracy", "visual-only accuracy"):
        table.add_column(col, justify="right")
    table.add_row(_fmt(result["clean_accuracy"]), _fmt(result["audio_only_accuracy"]), _fmt(result["visual_only_accuracy"]))
    output.print(table)
    if result["attacks"]:
        output.print(attack_table(result))
    if json:
        write_json(json, result)
        console.print(f"results -> {json}")


def attack_table(result: dict) -> Table:
    """The per-attack rows of an evaluation result."""
    table = Table(title=f"attacks (worst-case robust accuracy {_fmt(result['worst_case_robust_accuracy'])})")
    for col in ("attack", "attacked", "eps v", "eps a", "norm v/a", "steps", "robust", "ASR", "PSNR dB", "SNR dB"):
        table.add_column(col, justify="left" if col in ("attack", "attacked", "norm v/a") else "right",
                         no_wrap=col in ("attack", "attacked"))
    for label, r in result["attacks"].items():
        b = r["budget"]
        table.add_row(label, "+".join(m[0] for m in r["modalities"]), f"{b['video']['eps']:.3g}",
                      f"{b['audio']['eps']:.3g}", f"{b['video']['norm']}/{b['audio']['norm']}", str(r["steps"]), _fmt(r["robust_accuracy"]),
                      _fmt(r["attack_success_rate"]), f"{r['psnr_db']:.1f}" if r["psnr_db"] is not None else "-",
                      f"{r['snr_db']:.1f}" if r["snr_db"] is not None else "-")
    return table


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Directory for the demo's runs and summary."),
    overwrite: bool = typer.Option(False, help="Replace a previous demo in --out."),
    quick: bool = typer.Option(False, help="A tiny dataset and one epoch (a smoke test, not meaningful numbers)."),
) -> None:
    """End to end on the embedded synthetic dataset: train a surrogate and a victim, evaluate, summarise."""
    from avrobust.demo import run_demo

    result = run_demo(out, overwrite=overwrite, quick=quick)
    output.print(f"demo finished in {result['seconds']:.0f} s; summary: {out / 'summary.md'}")


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except AvrobustError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; the last completed checkpoint is kept")
        sys.exit(130)


if __name__ == "__main__":
    main()
