"""Robustness commands: evaluate, benchmark, leaderboard, transfer, analyze, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from avrobust.cli import help as texts
from avrobust.cli.app import N_HELP, app, show
from avrobust.cli.option_groups import DATA_HELP, compute_options, threat_options
from avrobust.console import console, output
from avrobust.errors import ConfigError
from avrobust.jobs.transfer_runs import TRANSFER_ATTACKS


@app.command()
@compute_options
@threat_options
def evaluate(
    checkpoint: Optional[Path] = typer.Option(None, help="Run directory written by 'avrobust train'."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help=texts.SPLIT),
    adversarial: Optional[Path] = typer.Option(None, help="Score the model on this saved adversarial set ('avrobust "
                                               "attack --save') instead of attacking it: transfer rows, no crafting."),
    onnx: Optional[Path] = typer.Option(None, help="With --adversarial: an ONNX model to score instead of a run "
                                        "(needs onnxruntime: pip install 'avrobust[onnx]')."),
    batch_size: int = typer.Option(128, min=1),
    attack: list[str] = typer.Option([], "--attack", help=texts.ATTACKS_HELP),
    steps: Optional[int] = typer.Option(None, help="Iterations for every iterative attack (default: each attack's)."),
    restarts: Optional[int] = typer.Option(None, help="Restarts for attacks that take them."),
    seed: int = typer.Option(0, help="Seeds the attacks' random starts."),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help=N_HELP),
    deterministic: bool = typer.Option(False, help="Deterministic algorithms only."),
    suite: Optional[str] = typer.Option(None, help=texts.SUITE),
    surrogate: Optional[Path] = typer.Option(None, help="Run directory of an undefended model: TMA crafted on it "
                                             "is transferred and enters the worst case."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here (progress is saved "
                                        "beside it after every batch; rerun the command to continue)."),
    sweep: Optional[str] = typer.Option(None, help="Run the attacks again at each value: 'eps=2/255,4/255,8/255' "
                                        "(video eps; audio scaled alike) or 'steps=1,2,5,10'; the report draws the curve."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Evaluate a checkpoint: clean, audio-only, visual-only and robust accuracy under attacks."""
    from avrobust.jobs import evaluate_checkpoint
    from avrobust.seeding import use_deterministic
    from avrobust.results.evaluation import attack_table, clean_table

    if deterministic:
        use_deterministic()
    if adversarial is not None or onnx is not None:
        if attack or suite or sweep or surrogate:
            raise ConfigError("--adversarial scores saved clips: --attack, --suite, --sweep and --surrogate do not "
                              "apply (craft with 'avrobust attack --save')")
        _score_saved(adversarial, checkpoint, onnx, json, compute.precision)
        return
    if checkpoint is None:
        raise ConfigError("give --checkpoint RUN (or --adversarial DIR with --checkpoint or --onnx)")
    result = evaluate_checkpoint(checkpoint, data, split, batch_size, attacks=attack, threat=threat, steps=steps,
                                 restarts=restarts, seed=seed, limit=n, show_progress=True, suite=suite,
                                 surrogate=surrogate, progress_file=json.with_suffix(".partial.json") if json else None,
                                 sweep=sweep, precision=compute.precision)
    show(clean_table({result.model: result}))
    if result.attacks:
        show(attack_table(result.attacks, result.worst_case_robust_accuracy))
    if json:
        result.write(json)
        console.print(f"results -> {json}")


