"""``avrobust ablate``: the defence ablation in one command (PAPER.md, reviewers: no ablation, no
wall-clock comparison).

Configurations (all with the same attack steps ``K`` and budgets):

* ``pgd-at``: vanilla PGD adversarial training (Madry et al.).
* ``sampling``: avat, crafting on rho = 0.25 of the segments, curriculum off (K steps throughout).
* ``curriculum``: avat on all segments (rho = 1) with the curriculum (linear schedules).
* ``both``: avat, rho = 0.25 and the curriculum (the paper's defence).
* ``rho=R``: ``both`` with another rho (0.125, 0.4; 0.25 is ``both``, 1.0 is ``curriculum``).
* ``sampling-rho=R``: ``sampling`` with another rho (0.4, 0.5; 1.0 is ``tma-at``).
* ``sched=S``: ``both`` with every schedule ``S`` (constant, cosine, step; linear is ``both``).
* ``part=P``: ``both`` with one part ``P`` of the curriculum scheduled (steps, mask, dropout) and the
  other two off (no masking, no dropout, ``K`` steps throughout): which part costs or buys robustness.
* ideas for avat: ``no-mask`` (``both`` without the curriculum's masking), ``spread=linear``
  (a sampled segment's perturbation interpolated to its neighbours, not copied), ``avat+trades``
  (avat's examples in the TRADES objective, beta 6), ``carry`` (each clip's perturbation carried
  across epochs as the next attack's start), ``resample`` (new segments drawn at every attack step),
  ``sampling-resample`` and ``sampling-carry`` (``sampling`` with resampling, with carrying); and two
  for the diagnosis: ``tma-at`` (plain TMA adversarial training: every segment, no curriculum) and
  ``avat-pgd`` (``both`` crafting with PGD instead of TMA).
* the baselines, each with its paper's defaults: ``trades`` (K steps), ``crmt-at`` (K steps), ``mixup``,
  ``fgsm-rs``, ``n-fgsm`` (one step each), ``free-at`` (``replays=K``, so it takes as many gradients per
  batch as the others) and ``standard`` (no defence).

With ``equal_time`` every configuration also trains for PGD-AT's wall-clock time: per seed, ``X@time``
runs ``round(epochs * s_pgd / s_X)`` epochs (at least 1), where ``s`` is each one's measured seconds
per epoch in the equal-epochs runs of that seed, so a cheap method gets more epochs.

Every configuration trains once per seed on the same data, then is evaluated on the first ``n``
test clips: clean accuracy and robust accuracy under each attack (``suite="defence"``: the white-box
defence suite of ``evaluate --suite defence``, then ``attacks``), worst case per clip. Writes
``OUT/ablation.json`` (after every run, so ``--resume`` continues), ``OUT/ablation.md`` and
``OUT/ablation.png`` (worst-case robust accuracy against training time, mean +- std over seeds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avrobust.attacks import ThreatModel, default_attacks
from avrobust.defences.base import ablation_configs
from avrobust.console import console
from avrobust.errors import ConfigError
from avrobust.io import claim_dir, write_text
from avrobust.jobs.evaluate import evaluate_checkpoint
from avrobust.jobs.train import train_model
from avrobust.results import AblationResult, AblationRow, read_result
from avrobust.results.ablation import ablation_plot, ablation_settings, ablation_table
from avrobust.runtime import release_memory
from avrobust.stats import mean_std

ABLATION_FILE = "ablation.json"
#: the attacks that declare the ``ablation`` selection
DEFAULT_ATTACKS = tuple(default_attacks("ablation"))


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The labels of ``{label: (cost, value)}`` that no other point beats: none is at most as costly
    and at least as good while better in one of the two. Sorted by cost."""
    front = [k for k, (c, v) in points.items()
             if not any((c2 <= c and v2 >= v) and (c2 < c or v2 > v) for k2, (c2, v2) in points.items() if k2 != k)]
    return sorted(front, key=lambda k: points[k][0])


