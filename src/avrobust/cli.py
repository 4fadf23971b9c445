"""The ``avrobust`` command line: a thin layer over the library (see ``avrobust --help``)."""

from __future__ import annotations

import functools
import inspect
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from avrobust.console import console, output, warn
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


THREAT_OPTIONS: dict[str, tuple[Any, Any]] = {
    "eps_video": (Optional[str], typer.Option(None, help="Video budget in [0,1] units, e.g. 8/255 (default 8/255).")),
    "eps_audio": (Optional[str], typer.Option(None, help="Audio budget in waveform units (default 0.01).")),
    "norm_video": (Optional[str], typer.Option(None, help="linf (default) or l2.")),
    "norm_audio": (Optional[str], typer.Option(None, help="linf (default) or l2.")),
    "step_video": (Optional[str], typer.Option(None, help="Video step size (default: each attack's rule).")),
    "step_audio": (Optional[str], typer.Option(None, help="Audio step size (default: each attack's rule).")),
    "modalities": (str, typer.Option("video,audio", help="Attacked modalities: video, audio or video,audio.")),
}

TRAIN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "batch_size": (int, typer.Option(32, min=1)),
    "lr": (float, typer.Option(3e-3, help="Peak learning rate.")),
    "weight_decay": (float, typer.Option(1e-4)),
    "optimizer": (str, typer.Option("adamw", help="adamw or sgd.")),
    "schedule": (str, typer.Option("cosine", help="Learning-rate schedule: cosine or constant.")),
    "deterministic": (bool, typer.Option(False, help="Deterministic algorithms only (with --seed: repeatable bit "
                                               "for bit).")),
    "checkpoint_every": (int, typer.Option(0, min=0, help="Also checkpoint every N updates within an epoch "
                                           "(0: after each epoch); --resume continues from there exactly.")),
}


