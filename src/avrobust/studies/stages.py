"""Stage kinds of a study (registered in :data:`avrobust.studies.kinds.STAGES`): each turns its options into unit files under the study's
directory (resumable) and its results into the Markdown table RESULTS.md quotes.

- ``clean``: test accuracy (fused, audio-only, visual-only) of zoo models, mean +- std over seeds.
- ``transfer``: transfer matrices surrogates x victims per seed; black-box ASR per attack with paired
  differences (bootstrap over (seed, surrogate, victim) pairs) against a baseline and named pairs.
- ``ensemble``: per victim, the attack crafted on an ensemble of the surrogates (the victim left out)
  against the same attack crafted on each of those surrogates alone.
- ``analysis``: the Section 3 analyses (``avrobust analyze``) per seed.
- ``defence``: training methods on one zoo model at equal epochs and equal time (``avrobust ablate``).
- ``tuning``: the fair tuning protocol: every attack's candidate settings (the same number per attack)
  scored on a validation zoo of its own seed; the best is kept for later ``transfer`` stages (``tuned``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avrobust.attacks import default_attacks
from avrobust.errors import ConfigError
from avrobust.studies.context import Context
from avrobust.studies.kinds import first, options, register_stage, seeds_of
from avrobust.report.seed_tables import Block, analysis_tables, ms
from avrobust.studies.spec import StageSpec
from avrobust.tables import Table, budget_text
from avrobust.analysis import ANALYSES, Study, run_analysis
from avrobust.attacks import ThreatModel, build_attacks
from avrobust.defences.runstate import SUMMARY_FILE
from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.transfer_matrix import transfer_matrix
from avrobust.results import AblationResult, read_result
from avrobust.results.ablation import ablation_settings, ablation_table


# --- clean ----------------------------------------------------------------------------------------
def _render_clean(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    keys = ("clean_accuracy", "audio_only_accuracy", "visual_only_accuracy")
    return [Table(["model", "seeds", "clean", "audio-only", "visual-only", "s / epoch"],
                  [[model, str(len(rows)), *(ms([x[k] for x in rows], 1.0, 3) for k in keys),
                    ms([x["seconds_per_epoch"] for x in rows], 1.0, 0)] for model, rows in r["models"].items()],
                  numeric={1, 2, 3, 4, 5})]


@register_stage("clean", ("models", "n", "seeds"), _render_clean)
def clean(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Test-split accuracies of ``models`` (zoo references) for every seed."""
    o = options(stage, {"n": None})
    out: dict[str, list[dict[str, Any]]] = {}
    for k in seeds_of(ctx, o):
        for ref, label in ctx.labels(o["models"]):
            def compute(ref=ref, k=k) -> dict[str, Any]:
                (m,) = ctx.members([ref], k)
                data = ctx.dataset("test")
                counts = clean_counts(m.model, data, indices=first(data, o["n"])).metrics()
                summary = read_result(Path(m.sources[0]) / SUMMARY_FILE)
                return {**counts, "seconds_per_epoch": summary["seconds_per_epoch"], "run": m.sources[0]}
            out.setdefault(label, []).append(ctx.unit(ctx.dir / stage.name / f"s{k}-{label}.json", compute))
    return {"models": out}