def run_ablation(out: str | Path, *, data: str, model: str = "alexnet-sum-vgg", seeds: Sequence[int] = (0, 1, 2),
                 epochs: int = 8, steps: int = 5, n: int = 200, attacks: Sequence[str] = DEFAULT_ATTACKS,
                 eval_steps: int = 10, variants: Sequence[str] | None = None, threat: ThreatModel | None = None,
                 resume: bool = False, overwrite: bool = False, batch_size: int = 32,
                 equal_time: bool = False, suite: str | None = None, precision: str = "fp32",
                 init: str | Path | Mapping[int, str | Path] | None = None,
                 train: Mapping[str, Any] | None = None) -> AblationResult:
    """Train and evaluate every configuration (or ``variants``) for every seed, and with ``equal_time``
    again for PGD-AT's training time; return the result. ``suite`` (``defence``) evaluates with that
    attack suite before ``attacks``. ``init``: the run directory every configuration starts from (or one
    per seed), for adversarial fine-tuning of a trained model; ``train``: :class:`TrainConfig` fields
    (``lr``, ``backbone_lr``) of every configuration."""
    out = Path(out)
    configs = ablation_configs(steps)
    chosen = list(variants) if variants else list(configs)
    unknown = [v for v in chosen if v not in configs]
    if unknown:
        raise ConfigError(f"unknown ablation variant {', '.join(unknown)}; valid: {', '.join(configs)}")
    if equal_time and "pgd-at" not in chosen:
        raise ConfigError("--equal-time needs pgd-at among the variants: its training time is the budget")
    claim_dir(out, ABLATION_FILE, "an ablation", overwrite=overwrite, resume=resume)
    settings = {"data": data, "model": model, "epochs": epochs, "steps": steps, "n": n, "attacks": list(attacks),
                "eval_steps": eval_steps, "threat": (threat or ThreatModel()).describe(), "batch_size": batch_size}
    if suite:  # only when set, so ablations written before the option still resume
        settings["suite"] = suite
    if precision != "fp32":  # the same
        settings["precision"] = precision
    if init is not None:
        starts = {int(k): str(v) for k, v in init.items()} if isinstance(init, Mapping) else {k: str(init) for k in seeds}
        missing = [k for k in seeds if k not in starts]
        if missing:
            raise ConfigError(f"init names no run for seed(s) {', '.join(map(str, missing))}")
        settings["init"] = {str(k): starts[k] for k in seeds}
    if train:
        settings["train"] = dict(train)
    rows: list[AblationRow] = []
    if resume and (out / ABLATION_FILE).exists():
        previous = read_result(out / ABLATION_FILE)
        old = dict(previous["settings"])  # the same settings; more seeds may add starting runs (init)
        old_init, rest = old.pop("init", {}), {k: v for k, v in settings.items() if k != "init"}
        if old != rest or any(settings.get("init", {}).get(k) != v for k, v in old_init.items()):
            raise ConfigError(f"cannot resume: the ablation in {out} used other settings; use the original ones")
        rows = previous["rows"]
    done = {(r["variant"], r["seed"]) for r in rows}
    todo = [(seed, label, epochs) for seed in seeds for label in chosen if (label, seed) not in done]
    for i, (seed, label, n_epochs) in enumerate(todo):
        console.rule(f"ablation {i + 1}/{len(todo)}: {label}, seed {seed}")
        rows.append(_run(out, label, configs[label], seed, n_epochs, settings, threat))
        summarise_ablation(settings, rows, chosen).write(out / ABLATION_FILE)
        release_memory()
    if equal_time:
        timed = [(seed, label, _equal_time_epochs(rows, label, seed, epochs)) for seed in seeds for label in chosen
                 if label != "pgd-at" and (f"{label}@time", seed) not in done]
        for i, (seed, label, n_epochs) in enumerate(timed):
            console.rule(f"equal time {i + 1}/{len(timed)}: {label}, seed {seed}, {n_epochs} epochs")
            rows.append(_run(out, f"{label}@time", configs[label], seed, n_epochs, settings, threat))
            summarise_ablation(settings, rows, chosen).write(out / ABLATION_FILE)
            release_memory()
    finished = {r["variant"] for r in rows}  # a resumed ablation reports the variants of earlier calls too
    return _write_outputs(out, settings, rows, [v for v in configs if v in finished or v in chosen])


def _write_outputs(out: Path, settings: dict[str, Any], rows: list[AblationRow], order: list[str]) -> AblationResult:
    """Write ``ablation.json``, ``ablation.md`` and ``ablation.png`` of ``rows`` into ``out``; the
    ``X@time`` variants follow ``order``."""
    timed = [f"{v}@time" for v in order if any(r["variant"] == f"{v}@time" for r in rows)]
    result = summarise_ablation(settings, rows, order + timed)
    result.write(out / ABLATION_FILE)
    write_text(out / "ablation.md", render_markdown(result))
    ablation_plot(result, out / "ablation.png")
    return result