def bundle_options(options: dict[str, tuple[Any, Any]], into: str,
                   build: Callable[[dict[str, Any]], Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator giving a command the ``options`` (name -> (type, typer.Option)); the command receives
    them as one argument ``into``, made by ``build`` from their values."""

    def deco(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            kwargs[into] = build({k: kwargs.pop(k) for k in options})
            command(*args, **kwargs)

        sig = inspect.signature(command)
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
                 for k, (kind, opt) in options.items()]
        wrapper.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != into] + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {k: v for k, v in typing.get_type_hints(command).items() if k != into}
        wrapper.__annotations__.update({p.name: p.annotation for p in extra})
        del wrapper.__wrapped__  # typer must read the new signature, not the wrapped one
        return wrapper

    return deco


def _build_threat(opts: dict[str, Any]) -> Any:
    from avrobust.attacks import ThreatModel

    numbers = {k: _number(opts[k], "--" + k.replace("_", "-")) for k in ("eps_video", "eps_audio", "step_video", "step_audio")}
    return ThreatModel.build(opts["modalities"], norm_video=opts["norm_video"], norm_audio=opts["norm_audio"], **numbers)


threat_options = bundle_options(THREAT_OPTIONS, "threat", _build_threat)
train_options = bundle_options(TRAIN_OPTIONS, "train_options", dict)


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
            opts = ", ".join(k if p.default is inspect.Parameter.empty else f"{k}={p.default}"
                             for k, p in params.items() if k != "split")
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


@app.command()
def prepare(
    data: str = typer.Option(..., help="A real dataset spec: kinetics-sounds:root=DIR,annotations=CSV, "
                             "music:root=DIR,annotations=JSON or folder:root=DIR (decoding options: frames, size, "
                             "sample_rate, seconds)."),
    out: Path = typer.Option(..., help="Cache directory (manifest.json and shards); pass it later as cache=OUT."),
    workers: int = typer.Option(1, min=1, help="Decoding threads (FFmpeg decodes without the GIL)."),
    strict: bool = typer.Option(False, help="Stop at the first bad file instead of skipping it."),
) -> None:
    """Decode a real video dataset once into a sharded cache (idempotent, resumable, skips bad files)."""
    from avrobust.data.cache import prepare as prepare_cache
    from avrobust.data.datasets import dataset_items
    from avrobust.data.video import DecodeConfig

    name, items, class_names, missing, decode = dataset_items(data)
    decode.pop("cache", None)
    workers = decode.pop("workers", workers)
    strict = decode.pop("strict", strict)
    if missing:
        warn(f"{len(missing)} annotated clips of {name} are not under root (first: {missing[0]}); they are left out")
    start = time.perf_counter()
    manifest = prepare_cache(items, class_names, out, DecodeConfig(**decode), source=data, workers=workers,
                             strict=strict)
    seconds = time.perf_counter() - start
    c = manifest["counts"]
    per_split = {s: sum(e["split"] == s and e["status"] == "ok" for e in manifest["entries"]) for s in ("train", "val", "test")}
    output.print(f"{name}: {len(class_names)} classes; clips train {per_split['train']}, val {per_split['val']}, "
                 f"test {per_split['test']}; {c['decoded']} decoded, {c['kept']} unchanged, {c['skipped']} skipped, "
                 f"{len(missing)} missing in {seconds:.1f} s "
                 f"({c['decoded'] / max(seconds, 1e-9):.1f} clips/s) -> {out}; train with --data '{data},cache={out}'",
                 soft_wrap=True)


@app.command("train")
@train_options
def train_cmd(
    data: str = typer.Option("synth", help=DATA_HELP),
    model: str = typer.Option(..., help="Zoo model name or alias (see 'avrobust models')."),
    out: Path = typer.Option(..., help="Run directory (checkpoint, summary.json)."),
    epochs: int = typer.Option(12, min=1),
    seed: int = typer.Option(0, help="Seeds initialisation and shuffling."),
    method: str = typer.Option("standard", help="Training method spec, e.g. standard:unimodal_weight=0.5 "
                               "(see 'avrobust methods'; adversarial ones are easier with 'adv-train')."),
    width: Optional[int] = typer.Option(None, min=1, help="Encoder width (default 8)."),
    json: Optional[Path] = typer.Option(None, "--json", help="Also write the run summary here."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    train_options: Any = None,
) -> None:
    """Train a zoo model; checkpoints every epoch, writes OUT/summary.json."""
    from avrobust.jobs import train_model

    summary = train_model(data, model, out, epochs=epochs, seed=seed, method=method, width=width,
                          overwrite=overwrite, resume=resume, json_path=json, **train_options)
    _print_trained(summary, out)


def _print_trained(summary: dict[str, Any], out: Path) -> None:
    m = summary["metrics"]
    output.print(f"[bold]{summary['model']}[/] ({summary['method']}) trained {summary['epochs']} epochs "
                 f"({summary['seconds_per_epoch']:.1f} s/epoch, {summary['forward_passes']:,} forward and "
                 f"{summary['backward_passes']:,} backward clip passes); val accuracy {_fmt(m['clean_accuracy'])} "
                 f"(audio-only {_fmt(m['audio_only_accuracy'])}, visual-only {_fmt(m['visual_only_accuracy'])}) -> {out}")


@app.command("adv-train")
@train_options
@threat_options
def adv_train(
    method: str = typer.Option("avat", help="Method spec: avat (ours), pgd-at, trades, crmt-at, mixup, standard; "
                               "options as avat:rho=0.4,mask_schedule=cosine (see 'avrobust methods')."),
    data: str = typer.Option("synth", help=DATA_HELP),
    model: str = typer.Option(..., help="Zoo model name or alias (see 'avrobust models')."),
    out: Path = typer.Option(..., help="Run directory (checkpoint, summary.json)."),
    epochs: int = typer.Option(12, min=1),
    seed: int = typer.Option(0, help="Seeds initialisation, shuffling, random starts and segment sampling."),
    width: Optional[int] = typer.Option(None, min=1, help="Encoder width (default 8)."),
    json: Optional[Path] = typer.Option(None, "--json", help="Also write the run summary here."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    train_options: Any = None,
    threat: Any = None,
) -> None:
    """Adversarial training under explicit budgets; the summary has the cost and per-epoch curriculum values."""
    from avrobust.jobs import train_model

    summary = train_model(data, model, out, epochs=epochs, seed=seed, method=method, threat=threat, width=width,
                          overwrite=overwrite, resume=resume, json_path=json, **train_options)
    _print_trained(summary, out)


@app.command()
@threat_options
def ablate(
    out: Path = typer.Option(..., help="Directory: runs/, ablation.json, ablation.md, ablation.png."),
    data: str = typer.Option("synth:clips_per_class=40", help=DATA_HELP),
    model: str = typer.Option("alexnet-sum-vgg", help="Zoo model name or alias."),
    seeds: list[int] = typer.Option([0, 1, 2], "--seeds", help="Seeds (repeat the flag or list them: --seeds 0 1 2)."),
    epochs: int = typer.Option(8, min=1),
    steps: int = typer.Option(5, min=1, help="Attack steps of every configuration (the curriculum ramps up to it)."),
    n: int = typer.Option(200, "--n", min=1, help="Test clips evaluated."),
    attack: str = typer.Option("fgsm,pgd,apgd-ce,tma", help="Attacks of the evaluation (worst case over them)."),
    eval_steps: int = typer.Option(10, min=1, help="Steps of the evaluation attacks."),
    variants: str = typer.Option("", help="Comma-separated subset: pgd-at, sampling, curriculum, both, rho=0.125, "
                                 "rho=0.4, sched=constant, sched=cosine, sched=step, part=steps, part=mask, "
                                 "part=dropout (default: all)."),
    batch_size: int = typer.Option(32, min=1),
    resume: bool = typer.Option(False, help="Keep finished runs in --out and do the rest."),
    overwrite: bool = typer.Option(False, help="Replace an ablation already in --out."),
    threat: Any = None,
) -> None:
    """Defence ablation in one command: PGD-AT vs sampling vs curriculum vs both, rho, schedulers, seeds."""
    from avrobust.ablation import render_markdown, run_ablation

    result = run_ablation(out, data=data, model=model, seeds=seeds, epochs=epochs, steps=steps, n=n,
                          attacks=[a for a in attack.split(",") if a], eval_steps=eval_steps,
                          variants=[v for v in variants.split(",") if v] or None, threat=threat, resume=resume,
                          overwrite=overwrite, batch_size=batch_size)
    output.print(render_markdown(result), markup=False, highlight=False, soft_wrap=True)
    output.print(f"-> {out / 'ablation.json'}, {out / 'ablation.md'}, {out / 'ablation.png'}")


@app.command()
def methods() -> None:
    """List the training methods (use --method NAME or NAME:key=value,...)."""
    from avrobust.defenses import METHODS

    table = Table(title="training methods ('train' or 'adv-train' --method NAME:key=value,...)")
    for col in ("name", "aliases", "adversarial", "options (default)", "description"):
        table.add_column(col, no_wrap=col == "name")
    for name in METHODS:
        factory = METHODS.get(name)
        params = inspect.signature(factory.__init__).parameters
        opts = ", ".join(f"{k}={p.default}" for k, p in params.items()
                         if k not in ("self", "threat") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        doc = (factory.__doc__ or "").strip().splitlines()[0]
        table.add_row(name, ", ".join(METHODS.aliases_of(name)), "yes" if factory.adversarial else "no", opts, doc)
    output.print(table)


@app.command("train-zoo")
def train_zoo_cmd(
    data: str = typer.Option("synth", help=DATA_HELP),
    out: Path = typer.Option(..., help="Zoo directory: one run directory per model plus zoo.json."),
    models: str = typer.Option("*", help="Wildcard on zoo names or aliases (default: all 8)."),
    epochs: int = typer.Option(12, min=1),
    seed: int = typer.Option(0, help="Base seed: the i-th model trains with seed + i."),
    width: Optional[int] = typer.Option(None, min=1, help="Encoder width (default 8)."),
    overwrite: bool = typer.Option(False, help="Replace runs already in --out."),
    resume: bool = typer.Option(False, help="Keep finished models, continue interrupted ones."),
) -> None:
    """Train the model zoo for transfer studies (all 8 models on synth: about 8 min on 2 CPU cores)."""
    from avrobust.jobs import train_zoo

    zoo = train_zoo(data, out, pattern=models, epochs=epochs, seed=seed, width=width,
                    overwrite=overwrite, resume=resume)
    table = Table(title=f"zoo in {out} ({zoo['train_seconds']:.0f} s of training)")
    for col in ("model", "alias", "seed", "val acc", "audio", "visual", "train s"):
        table.add_column(col, no_wrap=col == "model")
    for e in zoo["models"]:
        v = e["val"]
        table.add_row(e["model"], e["alias"], str(e["seed"]), _fmt(v["clean_accuracy"]),
                      _fmt(v["audio_only_accuracy"]), _fmt(v["visual_only_accuracy"]), f"{e['train_seconds']:.0f}")
    output.print(table)


def _refuse_existing(paths: list[Path], overwrite: bool) -> None:
    """Nothing the user has is replaced by surprise."""
    from avrobust.errors import ConfigError

    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"{', '.join(existing)} already exist; pass --overwrite to replace them or choose another path")


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
@threat_options
def evaluate(
    checkpoint: Path = typer.Option(..., help="Run directory written by 'avrobust train'."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help="train, val or test."),
    batch_size: int = typer.Option(128, min=1),
    attack: list[str] = typer.Option([], "--attack", help="Attacks: 'fgsm,pgd' or a spec 'pgd:steps=50,restarts=3' "
                                     "(repeat the flag for several specs; see 'avrobust attacks')."),
    steps: Optional[int] = typer.Option(None, help="Iterations for every iterative attack (default: each attack's)."),
    restarts: Optional[int] = typer.Option(None, help="Restarts for attacks that take them."),
    seed: int = typer.Option(0, help="Seeds the attacks' random starts."),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help="Evaluate the first N clips only (under torchrun write --limit: torchrun takes --n as its own)."),
    deterministic: bool = typer.Option(False, help="Deterministic algorithms only."),
    suite: Optional[str] = typer.Option(None, help="'defence': FGSM, PGD-10, PGD-50 x3 restarts, APGD-CE/DLR, MI-FGSM, "
                                        "TIA, MMA, TMA on the model itself, plus gradient-masking checks."),
    surrogate: Optional[Path] = typer.Option(None, help="Run directory of an undefended model: TMA crafted on it "
                                             "is transferred and enters the worst case."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here (progress is saved "
                                        "beside it after every batch; rerun the command to continue)."),
    threat: Any = None,
) -> None:
    """Evaluate a checkpoint: clean, audio-only, visual-only and robust accuracy under attacks."""
    from avrobust.checkpoint import write_json
    from avrobust.evaluation import evaluate_checkpoint
    from avrobust.seeding import use_deterministic

    if deterministic:
        use_deterministic()
    result = evaluate_checkpoint(checkpoint, data, split, batch_size, attacks=attack, threat=threat, steps=steps,
                                 restarts=restarts, seed=seed, limit=n, show_progress=True, suite=suite,
                                 surrogate=surrogate, progress_file=json.with_suffix(".partial.json") if json else None)
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
    for col in ("attack", "attacked", "eps v", "eps a", "norm v/a", "steps", "robust", "ASR", "PSNR dB", "SSIM",
                "SNR dB", "segSNR dB"):
        table.add_column(col, justify="left" if col in ("attack", "attacked", "norm v/a") else "right",
                         no_wrap=col == "attacked")
    for label, r in result["attacks"].items():
        b = r["budget"]
        table.add_row(label, "+".join(m[0] for m in r["modalities"]), f"{b['video']['eps']:.3g}",
                      f"{b['audio']['eps']:.3g}", f"{b['video']['norm']}/{b['audio']['norm']}", str(r["steps"]), _fmt(r["robust_accuracy"]),
                      _fmt(r["attack_success_rate"]), *(("-" if r.get(k) is None else f"{r[k]:{f}}") for k, f in (
                          ("psnr_db", ".1f"), ("ssim", ".3f"), ("snr_db", ".1f"), ("segmental_snr_db", ".1f"))))
    return table


TRANSFER_ATTACKS = "fgsm,ifgsm,mifgsm,nifgsm,mig,pam,tia,mma,tma"


@app.command()
@threat_options
def transfer(
    surrogates: list[Path] = typer.Option(..., "--surrogates", "--surrogate",
                                          help="Run directory or zoo directory (all its runs); repeat the flag for more."),
    victims: list[Path] = typer.Option([], "--victims", "--victim", help="Like --surrogates (default: the surrogates)."),
    attack: list[str] = typer.Option([TRANSFER_ATTACKS], "--attack", help="Attacks: names 'a,b' or one spec per flag."),
    json: Path = typer.Option(Path("transfer.json"), "--json",
                              help="Results; the Markdown table and heatmap go beside it (.md, .png)."),
    ensemble: bool = typer.Option(False, help="Attack the surrogates as one ensemble (averaged logits)."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the first surrogate's."),
    split: str = typer.Option("test", help="train, val or test."),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help="Use the first N clips only (--limit under torchrun)."),
    steps: Optional[int] = typer.Option(10, help="Iterations for every iterative attack."),
    seed: int = typer.Option(0, help="Seeds the attacks' randomness."),
    batch_size: int = typer.Option(64, min=1),
    overwrite: bool = typer.Option(False, help="Replace existing result files."),
    deterministic: bool = typer.Option(False, help="Deterministic algorithms only."),
    threat: Any = None,
) -> None:
    """Transfer matrix: craft every attack on every surrogate, test on every victim (ASR, robust accuracy)."""
    import torch

    from avrobust.attacks import build_attacks
    from avrobust.data import load_dataset
    from avrobust.evaluation.transfer import load_members, transfer_matrix, write_outputs
    from avrobust.seeding import use_deterministic

    if deterministic:
        use_deterministic()

    outputs = [json, json.with_suffix(".md"), json.with_suffix(".png")]
    _refuse_existing(outputs, overwrite)
    attack_list = build_attacks(attack, threat, steps=steps, seed=seed)
    sur = load_members(surrogates, ensemble=ensemble)
    vic = load_members(victims or surrogates)
    dataset = load_dataset(data or sur[0].meta.get("data_spec", "synth"), split)
    indices = None if n is None else torch.arange(min(n, len(dataset)))
    result = transfer_matrix(sur, vic, dataset, attack_list, indices=indices, batch_size=batch_size, show_progress=True)
    paths = write_outputs(result, json)
    table = Table(title=f"transfer on {result['data']} ({result['n']} clips, {len(sur)} surrogates x {len(vic)} victims)")
    for col in ("attack", "black-box ASR", "std", "pairs", "white-box ASR"):
        table.add_column(col, justify="left" if col == "attack" else "right")
    for name, row in result["summary"].items():
        table.add_row(name, *(("-" if row[k] is None else _fmt(row[k])) for k in ("black_box_asr", "black_box_asr_std")),
                      str(row["black_box_pairs"]), "-" if row["white_box_asr"] is None else _fmt(row["white_box_asr"]))
    output.print(table)
    console.print("results -> " + ", ".join(str(p) for p in paths))


@app.command()
@threat_options
def analyze(
    kind: str = typer.Argument(..., help="masking (a), modality (b), temporal-masking (c), alignment (d), "
                               "iterations (e) or eps (f)."),
    model: Path = typer.Option(..., "--model", help="Surrogate run directory (attacked white-box)."),
    victims: list[Path] = typer.Option([], "--victims", "--victim",
                                       help="Black-box victims: run or zoo directories (repeat the flag)."),
    out: Path = typer.Option(Path("analysis"), help="Directory for KIND.json and KIND.png."),
    values: Optional[str] = typer.Option(None, help="The swept list, comma-separated: ratios (a, c), "
                                         "steps (e) or budget scales (f)."),
    attack: list[str] = typer.Option([], "--attack", help="Attacks for b, d, e, f (default: the paper's set)."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the model's."),
    split: str = typer.Option("test", help="train, val or test."),
    n: Optional[int] = typer.Option(200, "--n", help="Use the first N clips."),
    steps: int = typer.Option(10, min=1, help="Iterations (all but e)."),
    seed: int = typer.Option(0, help="Seeds attacks and masks."),
    batch_size: int = typer.Option(64, min=1),
    overwrite: bool = typer.Option(False, help="Replace existing result files."),
    threat: Any = None,
) -> None:
    """Section 3 analyses of the paper: one JSON and one plot each (white box, and black box with --victims)."""
    import torch

    from avrobust.analysis import ANALYSES, Study, run_analysis
    from avrobust.data import load_dataset
    from avrobust.errors import ConfigError
    from avrobust.evaluation.transfer import load_members

    name = ANALYSES.canonical(kind)
    _refuse_existing([out / f"{name}.json", out / f"{name}.png"], overwrite)
    try:
        swept = [float(v) for v in values.split(",") if v.strip()] if values else None
    except ValueError:
        raise ConfigError(f"--values must be comma-separated numbers, got {values!r}") from None
    surrogate = load_members([model])
    if len(surrogate) != 1:
        raise ConfigError(f"--model takes one run directory; {model} holds {len(surrogate)} (use --victims for the rest)")
    sources = set(surrogate[0].sources)
    vic = [v for v in load_members(victims) if not set(v.sources) & sources] if victims else []
    dataset = load_dataset(data or surrogate[0].meta.get("data_spec", "synth"), split)
    indices = None if n is None else torch.arange(min(n, len(dataset)))
    study = Study(surrogate[0], vic, dataset, indices, threat, steps, seed, batch_size, show_progress=True)
    result = run_analysis(name, study, out, values=swept, attacks=attack or None)
    output.print(f"{name}: {len(vic)} victims, {study.n} clips, {result['seconds']:.0f} s -> "
                 f"{out / (name + '.json')}, {out / (name + '.png')}")


@app.command()
@threat_options
def export(
    checkpoint: Path = typer.Option(..., help="Run directory of the attacked model."),
    attack: str = typer.Option("pgd", "--attack", help="One attack name or spec, e.g. tma:lambda1=2."),
    n: int = typer.Option(4, "--n", min=1, help="Export the first N clips."),
    out: Path = typer.Option(Path("examples"), help="Directory for the MP4, WAV and PNG files and index.json."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the model's."),
    split: str = typer.Option("test", help="train, val or test."),
    steps: Optional[int] = typer.Option(None, help="Iterations (default: the attack's)."),
    seed: int = typer.Option(0, help="Seeds the attack."),
    amplify: float = typer.Option(10.0, help="Gain of the perturbation panel."),
    overwrite: bool = typer.Option(False, help="Replace examples already in --out."),
    threat: Any = None,
) -> None:
    """Adversarial examples to watch and hear: MP4 (clean | adversarial | perturbation, adversarial sound), WAVs, spectrograms."""
    from avrobust.export import export_examples

    index = export_examples(checkpoint, out, attack=attack, data=data, split=split, n=n, threat=threat, steps=steps,
                            seed=seed, amplify=amplify, overwrite=overwrite)
    fooled = sum(c["adversarial_prediction"] != c["label"] for c in index["clips"])
    output.print(f"{len(index['clips'])} clips ({fooled} misclassified after the attack) -> {out}/index.json")


@app.command()
def report(
    paths: list[Path] = typer.Argument(..., help="Result JSON files or directories holding them (run dirs, demo, analyses)."),
    out: Path = typer.Option(Path("report"), help="Directory for report.html, report.md and figures/."),
    title: str = typer.Option("avrobust report", help="The report's title."),
    overwrite: bool = typer.Option(False, help="Replace a report already in --out."),
) -> None:
    """A readable report (self-contained HTML and Markdown with plots) from evaluate, transfer, analyze and train results."""
    from avrobust.report import build_report

    result = build_report(paths, out, title=title, overwrite=overwrite)
    output.print(f"{len(result['sections'])} sections, {len(result['figures'])} figures -> {result['report']}, "
                 f"{result['markdown']}")


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


MULTI_VALUE = {"transfer": ("--surrogates", "--surrogate", "--victims", "--victim"), "ablate": ("--seeds",)}


def expand_multi_values(argv: list[str]) -> list[str]:
    """Let ``transfer --surrogates A B C`` (and a shell glob) mean ``--surrogates A --surrogates B ...``.

    Only for commands without positional arguments, where a bare token after such a flag can mean
    nothing else.
    """
    flags = MULTI_VALUE.get(argv[0], ()) if argv else ()
    out: list[str] = []
    current: str | None = None
    for token in argv:
        if token in flags:
            current = token
            out.append(token)
        elif current and out[-1] != current and not token.startswith("-"):
            out += [current, token]
        else:
            if token.startswith("-"):
                current = None
            out.append(token)
    return out


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit status 2."""
    from avrobust.distributed import setup, teardown

    try:
        setup()  # joins the process group when started by torchrun (a no-op otherwise)
        app(args=expand_multi_values(sys.argv[1:]))
    except AvrobustError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; the last completed checkpoint is kept")
        sys.exit(130)
    finally:
        teardown()


if __name__ == "__main__":
    main()