def _score_saved(adversarial: Optional[Path], checkpoint: Optional[Path], onnx: Optional[Path], json: Optional[Path],
                 precision: str) -> None:
    from avrobust.jobs.attack_sets import evaluate_adversarial
    from avrobust.jobs.transfer_runs import outputs
    from avrobust.tables import Table, frac

    if adversarial is None:
        raise ConfigError("--onnx scores a saved adversarial set: add --adversarial DIR")
    result = evaluate_adversarial(adversarial, checkpoint=checkpoint, onnx=onnx, json_path=json, precision=precision)
    rows = [[r.attack, r.surrogate, "white box" if r.white_box else "transfer", frac(r.clean_accuracy),
             frac(r.robust_accuracy), frac(r.attack_success_rate)] for r in result.matrix]
    show(Table(["attack", "crafted on", "kind", "clean accuracy", "robust accuracy", "ASR"], rows,
               f"{next(iter(result.victims))} on the set in {adversarial} ({result.n} clips of {result.data}, "
               f"{result.split})", {3, 4, 5}))
    if json:
        console.print("results -> " + ", ".join(str(p) for p in outputs(json)))


@app.command()
@compute_options
def benchmark(
    checkpoint: Path = typer.Option(..., help="Run directory written by 'avrobust train'."),
    json: Path = typer.Option(Path("benchmark.json"), "--json", help="Where the model card goes (JSON)."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help=texts.SPLIT),
    protocol: str = typer.Option("standard", help=texts.PROTOCOL),
    threat_model: list[str] = typer.Option([], "--threat-model", help=texts.THREAT_MODELS),
    twin: Optional[Path] = typer.Option(None, help="Run directory of an undefended model of the same task: an attack "
                                        "crafted on it is transferred (worst case and flags)."),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help=N_HELP),
    seed: int = typer.Option(0, help="Seeds the attacks' randomness."),
    batch_size: int = typer.Option(64, min=1),
    corruptions: Optional[str] = typer.Option(None, help=texts.CORRUPTIONS_HELP),
    failures: bool = typer.Option(False, "--failures", help=texts.FAILURES),
    certify: list[str] = typer.Option([], "--certify", help=texts.CERTIFY),
    reference: Optional[Path] = typer.Option(None, help="A model card with a corruption section (the reference model): "
                                             "adds each corruption's error relative to it and their mean, mCE."),
    noise_dir: Optional[Path] = typer.Option(None, help=texts.NOISE_DIR),
    overwrite: bool = typer.Option(False, help="Replace an existing model card."),
    compute: Any = None,
) -> None:
    """The robustness card: APGD-CE, APGD-T and Square per threat model with flags; optionally natural corruptions,
    failing modalities and certified accuracy beside them."""
    from avrobust.evaluation.model_card import THREATS
    from avrobust.jobs.cards import benchmark_checkpoint

    threats = () if threat_model == ["none"] else tuple(threat_model or THREATS)
    card = benchmark_checkpoint(checkpoint, json, data=data, split=split, protocol=protocol, threats=threats, limit=n,
                                twin=twin, seed=seed, batch_size=batch_size, precision=compute.precision,
                                overwrite=overwrite, show_progress=True, corruptions=corruptions, failures=failures,
                                certify=certify, reference=reference, noise_dir=noise_dir)
    show_card(card)
    console.print(f"model card -> {json}")


def show_card(card: Any) -> None:
    """Print a model card's tables (threat models, corruptions, failures, certificates) and flags."""
    from avrobust.results.benchmark import card_table
    from avrobust.results.corruption import corruption_table
    from avrobust.tables import Table, frac

    title = f"{card.name()} on {card.data} ({card.n} clips, clean {100 * card.clean_accuracy:.1f} %"
    if card.threats:
        show(card_table(card, f"{title}, protocol {card.protocol}, {card.seconds:.0f} s)"))
        for line in card.flags or ["no flags"]:
            output.print(f"flag: {line}" if card.flags else line, highlight=False)
    for section in (card.corruptions, card.failures):
        if section is not None:
            table = corruption_table(section, "both")
            table.title = f"{title}): {table.title}"
            show(table)
    for c in card.certified:
        show(Table(["radius", "certified accuracy"], [[f"{r:g}", frac(a)] for r, a in zip(c.radii, c.certified_accuracy)],
                   f"{c.certifier} ({c.radius_units}); abstained {frac(c.abstained)}", numeric={0, 1}))