# --- analysis -------------------------------------------------------------------------------------
def _render_analysis(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    return analysis_tables(r["runs"])


@register_stage("analysis", ("analyses", "surrogate", "victims", "n", "steps", "scale", "values", "attacks", "batch_size",
                             "seeds"),
                _render_analysis)
def analysis(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Each of ``analyses`` (names or letters a-f) on every seed's zoo: ``surrogate`` white box, ``victims``
    (the surrogate left out) black box; ``values`` and ``attacks``: per-analysis overrides."""
    o = options(stage, {"n": 64, "steps": 10, "scale": 1.0, "values": {}, "attacks": {}, "batch_size": 32, "victims": []})
    runs: dict[str, list[dict[str, Any]]] = {}
    for k in seeds_of(ctx, o):
        for kind in o["analyses"]:
            name = ANALYSES.canonical(kind)

            def compute(name=name, k=k) -> dict[str, Any]:
                (sur,) = ctx.members([o["surrogate"]], k)
                vic = [v for v in ctx.members(o["victims"], k) if not set(v.sources) & set(sur.sources)]
                data = ctx.dataset("test")
                study = Study(sur, vic, data, first(data, o["n"]), ThreatModel().scaled(float(o["scale"])), o["steps"], k,
                              o["batch_size"], show_progress=ctx.show_progress)
                return dict(run_analysis(name, study, ctx.dir / stage.name / f"s{k}", values=o["values"].get(name),
                                         attacks=o["attacks"].get(name)))
            runs.setdefault(name, []).append(ctx.unit(ctx.dir / stage.name / f"s{k}" / f"{name}.json", compute))
    return {"seeds": seeds_of(ctx, o), "runs": runs}


# --- tuning ---------------------------------------------------------------------------------------
def _render_tuning(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    table = Table(["attack", "candidate", "validation black-box ASR %", ""], numeric={2})
    for attack, a in r["attacks"].items():
        for c in a["scores"]:
            mark = "chosen" + (" (the default)" if c["spec"] == a["default"] else "") if c["spec"] == a["chosen"] else (
                "default" if c["spec"] == a["default"] else "")
            table.rows.append([attack, f"`{c['spec']}`", f"{100 * c['black_box_asr']:.1f}", mark])
    return [f"Validation zoo seed {r['seed']} (no test zoo shares it), {r['n']} clips, budget {r['budget']}; "
            f"{r['candidates']} candidates per attack; score = mean black-box ASR over the validation pairs.", table]


@register_stage("tuning", ("surrogates", "victims", "seed", "candidates", "n", "steps", "scale", "batch_size"), _render_tuning)
def tuning(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Score every candidate spec on the validation zoo ``seed``; each attack's first candidate is its
    default and every attack gets the same number of candidates (the same search budget)."""
    o = options(stage, {"n": 64, "steps": 10, "scale": 1.0, "batch_size": 32})
    seed = int(o["seed"])
    if seed in ctx.spec.seeds:
        raise ConfigError(f"stage {stage.name!r}: the validation seed {seed} is also a test seed; pick another")
    sizes = {len(v) for v in o["candidates"].values()}
    if len(sizes) != 1:
        raise ConfigError(f"stage {stage.name!r}: every attack needs the same number of candidates (the same search "
                          f"budget), got {', '.join(f'{a}: {len(v)}' for a, v in o['candidates'].items())}")
    threat = ThreatModel().scaled(float(o["scale"]))
    results = {}
    for attack, specs in o["candidates"].items():
        def compute(specs=specs) -> dict[str, Any]:
            data = ctx.dataset("val")
            sur, vic = ctx.members(o["surrogates"], seed), ctx.members(o["victims"], seed)
            return dict(transfer_matrix(sur, vic, data, build_attacks(list(specs), threat, steps=o["steps"], seed=seed),
                                        indices=first(data, o["n"]), batch_size=o["batch_size"],
                                        show_progress=ctx.show_progress))
        results[attack] = ctx.unit(ctx.dir / stage.name / f"{attack}.json", compute)
    out = {}
    for attack, specs in o["candidates"].items():
        result = results[attack]
        scores = [{"spec": s, "black_box_asr": result["summary"][s]["black_box_asr"]} for s in specs]
        best = max(scores, key=lambda c: c["black_box_asr"])  # ties: the earlier candidate (the default first)
        out[attack] = {"default": specs[0], "chosen": best["spec"], "scores": scores}
    return {"seed": seed, "n": o["n"], "candidates": sizes.pop(), "budget": budget_text(threat.describe()), "attacks": out}


# --- defence --------------------------------------------------------------------------------------
def _render_defence(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    result = AblationResult.from_dict(r["ablation"])
    return [ablation_settings(result.settings), ablation_table(result)]


@register_stage("defence", ("model", "init", "train", "data", "variants", "epochs", "steps", "n", "attacks", "eval_steps",
                            "suite", "equal_time", "batch_size", "seeds"), _render_defence)
def defence(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Training methods compared on one zoo model (``avrobust ablate``: ``variants`` at equal epochs, and with
    ``equal_time`` each again for PGD-AT's wall-clock time), judged by the worst case over ``attacks``
    (and ``suite``); resumes the ablation under the study's directory. ``init`` (``ZOO:ALIAS``) starts every
    configuration from that zoo model of the seed (adversarial fine-tuning of a fine-tuned model; its model
    and data replace ``model`` and ``data``); ``train``: TrainConfig fields (``lr``, ``backbone_lr``)."""
    from avrobust.jobs.ablate import run_ablation

    o = options(stage, {"data": ctx.spec.data, "epochs": 8, "steps": 5, "n": 64, "attacks": default_attacks("ablation"),
                        "eval_steps": 10, "suite": None, "equal_time": False, "batch_size": 32, "variants": None,
                        "init": None, "train": {}, "model": None})
    seeds = seeds_of(ctx, o)
    if o["model"] is None and o["init"] is None:
        raise ConfigError(f"{ctx.spec.source}: stage {stage.name!r} needs a model (or init = 'ZOO:ALIAS')")
    out = ctx.dir / stage.name

    def compute() -> dict[str, Any]:  # the whole ablation is one unit (it resumes from its own files)
        init, model, data = None, o["model"], o["data"]
        if o["init"] is not None:
            ((zoo, alias),) = ctx.refs([o["init"]])
            init = {k: str(ctx.run_dir(zoo, alias, k)) for k in seeds}
            model, data = alias, zoo.data
        result = run_ablation(out, data=data, model=model, seeds=seeds, epochs=o["epochs"],
                              steps=o["steps"], n=o["n"], attacks=o["attacks"], eval_steps=o["eval_steps"],
                              variants=o["variants"], resume=(out / "ablation.json").exists(), batch_size=o["batch_size"],
                              equal_time=o["equal_time"], suite=o["suite"], init=init, train=o["train"])
        return {"ablation": dict(result)}
    return ctx.unit(out / "stage.json", compute)
