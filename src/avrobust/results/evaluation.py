"""The ``evaluation`` kind (``avrobust evaluate``): clean, audio-only and visual-only accuracy, every
attack's robust accuracy, ASR, budgets, perceptibility and per-clip flags, the worst case, the
gradient-masking warnings and an optional eps or steps sweep; its tables and report sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from avrobust.record import Flags, Record
from avrobust.plotting import line_plot
from avrobust.results.base import GROUPS, ExampleRequest, ReportContext, Result, Section, register_result
from avrobust.results.training import training_of, training_runs
from avrobust.specs import short_spec
from avrobust.stats import mean_std
from avrobust.tables import Table, budget_text, eps_text, frac


@dataclass(kw_only=True, eq=False)
class AttackResult(Record):
    """One attack on one model: rates over all ``n`` clips, budgets, perceptibility, per-clip flags.

    ``robust_accuracy``: share of clips right when clean and after the attack; ``attack_success_rate``:
    share of the clean-correct clips it makes wrong; ``robust_flags``: bool ``[n]``, the clips right when
    clean and after the attack; ``transfer``: crafted on another model.
    """

    attack: str
    robust_accuracy: float
    attack_success_rate: float
    budget: dict[str, Any]
    steps: int
    modalities: list[str]
    restarts: int
    loss: str
    options: dict[str, Any]
    psnr_db: float | None = None
    ssim: float | None = None
    snr_db: float | None = None
    segmental_snr_db: float | None = None
    max_norm: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    robust_flags: Flags = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    transfer: bool = False


@dataclass(kw_only=True, eq=False)
class SweepCurve(Record):
    """One attack's robust accuracy and ASR at each swept value."""

    robust_accuracy: list[float] = field(default_factory=list)
    attack_success_rate: list[float] = field(default_factory=list)


@dataclass(kw_only=True, eq=False)
class SweepResult(Record):
    """Robust accuracy against ``eps`` (the video eps; the audio eps scaled alike) or ``steps``."""

    parameter: str
    values: list[float]
    video_eps: list[float] = field(default_factory=list)
    audio_eps: list[float] = field(default_factory=list)
    steps: list[dict[str, int]] = field(default_factory=list)
    attacks: dict[str, SweepCurve] = field(default_factory=dict)