@app.command()
def leaderboard(
    cards: list[Path] = typer.Argument(..., help="Model cards (JSON from 'avrobust benchmark') or directories of them."),
    out: Optional[Path] = typer.Option(None, help="Also write the table as OUT.md, OUT.csv and OUT.tex."),
    overwrite: bool = typer.Option(False, help="Replace existing table files."),
) -> None:
    """Merge model cards into one leaderboard, ranked by robust accuracy on linf-both."""
    from avrobust.jobs.cards import leaderboard as leaderboard_job

    show(leaderboard_job(cards, out, overwrite=overwrite))
    if out is not None:
        console.print(f"leaderboard -> {out.with_suffix('.md')}, .csv, .tex")


@app.command()
@compute_options
@threat_options
def transfer(
    surrogates: list[Path] = typer.Option(..., "--surrogates", "--surrogate",
                                          help="Run directory or zoo directory (all its runs); repeat the flag for more."),
    victims: list[Path] = typer.Option([], "--victims", "--victim", help="Like --surrogates (default: the surrogates)."),
    attack: list[str] = typer.Option([TRANSFER_ATTACKS], "--attack", help=texts.ATTACKS_HELP),
    json: Path = typer.Option(Path("transfer.json"), "--json",
                              help="Results; the Markdown table and heatmap go beside it (.md, .png)."),
    ensemble: bool = typer.Option(False, help="Attack the surrogates as one ensemble (averaged logits)."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the first surrogate's."),
    split: str = typer.Option("test", help=texts.SPLIT),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help=N_HELP),
    steps: Optional[int] = typer.Option(10, help="Iterations for every iterative attack."),
    seed: int = typer.Option(0, help="Seeds the attacks' randomness."),
    batch_size: int = typer.Option(64, min=1),
    overwrite: bool = typer.Option(False, help="Replace existing result files."),
    deterministic: bool = typer.Option(False, help="Deterministic algorithms only."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Transfer matrix: craft every attack on every surrogate, test on every victim (ASR, robust accuracy)."""
    from avrobust.jobs import run_transfer
    from avrobust.jobs.transfer_runs import outputs
    from avrobust.seeding import use_deterministic
    from avrobust.results.transfer import transfer_summary_table

    if deterministic:
        use_deterministic()
    result = run_transfer(surrogates, json, victims=victims, attacks=attack, ensemble=ensemble, data=data, split=split,
                          limit=n, steps=steps, seed=seed, batch_size=batch_size, threat=threat, overwrite=overwrite,
                          precision=compute.precision)
    show(transfer_summary_table(result.summary, f"transfer on {result.data} ({result.n} clips, {len(result.surrogates)} "
                                f"surrogates x {len(result.victims)} victims)"))
    console.print("results -> " + ", ".join(str(p) for p in outputs(json)))


@app.command()
@compute_options
@threat_options
def analyze(
    kind: str = typer.Argument(..., help=texts.ANALYSIS),
    model: Path = typer.Option(..., "--model", help="Surrogate run directory (attacked white-box)."),
    victims: list[Path] = typer.Option([], "--victims", "--victim",
                                       help="Black-box victims: run or zoo directories (repeat the flag)."),
    out: Path = typer.Option(Path("analysis"), help="Directory for KIND.json and KIND.png."),
    values: Optional[str] = typer.Option(None, help=texts.VALUES),
    attack: list[str] = typer.Option([], "--attack", help="Attacks of the analyses that take them (default: the "
                                     "paper's set). " + texts.ATTACKS_HELP),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the model's."),
    split: str = typer.Option("test", help=texts.SPLIT),
    n: Optional[int] = typer.Option(200, "--n", "--limit", help=N_HELP + " [default: 200]"),
    steps: int = typer.Option(10, min=1, help="Iterations (of every analysis but the one that sweeps them)."),
    seed: int = typer.Option(0, help="Seeds attacks and masks."),
    batch_size: int = typer.Option(64, min=1),
    overwrite: bool = typer.Option(False, help="Replace existing result files."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Section 3 analyses of the paper: one JSON and one plot each (white box, and black box with --victims)."""
    from avrobust.jobs import analyze as analyze_job
    from avrobust.jobs.analyze import parse_values

    r = analyze_job(kind, model, out, victims=victims, values=parse_values(values), attacks=attack, data=data,
                    split=split, limit=n, steps=steps, seed=seed, batch_size=batch_size, threat=threat,
                    overwrite=overwrite, precision=compute.precision)
    output.print(f"{r.analysis}: {len(r.setup['victims'])} victims, {r.setup['n']} clips, {r.seconds:.0f} s -> "
                 f"{out / (r.analysis + '.json')}, {out / (r.analysis + '.png')}")


@app.command()
@compute_options
@threat_options
def export(
    checkpoint: Path = typer.Option(..., help="Run directory of the attacked model."),
    attack: str = typer.Option("pgd", "--attack", help=texts.ATTACK),
    n: int = typer.Option(4, "--n", min=1, help="Export the first N clips."),
    out: Path = typer.Option(Path("examples"), help="Directory for the MP4, WAV and PNG files and index.json."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the model's."),
    split: str = typer.Option("test", help=texts.SPLIT),
    steps: Optional[int] = typer.Option(None, help="Iterations (default: the attack's)."),
    seed: int = typer.Option(0, help="Seeds the attack."),
    amplify: Optional[float] = typer.Option(None, help="Gain of the difference panel (default 10 for an attack, 1 for "
                                            "a corruption)."),
    corruption: Optional[str] = typer.Option(None, help="NAME:SEVERITY (e.g. wind:3): export corrupted clips instead of "
                                             "adversarial ones ('avrobust corruptions' lists the names)."),
    overwrite: bool = typer.Option(False, help="Replace examples already in --out."),
    threat: Any = None,
    compute: Any = None,
) -> None:
    """Adversarial (or corrupted) examples to watch and hear: MP4 (clean | changed | difference, with the changed
    sound), WAVs, spectrograms."""
    from avrobust.jobs import export_examples

    index = export_examples(checkpoint, out, attack=attack, data=data, split=split, n=n, threat=threat, steps=steps,
                            seed=seed, amplify=amplify, overwrite=overwrite, precision=compute.precision,
                            corruption=corruption)
    key = "adversarial_prediction" if corruption is None else "corrupted_prediction"
    fooled = sum(c[key] != c["label"] for c in index["clips"])
    output.print(f"{len(index['clips'])} clips ({fooled} misclassified after the "
                 f"{'attack' if corruption is None else 'corruption'}) -> {out}/index.json")


@app.command()
@compute_options
def study(
    file: Path = typer.Argument(..., help=texts.STUDY_FILE),
    root: Path = typer.Option(Path("runs/studies"), help="Zoos (ROOT/zoos) and the study's units (ROOT/NAME) live "
                              "here; units already there are reused, so an interrupted study continues."),
    stage: list[str] = typer.Option([], "--stage", help="Run only this stage (repeat; default: every stage)."),
    out: Optional[Path] = typer.Option(None, "--output", help="Write OUTPUT.json and OUTPUT.md (default: the file's "
                                       "'output')."),
    train: bool = typer.Option(True, help="Train missing zoo models (--no-train: a missing model is a one-line error)."),
    executor: Optional[str] = typer.Option(None, help=texts.EXECUTOR),
    max_parallel: Optional[int] = typer.Option(None, min=1, help="Jobs running at once (default: the file's "
                                               "\\[executor] max_parallel, else 1)."),
    compute: Any = None,
) -> None:
    """Run a study file (zoos, seeds and stages) into JSON and the Markdown tables benchmarks/RESULTS.md quotes."""
    from avrobust.studies import run_study

    record = run_study(file, root, stages=stage, train=train, output=out, show_progress=True, executor=executor,
                       max_parallel=max_parallel)
    output.print(f"study {record['study']}: {len(record['stages'])} stages in {record['seconds']:.0f} s -> "
                 f"{record['output']}.json, {record['output']}.md")