def merge_ablations(inputs: Sequence[str | Path], out: str | Path, *, overwrite: bool = False) -> AblationResult:
    """One ablation from several run with the same settings (e.g. seeds run side by side in copies of a
    directory): every (variant, seed) row once, the first input's where two hold it (they must agree),
    written to ``out`` as :func:`run_ablation` writes. Trains nothing; with a single input it regenerates
    that ablation's table and plot."""
    out = Path(out)
    paths = [Path(p) / ABLATION_FILE if Path(p).is_dir() else Path(p) for p in inputs]
    if not paths:
        raise ConfigError("merge needs at least one ablation")
    results = [read_result(p) for p in paths]
    for path, result in zip(paths, results):
        if not isinstance(result, AblationResult):
            raise ConfigError(f"{path} is not an ablation (avrobust ablate writes ablation.json)")
    settings = dict(results[0]["settings"])
    rest = {k: v for k, v in settings.items() if k != "init"}
    if any({k: v for k, v in r["settings"].items() if k != "init"} != rest for r in results[1:]):
        raise ConfigError("cannot merge ablations run with different settings")
    starts: dict[str, str] = {}  # each seed's starting run (init), the same wherever two ablations name one
    for r in results:
        for seed, run in r["settings"].get("init", {}).items():
            if starts.setdefault(seed, run) != run:
                raise ConfigError(f"cannot merge: the ablations start seed {seed} from different runs")
    if starts:
        settings["init"] = dict(sorted(starts.items(), key=lambda kv: int(kv[0])))
    in_place = any(p.resolve() == (out / ABLATION_FILE).resolve() for p in paths)  # redrawing its own outputs
    claim_dir(out, ABLATION_FILE, "an ablation", overwrite=overwrite or in_place)
    rows: dict[tuple[str, int], AblationRow] = {}
    for result in results:
        for row in result["rows"]:
            key = (row["variant"], row["seed"])
            if key in rows and rows[key] != row:
                raise ConfigError(f"the ablations disagree on {key[0]}, seed {key[1]}: keep one of the two runs")
            rows.setdefault(key, row)
    configs = ablation_configs(settings["steps"])
    variants = {v for v, _ in rows}
    order = [v for v in configs if v in variants]
    return _write_outputs(out, settings, list(rows.values()), order)


def _run(out: Path, label: str, method: str, seed: int, epochs: int, settings: dict[str, Any],
         threat: ThreatModel | None) -> AblationRow:
    """Train one configuration for one seed and evaluate it (worst case per clip)."""
    s = settings
    run_dir = out / "runs" / f"{label}-s{seed}"
    precision = s.get("precision", "fp32")
    summary = train_model(s["data"], s["model"], run_dir, epochs=epochs, seed=seed, method=method, threat=threat,
                          overwrite=True, batch_size=s["batch_size"], precision=precision,
                          init=s.get("init", {}).get(str(seed)), **s.get("train", {}))
    ev = evaluate_checkpoint(run_dir, split="test", attacks=[",".join(s["attacks"])] if s["attacks"] else [],
                             suite=s.get("suite"), threat=threat,
                             steps=s["eval_steps"], seed=seed, limit=s["n"], show_progress=True, precision=precision)
    return AblationRow(variant=label, method=method, seed=seed, run_dir=str(run_dir), epochs=epochs,
                       train_seconds=round(summary.total_train_seconds, 2),
                       seconds_per_epoch=round(summary.seconds_per_epoch, 3),
                       forward_segments=summary.forward_segments, n=ev.n, clean_accuracy=ev.clean_accuracy,
                       robust_accuracy={k: v.robust_accuracy for k, v in ev.attacks.items()},
                       worst_case_robust_accuracy=ev.worst_case_robust_accuracy)


def _equal_time_epochs(rows: Sequence[AblationRow], label: str, seed: int, epochs: int) -> int:
    """Epochs of ``label`` that take PGD-AT's training time at ``epochs`` epochs (seed ``seed``)."""
    spe = {r["variant"]: r["seconds_per_epoch"] for r in rows if r["seed"] == seed}  # X@time rows have their own names
    return max(1, round(epochs * spe["pgd-at"] / spe[label]))


def summarise_ablation(settings: dict[str, Any], rows: list[AblationRow], order: Sequence[str]) -> AblationResult:
    """The result of ``rows``: per variant in ``order``, mean +- std over seeds and the Pareto flag."""
    summary: dict[str, Any] = {}
    base = [r for r in rows if r["variant"] == "pgd-at"]
    base_epoch = {r["seed"]: r["seconds_per_epoch"] for r in base}
    for label in order:
        mine = [r for r in rows if r["variant"] == label]
        if not mine:
            continue
        entry: dict[str, Any] = {"seeds": [r["seed"] for r in mine]}
        for key in ("clean_accuracy", "worst_case_robust_accuracy", "train_seconds", "seconds_per_epoch"):
            entry[key] = dict(zip(("mean", "std"), mean_std([r[key] for r in mine])))
        ratios = [r["seconds_per_epoch"] / base_epoch[r["seed"]] for r in mine if r["seed"] in base_epoch]
        entry["epoch_time_over_pgd_at"] = dict(zip(("mean", "std"), mean_std(ratios))) if ratios else None
        summary[label] = entry
    front = pareto_front({k: (e["train_seconds"]["mean"], e["worst_case_robust_accuracy"]["mean"])
                          for k, e in summary.items() if e["worst_case_robust_accuracy"]["mean"] is not None})
    for label, entry in summary.items():
        entry["pareto"] = label in front
    return AblationResult(settings=settings, rows=rows, summary=summary)


def render_markdown(result: AblationResult) -> str:
    """The ablation table (percent; mean ± std over seeds)."""
    s = result.settings
    return (f"# Defence ablation: {s['model']} on `{s['data']}`\n\n{ablation_settings(s)}\n\n"
            + ablation_table(result).markdown() + "\n")
