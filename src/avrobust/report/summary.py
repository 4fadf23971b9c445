"""The report's first screen: every model's clean and worst-case robust accuracy with its strongest
attack, the transfer summary and the defence comparison."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.record import Record
from avrobust.report.render import Section
from avrobust.results import EvaluationResult, TrainingResult, TransferResult
from avrobust.tables import Table, budget_text, frac, pct


def model_name(path: Path, r: EvaluationResult) -> str:
    """An evaluation's model as the report names it: its name and the file, or the file alone."""
    return f"{r.model} ({path.stem})" if r.model else path.stem


def strongest(r: EvaluationResult) -> tuple[str, float] | None:
    """The attack with the lowest robust accuracy (label, robust accuracy), or ``None`` without attacks."""
    if not r.attacks:
        return None
    label = min(r.attacks, key=lambda k: r.attacks[k].robust_accuracy)
    return label, r.attacks[label].robust_accuracy


def training_runs(found: Sequence[tuple[Path, Record]]) -> dict[str, TrainingResult]:
    """Training results by run directory: where the summary lies and where it says it was written."""
    runs: dict[str, TrainingResult] = {}
    for p, r in found:
        if isinstance(r, TrainingResult):
            for where in filter(None, (r.get("run_dir"), str(p.parent))):
                runs[str(Path(where).resolve())] = r
    return runs


def training_of(r: EvaluationResult, runs: dict[str, TrainingResult]) -> TrainingResult | None:
    """The training run an evaluation's checkpoint came from, when the report holds it."""
    return runs.get(str(Path(r.checkpoint).resolve())) if r.checkpoint else None


def summary_section(found: Sequence[tuple[Path, Record]], runs: dict[str, TrainingResult]) -> Section:
    """The summary; ``runs``: :func:`training_runs` of ``found``."""
    evals = [(p, r) for p, r in found if r.kind == "evaluation"]
    sec = Section("Summary", group="Summary")
    rows = []
    for p, r in evals:
        top = strongest(r)
        run = training_of(r, runs)
        rows.append([model_name(p, r), run.method if run else "-", f"{r.data} ({r.split})", str(r.n),
                     frac(r.clean_accuracy), frac(r.worst_case_robust_accuracy),
                     f"{top[0]} ({frac(top[1])})" if top else "-"])
    if rows:
        sec.tables.append(Table(["model", "trained with", "data", "clips", "clean acc", "worst-case robust acc",
                                 "strongest attack (robust acc)"], rows, "Models: clean and worst-case robust accuracy",
                                {3, 4, 5}))
        first = next((r for _, r in evals if r.attacks), None)
        if first is not None:
            a = next(iter(first.attacks.values()))
            sec.notes.append(f"White box, budgets {budget_text(a['budget'])}; worst case: right on every attack, "
                             "per clip. Details per model under White box.")
    for p, r in found:
        if isinstance(r, TransferResult):
            best = max(r.summary, key=lambda k: r.summary[k].black_box_asr or 0.0)
            sec.tables.append(Table(["attack", "black-box ASR %", "white-box ASR %"],
                                    [[a, pct(s.black_box_asr, s.black_box_asr_std), pct(s.white_box_asr)]
                                     for a, s in r.summary.items()],
                                    f"Transfer ({p.name}): {', '.join(r.surrogates)} to {', '.join(r.victims)}", {1, 2}))
            sec.notes.append(f"Strongest transfer attack in {p.name}: {best} "
                                  f"({pct(r.summary[best].black_box_asr)} % black-box ASR).")
    defences = [(p, r, training_of(r, runs)) for p, r in evals]
    defences = [(p, r, run) for p, r, run in defences if run is not None and run.method != "standard" and r.attacks]
    if defences:
        sec.tables.append(Table(["model", "method", "clean acc", "worst-case robust acc", "s / epoch"],
                                [[model_name(p, r), f"`{run.method}`", frac(r.clean_accuracy),
                                  frac(r.worst_case_robust_accuracy), f"{run.seconds_per_epoch:.1f}"]
                                 for p, r, run in defences], "Defences", {2, 3, 4}))
    ablations = [r for _, r in found if r.kind == "ablation"]
    for r in ablations:
        best = max(r.summary, key=lambda k: r.summary[k]["worst_case_robust_accuracy"]["mean"] or 0.0)
        sec.notes.append(f"Ablation: best worst-case robust accuracy {best} "
                              f"({100 * r.summary[best]['worst_case_robust_accuracy']['mean']:.1f} %); see Defences.")
    if not sec.tables and not sec.notes:
        sec.paragraphs.append("No evaluation, transfer or defence results here; the sections below show what was found.")
    return sec