@register_result("evaluation")
@dataclass(kw_only=True, eq=False)
class EvaluationResult(Result):
    """``avrobust evaluate``: clean, audio-only (p_a) and visual-only (p_v) accuracy, attacks, worst case."""

    order: ClassVar[float] = 20
    data: str
    split: str
    n: int
    clean_accuracy: float
    audio_only_accuracy: float
    visual_only_accuracy: float
    attacks: dict[str, AttackResult] = field(default_factory=dict)
    #: the fused model with a modality missing: audio silenced / every frame the clip's mean colour
    no_audio_accuracy: float | None = None
    no_video_accuracy: float | None = None
    clean_correct: int | None = None
    worst_case_robust_accuracy: float | None = None
    model: str = ""
    checkpoint: str = ""
    surrogate: str | None = None
    suite: str | None = None
    zero_gradient_share: dict[str, float] | None = None
    warnings: list[str] | None = None
    #: how p_a, p_v (the audio-/visual-only accuracies, MMA) are defined: None = the model's own heads
    unimodal: str | None = None
    sweep: SweepResult | None = None
    #: where and in what precision the models ran (``cpu``, ``cuda:0 (NVIDIA ...)``; ``fp32``, ``bf16``...)
    device: str = ""
    precision: str = "fp32"
    seconds: float = 0.0

    @classmethod
    def recognises(cls, data: dict[str, Any]) -> bool:
        return "clean_accuracy" in data and "attacks" in data

    def data_source(self) -> tuple[str, str]:
        return self.data, self.split

    def strongest(self) -> tuple[str, float] | None:
        """The attack with the lowest robust accuracy (label, robust accuracy), or None without attacks."""
        if not self.attacks:
            return None
        label = min(self.attacks, key=lambda k: self.attacks[k].robust_accuracy)
        return label, self.attacks[label].robust_accuracy

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        runs = training_runs(ctx.found)
        out: list[Section] = []
        sweeps: dict[tuple[Any, ...], list[tuple[Section, EvaluationResult]]] = {}
        for path, r in items:
            assert isinstance(r, EvaluationResult)
            sec = _section(path, r)
            run = training_of(r.checkpoint, runs)
            if run is not None and run.method != "standard":
                sec.group = "Defences"
            out.append(sec)
            if r.sweep:
                key = (r.model, r.data, r.sweep.parameter, tuple(r.sweep.values))
                sweeps.setdefault(key, []).append((sec, r))
            top = r.strongest()
            if top is not None and r.checkpoint and r.data and not r.attacks[top[0]].transfer:
                entry = r.attacks[top[0]]
                extra = ctx.examples(ExampleRequest(
                    title=f"Adversarial examples: {model_name(path, r)}", name=f"{path.stem}-example", checkpoint=r.checkpoint, data=r.data,
                    split=r.split, attack=entry.attack, budget=entry.budget, modalities=tuple(entry.modalities),
                    steps=entry.steps, group=sec.group))
                if extra is not None:
                    out.append(extra)
        for k, group in enumerate(sweeps.values()):
            group[0][0].figures.append(sweep_figure([r for _, r in group], ctx.figures / f"sweep-{k}.png"))
        return out

    @classmethod
    def summary(cls, items: Sequence[tuple[Path, Result]], ctx: ReportContext) -> list[Section]:
        runs = training_runs(ctx.found)
        models = Section("models", group="Summary", order=GROUPS["White box"])
        rows, hints = [], {}
        for p, r in items:
            assert isinstance(r, EvaluationResult)
            top, run = r.strongest(), training_of(r.checkpoint, runs)
            if short_spec(r.data) != r.data:
                hints[len(rows), 2] = r.data
            rows.append([model_name(p, r), run.method if run else "-", f"{short_spec(r.data)} ({r.split})", str(r.n),
                         frac(r.clean_accuracy), frac(r.worst_case_robust_accuracy),
                         f"{top[0]} ({frac(top[1])})" if top else "-"])
        models.tables.append(Table(["model", "trained with", "data", "clips", "clean acc", "worst-case robust acc",
                                    "strongest attack (robust acc)"], rows,
                                   "Models: clean and worst-case robust accuracy", {3, 4, 5}, hints))
        models.notes += [f"Data {short_spec(d)}: `{d}`." for d in dict.fromkeys(hints.values())]
        first = next((r for _, r in items if isinstance(r, EvaluationResult) and r.attacks), None)
        if first is not None:
            a = next(iter(first.attacks.values()))
            models.notes.append(f"White box, budgets {budget_text(a.budget)}; worst case: right on every attack, "
                                "per clip. Details per model under White box.")
        defended = [(p, r, training_of(r.checkpoint, runs)) for p, r in items if isinstance(r, EvaluationResult)]
        defended = [(p, r, run) for p, r, run in defended if run is not None and run.method != "standard" and r.attacks]
        parts = [models]
        if defended:
            parts.append(Section("defences", group="Summary", order=GROUPS["Defences"], tables=[Table(
                ["model", "method", "clean acc", "worst-case robust acc", "s / epoch"],
                [[model_name(p, r), f"`{run.method}`", frac(r.clean_accuracy), frac(r.worst_case_robust_accuracy),
                  f"{run.seconds_per_epoch:.1f}"] for p, r, run in defended], "Defences", {2, 3, 4})]))
        return parts


def model_name(path: Path, r: EvaluationResult) -> str:
    """An evaluation's model as the report names it: its name and the file, or the file alone."""
    return f"{r.model} ({path.stem})" if r.model else path.stem


