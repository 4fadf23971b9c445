"""The ``card`` stage kind: the robustness card's other sections (natural corruptions, failing modalities,
certified accuracy; :func:`~avrobust.evaluation.model_card.run_benchmark` without threat models) of zoo
models per seed, and the tables that compare them: mean accuracy per model and modality, which corruptions
hurt most on each stream, failures, accuracy against severity, certified accuracy, and the cost per clip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avrobust.certification import certify_model
from avrobust.evaluation.model_card import run_benchmark
from avrobust.jobs.certify import certifier_from_spec
from avrobust.report.seed_tables import Block, ms
from avrobust.results.benchmark import BenchmarkResult
from avrobust.studies.context import Context
from avrobust.studies.kinds import first, options, register_stage, seeds_of
from avrobust.studies.spec import StageSpec
from avrobust.tables import Table

MODALITY_LABELS = {"both": "both streams", "video": "frames only", "audio": "waveform only"}


def _cards(r: dict[str, Any]) -> dict[str, list[BenchmarkResult]]:
    return {model: [BenchmarkResult.from_dict(c) for c in cards] for model, cards in r["models"].items()}


def _per_corruption(cards: Sequence[BenchmarkResult], modality: str, failures: bool = False) -> dict[str, list[float]]:
    """Mean accuracy over severities per corruption, one value per seed."""
    out: dict[str, list[float]] = {}
    for c in cards:
        section = c.failures if failures else c.corruptions
        for name, accs in (section.accuracy.get(modality, {}) if section else {}).items():
            out.setdefault(name, []).append(sum(accs) / len(accs))
    return out


def _render_card(stage: StageSpec, r: dict[str, Any]) -> list[Block]:
    cards = _cards(r)
    models = list(cards)
    summary = Table(["model", "seeds", "clean", *[f"corrupted, {MODALITY_LABELS[m]}" for m in MODALITY_LABELS],
                     "relative (both)", "failures", "s / clip corruptions", "of it making them %"],
                    numeric=set(range(1, 10)))
    for model, cs in cards.items():
        nat = [c.corruptions for c in cs if c.corruptions]
        summary.rows.append([model, str(len(cs)), ms([c.clean_accuracy for c in cs]),
                             *[ms([x.mean(m) for x in nat if x.mean(m) is not None]) for m in MODALITY_LABELS],
                             ms([x.relative() for x in nat if x.relative() is not None]),
                             ms([c.failures.mean() for c in cs if c.failures and c.failures.mean() is not None]),
                             ms([x.seconds / max(x.n, 1) for x in nat], 1.0, 3),
                             ms([x.corrupt_seconds / max(x.seconds, 1e-9) for x in nat], 100.0, 0)])
    blocks: list[Block] = [f"{r['n']} test clips per card (certificates: {r['certify_n']}), seeds {r['seeds']}; accuracy % "
                           "as mean ± std over seeds, each the mean over every corruption and severity.", summary]
    first_model = models[0]
    rows = {m: _per_corruption(cards[first_model], m) for m in MODALITY_LABELS}
    hurt = Table(["corruption", *[MODALITY_LABELS[m] for m in MODALITY_LABELS], *[f"{m} (both)" for m in models[1:]]],
                 numeric=set(range(1, 4 + len(models) - 1)), title="which corruptions hurt most: mean accuracy % over severities")
    others = {m: _per_corruption(cards[m], "both") for m in models[1:]}
    for name in sorted(rows["both"], key=lambda n: sum(rows["both"][n]) / len(rows["both"][n])):
        hurt.rows.append([name, *[ms(rows[m].get(name, [])) for m in MODALITY_LABELS],
                          *[ms(others[m].get(name, [])) for m in models[1:]]])
    blocks += [f"Per corruption ({first_model} on each stream, every model on both), hardest first:", hurt]
    fail = _per_corruption(cards[first_model], "both", failures=True)
    if fail:
        ft = Table(["failure", *models], numeric=set(range(1, len(models) + 1)), title="failing modalities: mean accuracy % over severities")
        per = {m: _per_corruption(cards[m], "both", failures=True) for m in models}
        ft.rows += [[name, *[ms(per[m].get(name, [])) for m in models]] for name in fail]
        blocks.append(ft)
    sev = Table(["model", *[f"s{s}" for s in range(1, 6)]], numeric=set(range(1, 6)),
                title="accuracy % against severity (both streams, mean over corruptions)")
    for model, cs in cards.items():
        at = [[sum(row[s] for row in c.corruptions.accuracy["both"].values()) / len(c.corruptions.accuracy["both"])
               for c in cs if c.corruptions] for s in range(5)]
        sev.rows.append([model, *[ms(v) for v in at]])
    blocks.append(sev)
    certs = [(k, spec) for k, spec in enumerate(r["certify"])]
    if certs:
        blocks.append("Certifiers: " + "; ".join(f"`{spec}`" for _, spec in certs) + " (radii in each one's units: "
                      + "; ".join(f"{spec.partition(':')[0]}: {next(iter(cards.values()))[0].certified[k].radius_units}"
                                  for k, spec in certs) + ").")
        ct = Table(["model", *[f"{spec.partition(':')[0]} @ {x:g}" for k, spec in certs for x in _radii(cards, k)],
                    "abstained (first)", "s / clip"],
                   numeric=set(range(1, 40)), title="certified accuracy % at each radius")
        for model, cs in cards.items():
            cells = [ms([c.certified[k].certified_accuracy[i] for c in cs]) for k, _ in certs for i in range(len(_radii(cards, k)))]
            ct.rows.append([model, *cells, ms([c.certified[0].abstained for c in cs]),
                            " / ".join(ms([c.certified[k].seconds / max(c.certified[k].n, 1) for c in cs], 1.0, 2) for k, _ in certs)])
        blocks.append(ct)
    return blocks


def _radii(cards: dict[str, list[BenchmarkResult]], k: int) -> list[float]:
    return next(iter(cards.values()))[0].certified[k].radii


@register_stage("card", ("models", "corruptions", "failures", "certify", "n", "certify_n", "batch_size", "seeds"), _render_card)
def card(ctx: Context, stage: StageSpec) -> dict[str, Any]:
    """Per seed and model of ``models``: the card's corruption section on ``n`` test clips (``corruptions``:
    ``all`` or names), with ``failures`` its failure section, and one certified section per ``certify`` spec
    on the first ``certify_n`` of them."""
    o = options(stage, {"corruptions": "all", "failures": True, "certify": [], "n": 64, "certify_n": 32, "batch_size": 64})
    for spec in o["certify"]:
        certifier_from_spec(spec)  # a bad spec fails before anything trains
    out: dict[str, list[dict[str, Any]]] = {}
    for k in seeds_of(ctx, o):
        for ref, label in ctx.labels(o["models"]):
            def compute(ref=ref, label=label, k=k) -> dict[str, Any]:
                (m,) = ctx.members([ref], k)
                data = ctx.dataset("test")
                card = run_benchmark(m.model, data, threats=(), indices=first(data, o["n"]), seed=k,
                                     batch_size=o["batch_size"], show_progress=ctx.show_progress, model_name=label,
                                     checkpoint=m.sources[0], corruptions=[o["corruptions"]], failures=bool(o["failures"]))
                clips = first(data, o["certify_n"])
                card.certified = [certify_model(m.model, data, certifier_from_spec(spec), indices=clips, seed=k,
                                                model_name=label, checkpoint=m.sources[0]) for spec in o["certify"]]
                return dict(card)
            out.setdefault(label, []).append(ctx.unit(ctx.dir / stage.name / f"s{k}-{label}.json", compute))
    return {"models": out, "seeds": seeds_of(ctx, o), "n": o["n"], "certify_n": o["certify_n"], "certify": list(o["certify"])}
