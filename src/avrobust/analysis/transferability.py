"""Analyses (b)-(f): how attack success, white box and black box, depends on one factor.

* (b) ``modality``: attacking audio only, video only, or both (same budgets).
* (c) ``temporal-masking``: MI-FGSM against the same attack crafted on temporally masked copies
  (TMA with lambda1 = lambda2 = 0 and the ``mask`` transformation only) for several ratios,
  synchronous and asynchronous.
* (d) ``alignment``: ASR against the victims' cross-modal cosine similarity of softmax(p_a) and
  softmax(p_v) on the adversarial clips, for FGSM, I-FGSM, MI-FGSM, NI-FGSM and TMA.
* (e) ``iterations``: ASR against the number of iterations for I-FGSM, MI-FGSM, TIA, MMA, TMA
  (step size eps / steps, so each run uses its whole budget).
* (f) ``eps``: ASR against a common scale of both budgets.

"Black box" is the mean over the victims; without victims only white-box figures exist.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from avrobust.analysis.study import Study
from avrobust.attacks import default_attacks
from avrobust.attacks.transforms import MASK_RATIO
from avrobust.plotting import bar_plot, line_plot, scatter_plot
from avrobust.analysis.base import register_analysis

MODALITY_SETS = {"audio": ("audio",), "video": ("video",), "both": ("video", "audio")}


def _key(study: Study) -> str:
    """The ASR the plots show: black box when there are victims, else white box."""
    return "black_box_asr" if study.victims else "white_box_asr"


def _pearson(xs: Sequence[float | None], ys: Sequence[float | None]) -> float | None:
    """Pearson r over the pairs where both are known (None for fewer than 3 or a constant side)."""
    pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    if len(pts) < 3:
        return None
    try:
        return statistics.correlation([p[0] for p in pts], [p[1] for p in pts])
    except statistics.StatisticsError:
        return None


# ---- plots (one PNG per analysis) -----------------------------------------------------------------
def _ylabel(shown: str) -> str:
    return ("black-box" if shown == "black_box_asr" else "white-box") + " ASR %"


def _both(series: dict[str, list[dict[str, Any]]], shown: str) -> dict[str, Any]:
    """Line series of the shown ASR (solid) and, when it is black box, the white-box ASR (dashed),
    one colour per attack: keyword arguments for :func:`~avrobust.plotting.line_plot`."""
    lines, styles, colors = {}, {}, {}
    for k, (label, ms) in enumerate(series.items()):
        name = f"{label} ({'black' if shown == 'black_box_asr' else 'white'} box)"
        lines[name], colors[name] = [m[shown] for m in ms], k
        if shown == "black_box_asr":
            white = f"{label} (white box)"
            lines[white], styles[white], colors[white] = [m["white_box_asr"] for m in ms], "--x", k
    return {"series": lines, "styles": styles, "colors": colors}


def plot_modality(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    bar_plot(r["modalities"], {a: [r["results"][a][m][r["shown"]] for m in r["modalities"]] for a in r["attacks"]},
             path, ylabel=_ylabel(r["shown"]), title="attacked modalities")


def plot_temporal_masking(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    x = [0.0, *r["ratios"]]
    series = {mode: [r["results"]["none"][r["shown"]]] + [r["results"][f"{mode}-{rho:g}"][r["shown"]] for rho in r["ratios"]]
              for mode in ("sync", "async")}
    line_plot(x, series, path, xlabel="masking ratio during crafting (0: plain attack)",
              ylabel=_ylabel(r["shown"]), title=f"{r['attack']} with temporal masking")


def plot_alignment(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    pts = {a: (m[r["cosine"]], m[r["shown"]]) for a, m in r["results"].items() if m[r["cosine"]] is not None}
    rr = "n/a" if r["pearson_r"] is None else f"{r['pearson_r']:.2f}"
    scatter_plot(pts, path, xlabel="cross-modal cosine of p_a, p_v on adversarial clips %",
                 ylabel=_ylabel(r["shown"]), title=f"ASR vs modality agreement (Pearson r {rr})")


def plot_iterations(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    line_plot(r["steps"], path=path, xlabel="iterations", ylabel="ASR %", logx=True,
              title="ASR against iterations", **_both(r["results"], r["shown"]))


def plot_eps(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    line_plot([255 * e for e in r["eps_video"]], path=path, xlabel="video eps x 255 (audio eps scaled alike)",
              ylabel="ASR %", logx=True, title="ASR against budget", **_both(r["results"], r["shown"]))


# ---- the analyses ---------------------------------------------------------------------------------
@register_analysis("modality", aliases=("b",), plot=plot_modality)
def modality(study: Study, attacks: Sequence[str] | None = None) -> dict[str, Any]:
    """(b) ``{"attacks", "modalities", "results": {attack: {audio|video|both: measures}}}``."""
    chosen = list(attacks or default_attacks("modality"))
    results: dict[str, dict[str, Any]] = {}
    for name, mods in MODALITY_SETS.items():
        for label, m in study.measure(study.attacks(chosen, threat=study.threat.with_modalities(*mods))).items():
            results.setdefault(label, {})[name] = m
    return {"attacks": list(results), "modalities": list(MODALITY_SETS), "shown": _key(study), "results": results}


@register_analysis("temporal-masking", aliases=("c",), plot=plot_temporal_masking, values="ratios")
def temporal_masking(study: Study, values: Sequence[float] | None = None, attack: str = "mifgsm",
                     copies: int = 4) -> dict[str, Any]:
    """(c) ``attack`` without masking (rho = 0) and with masked copies at each ratio, sync and async."""
    ratios = [float(v) for v in (values or (0.125, MASK_RATIO, 0.5))]
    specs = {"none": attack}
    for sync in (True, False):
        for rho in ratios:
            specs[f"{'sync' if sync else 'async'}-{rho:g}"] = (
                f"tma:lambda1=0,lambda2=0,transforms=mask,copies={copies},mask_ratio={rho},mask_synchronous={sync}")
    measured = study.measure(study.attacks(list(specs.values())))
    results = {name: measured[spec] for name, spec in specs.items()}
    return {"attack": attack, "ratios": ratios, "copies": copies, "shown": _key(study), "results": results}


@register_analysis("alignment", aliases=("d",), plot=plot_alignment)
def alignment(study: Study, attacks: Sequence[str] | None = None) -> dict[str, Any]:
    """(d) Per attack: ASR and the mean cross-modal cosine on the adversarial clips; plus the
    Pearson correlation between the two over the attacks."""
    chosen = list(attacks or default_attacks("alignment"))
    results = study.measure(study.attacks(chosen))
    cos_key = "black_box_cosine" if study.victims else "white_box_cosine"
    xs = [r[cos_key] for r in results.values()]
    ys = [r[_key(study)] for r in results.values()]
    return {"attacks": list(results), "shown": _key(study), "cosine": cos_key, "pearson_r": _pearson(xs, ys),
            "results": results}


@register_analysis("iterations", aliases=("e",), plot=plot_iterations, values="steps")
def iterations(study: Study, values: Sequence[float] | None = None,
               attacks: Sequence[str] | None = None) -> dict[str, Any]:
    """(e) ``{"steps": [...], "results": {attack: [measures per step count]}}``."""
    chosen = list(attacks or default_attacks("iterations"))
    steps = [int(v) for v in (values or (1, 2, 5, 10, 20, 50))]
    results: dict[str, list[dict[str, Any]]] = {}
    for k in steps:
        for label, m in study.measure(study.attacks(chosen, steps=k)).items():
            results.setdefault(label, []).append(m)
    return {"steps": steps, "shown": _key(study), "results": results}


@register_analysis("eps", aliases=("f",), plot=plot_eps, values="budget scales")
def eps(study: Study, values: Sequence[float] | None = None,
        attacks: Sequence[str] | None = None) -> dict[str, Any]:
    """(f) ``{"scales", "eps_video", "eps_audio", "results": {attack: [measures per scale]}}``."""
    chosen = list(attacks or default_attacks("eps"))
    scales = [float(v) for v in (values or (0.25, 0.5, 1.0, 2.0, 4.0))]
    results: dict[str, list[dict[str, Any]]] = {}
    for s in scales:
        for label, m in study.measure(study.attacks(chosen, threat=study.threat.scaled(s))).items():
            results.setdefault(label, []).append(m)
    return {"scales": scales, "eps_video": [study.threat.video.eps * s for s in scales],
            "eps_audio": [study.threat.audio.eps * s for s in scales], "shown": _key(study), "results": results}
