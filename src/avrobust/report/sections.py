"""One report section per result kind, built from the typed result (see :mod:`avrobust.results`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from avrobust.report.render import Section
from avrobust.stats import mean_std
from avrobust.results import AblationResult, AnalysisResult, EvaluationResult, Record, TrainingResult, TransferResult
from avrobust.tables import Table, ablation_settings, ablation_table, attack_table, frac, transfer_summary_table


def evaluation(path: Path, r: EvaluationResult, figures: Path) -> Section:
    name = r.model or path.stem
    sec = Section(f"Evaluation: {name} ({path.name})", [
        f"Data `{r.data}` ({r.split}, {r.n} clips). Clean accuracy {frac(r.clean_accuracy)}, audio-only "
        f"{frac(r.audio_only_accuracy)}, visual-only {frac(r.visual_only_accuracy)}."], group="White box")
    if r.unimodal:
        sec.paragraphs.append(f"Unimodal predictions by {r.unimodal}.")
    if r.attacks:
        sec.paragraphs.append(f"Worst case over the attacks: {frac(r.worst_case_robust_accuracy)}. ASR: share of the "
                              "clean-correct clips the attack makes wrong.")
        sec.tables.append(attack_table(r.attacks, r.worst_case_robust_accuracy))
    sec.paragraphs += [f"**Warning:** {line}." for line in r.warnings or []]
    return sec


def sweep_figure(results: Sequence[EvaluationResult], path: Path) -> Path:
    """Robust accuracy against the swept eps or steps, one line per attack; with several results (other
    seeds of the same sweep) the mean and its std as error bars."""
    from avrobust.plotting import line_plot

    first = results[0].sweep
    x = first["values"]
    series, errors = {}, {}
    for label in first["attacks"]:
        runs = [r.sweep["attacks"][label]["robust_accuracy"] for r in results if label in r.sweep["attacks"]]
        series[label] = [mean_std(col)[0] for col in zip(*runs)]
        if len(runs) > 1:
            errors[label] = [mean_std(col)[1] for col in zip(*runs)]
    eps = first["parameter"] == "eps"
    audio = f"; audio eps {first['audio_eps'][0]:.3g} to {first['audio_eps'][-1]:.3g}" if eps else ""
    seeds = f", mean ± std over {len(results)} evaluations" if len(results) > 1 else ""
    return line_plot([255 * v for v in x] if eps else x, series, path,
                     xlabel="video eps (/255)" + audio if eps else "attack steps", ylabel="robust accuracy %",
                     title=f"{results[0].model or 'model'}: robust accuracy against {first['parameter']}{seeds}",
                     errors=errors or None)


def ablation(path: Path, r: AblationResult, figures: Path) -> Section:
    from avrobust.plotting import ablation_plot

    s = r.settings
    fig = ablation_plot(r, figures / f"{path.stem}-ablation.png")
    return Section(f"Defence ablation ({path.name})", [f"{s['model']} on `{s['data']}`: {ablation_settings(s)}"],
                   [ablation_table(r)], [fig], group="Defences")


def transfer(path: Path, r: TransferResult, figures: Path) -> Section:
    from avrobust.plotting import transfer_heatmaps

    fig = transfer_heatmaps(r, figures / f"{path.stem}-heatmaps.png")
    return Section(f"Transfer matrix ({path.name})", [
        f"Data `{r.data}` ({r.split}, {r.n} clips); surrogates {', '.join(r.surrogates)}; victims "
        f"{', '.join(r.victims)}. Black box excludes white-box pairs (victim = surrogate or member)."],
        [transfer_summary_table(r.summary)], [fig], group="Transfer")


def analysis(path: Path, r: AnalysisResult, figures: Path) -> Section:
    from avrobust.analysis import ANALYSES

    setup = r.setup
    fig = figures / f"{path.stem}-{r.analysis}.png"
    ANALYSES.create(r.analysis).plot(r, str(fig))
    return Section(f"Analysis: {r.analysis} ({path.name})", [
        f"Surrogate {setup['surrogate']}, victims {', '.join(setup['victims']) or 'none'}; data `{setup['data']}` "
        f"({setup['n']} clips), {setup['steps']} steps, seed {setup['seed']}; {r.seconds} s."], figures=[fig],
        group="Analyses")


def training(path: Path, r: TrainingResult, figures: Path) -> Section:
    from avrobust.plotting import line_plot

    h, name = r.history, r.model or path.parent.name
    sec = Section(f"Training: {name} ({path.parent.name})", [
        f"Method {r.method}, {r.epochs} epochs, {r.seconds_per_epoch:.1f} s per epoch, {r.forward_passes:,} forward and "
        f"{r.backward_passes:,} backward clip passes; final validation accuracy {frac(r.metrics.get('clean_accuracy'))}."],
        group="Models" if r.method == "standard" else "Defences")
    if h and "val_clean_accuracy" in h[0]:
        fig = figures / f"{path.parent.name}-training.png"
        keys = [k for k in ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy", "pgd_robust_accuracy")
                if f"val_{k}" in h[0]]  # PGD-10's robust accuracy when trained with --robust-val
        line_plot([e["epoch"] for e in h], {k: [e[f"val_{k}"] for e in h] for k in keys},
                  fig, xlabel="epoch", ylabel="validation accuracy %", title=f"{name}: validation accuracy")
        sec.figures.append(fig)
    if r.curriculum:
        keys = [k for k in ("rho", "mask_ratio", "dropout", "attack_steps") if k in r.curriculum[0]]
        sec.tables.append(Table(["epoch", *keys], [[str(c["epoch"]), *(str(c[k]) for k in keys)] for c in r.curriculum],
                                numeric=set(range(len(keys) + 1))))
    return sec


BUILDERS: dict[str, Callable[[Path, Record, Path], Section]] = {
    "training": training, "evaluation": evaluation, "ablation": ablation, "transfer": transfer, "analysis": analysis}
