"""The ``transfer`` and ``ensemble`` stage kinds (see :mod:`avrobust.studies.stages`)."""

from __future__ import annotations

from typing import Any

from avrobust.errors import ConfigError
from avrobust.studies.context import Context
from avrobust.studies.kinds import diff_text, first, options, register_stage, seeds_of
from avrobust.report.seed_tables import Block, ms
from avrobust.studies.spec import StageSpec
from avrobust.tables import Table, budget_text
from collections.abc import Sequence
from dataclasses import replace

from avrobust.attacks import Attack, ThreatModel, build_attacks
from avrobust.evaluation.transfer_matrix import transfer_matrix
from avrobust.stats import paired_difference
from avrobust.studies.context import ensemble_member


# --- transfer -------------------------------------------------------------------------------------
def _attacks(ctx: Context, o: dict[str, Any], k: int) -> list[Attack]:
    threat = ThreatModel().scaled(float(o["scale"]))
    attacks = build_attacks(list(o["attacks"]), threat, steps=o["steps"], seed=k)
    if o.get("tuned"):
        chosen = ctx.results.get(o["tuned"])
        if chosen is None:
            raise ConfigError(f"stage uses tuned = {o['tuned']!r}, which is not an earlier tuning stage of the study")
        for name, c in chosen["attacks"].items():
            (attack,) = build_attacks([c["chosen"]], threat, steps=o["steps"], seed=k)
            attack.label = f"{name} (tuned)"
            attacks.append(attack)
    return attacks


def _pairs(units: dict[int, dict[str, Any]]) -> dict[str, dict[tuple, float]]:
    """Black-box ASR per attack, keyed by (seed, surrogate, victim)."""
    cells: dict[str, dict[tuple, float]] = {}
    for k, result in units.items():
        for c in result["matrix"]:
            if not c["white_box"]:
                cells.setdefault(c["attack"], {})[(k, c["surrogate"], c["victim"])] = c["attack_success_rate"]
    return cells