def _section(path: Path, r: EvaluationResult) -> Section:
    name = r.model or path.stem
    sec = Section(f"Evaluation: {name} ({path.name})", [
        f"Data `{r.data}` ({r.split}, {r.n} clips). Clean accuracy {frac(r.clean_accuracy)}, audio-only "
        f"{frac(r.audio_only_accuracy)}, visual-only {frac(r.visual_only_accuracy)}"
        + ("." if r.no_audio_accuracy is None else f"; the fused model with the audio silenced {frac(r.no_audio_accuracy)}, "
           f"with every frame replaced by the clip's mean colour {frac(r.no_video_accuracy)}.")], group="White box")
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
    first = results[0].sweep
    assert first is not None
    series, errors = {}, {}
    for label in first.attacks:
        runs = [r.sweep.attacks[label].robust_accuracy for r in results if r.sweep and label in r.sweep.attacks]
        series[label] = [mean_std(col)[0] for col in zip(*runs)]
        if len(runs) > 1:
            errors[label] = [mean_std(col)[1] for col in zip(*runs)]
    eps = first.parameter == "eps"
    audio = f"; audio eps {first.audio_eps[0]:.3g} to {first.audio_eps[-1]:.3g}" if eps else ""
    seeds = f", mean ± std over {len(results)} evaluations" if len(results) > 1 else ""
    return line_plot([255 * v for v in first.values] if eps else first.values, series, path,
                     xlabel="video eps (/255)" + audio if eps else "attack steps", ylabel="robust accuracy %",
                     title=f"{results[0].model or 'model'}: robust accuracy against {first.parameter}{seeds}",
                     errors=errors or None)


def clean_table(results: Mapping[str, EvaluationResult], title: str = "") -> Table:
    """One row per evaluated model: clips, clean, audio-only (p_a) and visual-only (p_v) accuracy, and the
    fused model's accuracy with the audio silenced and with the frames replaced by their mean."""
    where = {f"{r.data} ({r.split})" for r in results.values()}
    return Table(["model", "n", "clean accuracy", "audio-only (p_a)", "visual-only (p_v)", "fused, audio silenced",
                  "fused, mean frames"],
                 [[name, str(r.n), frac(r.clean_accuracy), frac(r.audio_only_accuracy), frac(r.visual_only_accuracy),
                   frac(r.no_audio_accuracy), frac(r.no_video_accuracy)]
                  for name, r in results.items()], title or f"on {', '.join(sorted(where))}", {1, 2, 3, 4, 5, 6})


def attack_table(attacks: Mapping[str, Mapping[str, Any]], worst: float | None = None, title: str = "") -> Table:
    """One row per attack (an evaluation's ``attacks``): attacked modalities, budgets as written (8/255;
    audio with its dBFS and the measured SNR), steps, robust accuracy, ASR, perceptibility and seconds."""
    def audio(r: Mapping[str, Any]) -> str:
        b = r["budget"]["audio"]
        snr = r.get("snr_db") if "audio" in r["modalities"] else None
        return f"{b['norm']} {eps_text(b['eps'], 'audio')}" + ("" if snr is None else f", SNR {snr:.1f} dB")

    rows = [[label, "+".join(r["modalities"]), f"{r['budget']['video']['norm']} {eps_text(r['budget']['video']['eps'], 'video')}",
             audio(r), str(r["steps"]), frac(r["robust_accuracy"]), frac(r["attack_success_rate"]),
             frac(r.get("psnr_db"), 1), frac(r.get("ssim")), frac(r.get("segmental_snr_db"), 1),
             frac(r.get("seconds"), 1)] for label, r in attacks.items()]
    return Table(["attack", "attacked", "video budget", "audio budget (measured SNR)", "steps", "robust acc", "ASR",
                  "PSNR dB", "SSIM", "segSNR dB", "seconds"], rows,
                 title or f"attacks (worst-case robust accuracy {frac(worst)})", set(range(4, 11)))