def summarize_transfer(units: dict[int, dict[str, Any]], baseline: str | None,
                       compare: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Per attack: black-box ASR per seed (mean over its pairs), white-box ASR per seed, and paired
    differences against ``baseline`` and for each (a, b) in ``compare``."""
    cells = _pairs(units)
    white: dict[str, dict[int, list[float]]] = {}
    for k, result in units.items():
        for c in result["matrix"]:
            if c["white_box"]:
                white.setdefault(c["attack"], {}).setdefault(k, []).append(c["attack_success_rate"])
    seeds = sorted(units)
    table = {}
    for attack, d in cells.items():
        per_seed = [sum(v for key, v in d.items() if key[0] == k) / max(1, sum(key[0] == k for key in d)) for k in seeds]
        wb = [sum(white.get(attack, {}).get(k, [0.0])) / max(1, len(white.get(attack, {}).get(k, []))) for k in seeds]
        table[attack] = {"black_box_per_seed": per_seed, "white_box_per_seed": wb, "pairs": len(d) // len(seeds)}

    def diff(a: str, b: str) -> dict[str, Any] | None:
        if a not in cells or b not in cells:
            return None
        keys = sorted(set(cells[a]) & set(cells[b]))
        return paired_difference([cells[a][x] for x in keys], [cells[b][x] for x in keys])

    for attack in table:
        table[attack]["minus_baseline"] = diff(attack, baseline) if baseline and attack != baseline else None
    pairs: dict[str, dict[str, list[float]]] = {}
    for attack, d in cells.items():
        for (k, sur, vic), v in sorted(d.items()):
            pairs.setdefault(f"{sur} -> {vic}", {}).setdefault(attack, []).append(v)
    return {"seeds": seeds, "attacks": table, "pairs": pairs, "compare": [{"a": a, "b": b, "difference": diff(a, b)} for a, b in compare]}


def _render_transfer(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    base = stage.options.get("baseline", "mifgsm")
    table = Table(["attack", "black box, mean ± std over seeds", "per seed", "white box",
                   f"minus {base}, paired [95 % bootstrap]"], numeric={1, 3})
    for attack, a in r["attacks"].items():
        d = a["minus_baseline"]
        table.rows.append([attack, ms(a["black_box_per_seed"]), " / ".join(f"{100 * v:.1f}" for v in a["black_box_per_seed"]),
                           ms(a["white_box_per_seed"]), diff_text(d) if d else ""])
    blocks: list[Block] = [f"Black-box ASR %, {len(r['seeds'])} seeds (mean over each seed's (surrogate, victim) pairs), "
                           f"budget {r['budget']}, {r['n']} clips, {r['steps']} steps.", table]
    blocks += [f"{c['a']} minus {c['b']}: {diff_text(c['difference'])} points" for c in r["compare"] if c["difference"]]
    if stage.options.get("matrix"):
        attacks = list(r["attacks"])
        blocks.append(Table(["surrogate -> victim", *attacks],
                            [[pair, *(ms(cells.get(a, [])) for a in attacks)] for pair, cells in r["pairs"].items()],
                            numeric=set(range(1, len(attacks) + 1))))
    return blocks


TRANSFER_KEYS = ("surrogates", "victims", "attacks", "scale", "n", "steps", "batch_size", "baseline", "compare", "tuned",
                 "seeds", "matrix")
TRANSFER_DEFAULTS = {"scale": 1.0, "n": 64, "steps": 10, "batch_size": 32, "baseline": "mifgsm", "compare": [],
                     "tuned": None, "matrix": False}


@register_stage("transfer", TRANSFER_KEYS, _render_transfer)
def transfer(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Per seed one transfer matrix (every surrogate against every victim, white box where equal)."""
    o = options(stage, TRANSFER_DEFAULTS)
    units = {}
    for k in seeds_of(ctx, o):
        def compute(k=k) -> dict[str, Any]:
            data = ctx.dataset("test")
            sur, vic = ctx.members(o["surrogates"], k), ctx.members(o["victims"], k)
            return dict(transfer_matrix(sur, vic, data, _attacks(ctx, o, k), indices=first(data, o["n"]),
                                        batch_size=o["batch_size"], show_progress=ctx.show_progress))
        units[k] = ctx.unit(ctx.dir / stage.name / f"s{k}.json", compute)
    budget = ThreatModel().scaled(float(o["scale"])).describe()
    return {**summarize_transfer(units, o["baseline"], o["compare"]), "n": o["n"], "steps": o["steps"],
            "budget": budget_text(budget)}


# --- ensemble -------------------------------------------------------------------------------------
def _render_ensemble(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    overall = Table(["attack", "single, mean", "best single", "ensemble", "ensemble minus mean single [95 % bootstrap]",
                     "ensemble minus best single"],
                    [[attack, ms(a["single"]), ms(a["best_single"]), ms(a["ensemble"]), diff_text(a["minus_single"]),
                      diff_text(a["minus_best"])] for attack, a in r["attacks"].items()], numeric={1, 2, 3})
    per_victim = Table(["attack", "victim", "single, mean", "best single", "ensemble"],
                       [[attack, v, ms(x["single"]), ms(x["best_single"]), ms(x["ensemble"])]
                        for attack, victims in r.get("per_victim", {}).items() for v, x in victims.items()],
                       numeric={2, 3, 4})
    return [f"Black-box ASR % on each victim, {len(r['seeds'])} seeds x {r['victims']} victims; the ensemble "
            "averages the logits of every surrogate but the victim; single = each of those surrogates alone; mean ± std "
            "over (seed, victim) entries.", overall, "Per victim (mean ± std over seeds):", per_victim]


@register_stage("ensemble", TRANSFER_KEYS, _render_ensemble)
def ensemble(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """For each seed and victim v: the attacks crafted on ens(surrogates - v) and on each surrogate alone."""
    o = options(stage, TRANSFER_DEFAULTS)
    rows: dict[str, dict[str, list[float]]] = {}
    per_victim: dict[str, dict[str, dict[str, list[float]]]] = {}
    units = {}
    for k in seeds_of(ctx, o):
        def singles(k=k) -> dict[str, Any]:
            data = ctx.dataset("test")
            sur, vic = ctx.members(o["surrogates"], k), ctx.members(o["victims"], k)
            return dict(transfer_matrix(sur, vic, data, _attacks(ctx, o, k), indices=first(data, o["n"]),
                                        batch_size=o["batch_size"], show_progress=ctx.show_progress))
        units[k, None] = ctx.unit(ctx.dir / stage.name / f"s{k}-single.json", singles)
        for ref, label in ctx.labels(o["victims"]):
            def ens(ref=ref, label=label, k=k) -> dict[str, Any]:
                data = ctx.dataset("test")
                v = replace(ctx.members([ref], k)[0], label=label)
                pool = [m for m in ctx.members(o["surrogates"], k) if not set(m.sources) & set(v.sources)]
                return dict(transfer_matrix([ensemble_member(pool)], [v], data, _attacks(ctx, o, k),
                                            indices=first(data, o["n"]), batch_size=o["batch_size"],
                                            show_progress=ctx.show_progress))
            units[k, label] = ctx.unit(ctx.dir / stage.name / f"s{k}-ens-{label}.json", ens)
    victims = [label for _, label in ctx.labels(o["victims"])]
    for k in seeds_of(ctx, o):
        single = units[k, None]
        for label in victims:
            for c in units[k, label]["matrix"]:
                own = [s["attack_success_rate"] for s in single["matrix"] if s["victim"] == label
                       and s["attack"] == c["attack"] and not s["white_box"]]
                for r in (rows.setdefault(c["attack"], {"single": [], "best_single": [], "ensemble": []}),
                          per_victim.setdefault(c["attack"], {}).setdefault(label, {"single": [], "best_single": [],
                                                                                    "ensemble": []})):
                    r["single"].append(sum(own) / len(own))
                    r["best_single"].append(max(own))
                    r["ensemble"].append(c["attack_success_rate"])
    attacks = {a: {**r, "minus_single": paired_difference(r["ensemble"], r["single"]),
                   "minus_best": paired_difference(r["ensemble"], r["best_single"])} for a, r in rows.items()}
    return {"seeds": seeds_of(ctx, o), "victims": len(victims), "attacks": attacks, "per_victim": per_victim}


