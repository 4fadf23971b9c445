"""The GPU study pack (issue 39): the pretrained claims study at full size on one GPU machine.

``benchmarks/studies/pretrained.toml`` is the claims study in the pretrained regime, cut to fit the 2-core
CPU box (16 test clips per transfer matrix, 2 seeds, the costly stages on seed 0). The pack runs it at
full size: every stage on 3 seeds and on all 400 test clips of ``digits:size=64,sample_rate=16000``.

1. It writes ``OUT/full.toml`` (the full study) and ``OUT/pilot.toml`` (the same stages on seed 0, on
   ``--pilot-n`` clips, 1 epoch per zoo model).
2. The throughput benchmark: the pilot runs on this machine, stage by stage, timed (the study's own work,
   so the measured clips per second are those of its attacks, models and data). The estimate scales each
   stage's seconds by its clips (full n / pilot n) and seeds, and each zoo model's training seconds by its
   epochs and seeds; model loading and data building are scaled too, so it errs high.
3. If the estimate fits ``--budget-min`` (10 minutes by default) or ``--force`` is given, it runs the full
   study (``avrobust study OUT/full.toml``, resumable: rerun the same command after a preemption) and
   prints the claims table; otherwise it stops with one line naming the stages that cost most.

Usage (on the GPU machine; AVROBUST_DEVICE or --device picks the device, CUDA when there is one):
    PYTHONPATH=src python benchmarks/gpu_study_pack.py OUT [--budget-min 10] [--force] [--pilot-n 32]
    PYTHONPATH=src python benchmarks/gpu_study_pack.py OUT --dry-run [--claims-from STUDY.json]
``--dry-run`` (the suite runs it, on the CPU): writes both study files, checks them, plans the full study
(how many jobs, nothing computed) and prints the claims table of ``--claims-from`` (a study JSON already
there, by default RESULTS.md's pretrained pilot) so the printer is checked too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "benchmarks" / "studies" / "pretrained.toml"
PILOT_JSON = ROOT / "benchmarks" / "results" / "issue30-pretrained.json"
SEEDS = [0, 1, 2]
TEST_CLIPS = 400  # digits' test split


# --- the study files --------------------------------------------------------------------------------
def full_study(template: dict[str, Any], out: Path, seeds: list[int] = SEEDS, clips: int = TEST_CLIPS) -> dict[str, Any]:
    """The template at full size: every stage on ``seeds`` and ``clips`` test clips."""
    study = {**template, "name": f"{template['name']}-full", "seeds": seeds, "output": str(out / "claims-full"),
             "title": f"{template.get('title', template['name'])}: full size (GPU study pack)"}
    study["stage"] = [{**{k: v for k, v in s.items() if k != "seeds"}, **({"n": clips} if "n" in s else {})}
                      for s in template["stage"]]
    return study


def pilot_study(full: dict[str, Any], out: Path, n: int) -> dict[str, Any]:
    """The full study on seed 0, ``n`` clips per stage and 1 epoch per zoo model (the throughput measurement)."""
    zoos = {name: {**z, "epochs": 1} for name, z in full["zoos"].items()}
    return {**full, "name": f"{full['name']}-pilot", "seeds": full["seeds"][:1], "output": str(out / "pilot"), "zoos": zoos,
            "stage": [{**s, **({"n": min(n, s["n"])} if "n" in s else {})} for s in full["stage"]]}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def dump_toml(study: dict[str, Any]) -> str:
    """A study dict as TOML: top-level keys, ``[zoos.NAME]`` tables, ``[[stage]]`` entries."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in study.items() if k not in ("zoos", "stage", "executor")]
    for name, zoo in study.get("zoos", {}).items():
        lines += ["", f"[zoos.{toml_key(name)}]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in zoo.items())]
    if study.get("executor"):
        lines += ["", "[executor]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in study["executor"].items())]
    for stage in study["stage"]:
        lines += ["", "[[stage]]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in stage.items())]
    return "\n".join(lines) + "\n"


def stage_name(stage: dict[str, Any]) -> str:
    return stage.get("name", stage["kind"])


# --- the estimate -----------------------------------------------------------------------------------
def estimate(pilot: dict[str, Any], full: dict[str, Any], timings: dict[str, Any]) -> dict[str, Any]:
    """Seconds of the full study from the pilot's: ``timings`` holds ``stages`` (name -> seconds, training
    included) and ``trained`` (stage name -> [(zoo, model, train seconds, epochs)] first trained in it).

    A stage's work beside training scales with its clips and seeds; training with epochs and seeds."""
    seeds = len(full["seeds"]) / len(pilot["seeds"])
    rows, total = [], 0.0
    for p, f in zip(pilot["stage"], full["stage"]):
        name = stage_name(p)
        trained = timings["trained"].get(name, [])
        train_pilot = sum(t for _, _, t, _ in trained)
        train_full = sum(t / e * full["zoos"][z].get("epochs", 1) for z, _, t, e in trained) * seeds
        clips = f["n"] / p["n"] if "n" in f else 1.0
        work_pilot = max(timings["stages"][name] - train_pilot, 0.0)
        seconds = train_full + work_pilot * clips * seeds
        rows.append({"stage": name, "pilot_s": round(timings["stages"][name], 1), "train_s": round(train_full, 1),
                     "scale": round(clips * seeds, 2), "estimate_s": round(seconds, 1)})
        total += seconds
    return {"rows": rows, "total_s": round(total, 1)}


def run_pilot(path: Path, root: Path) -> dict[str, Any]:
    """Run the pilot study stage by stage; each stage's seconds and the zoo models first trained in it."""
    from avrobust.studies import load_study, run_study

    spec = load_study(path)
    stages: dict[str, float] = {}
    trained: dict[str, list[tuple[str, str, float, int]]] = {}
    seen: set[Path] = set()
    for stage in spec.stages:
        t0 = time.perf_counter()
        run_study(path, root, stages=[stage.name])
        stages[stage.name] = time.perf_counter() - t0
        for summary in sorted((root / "zoos").glob("*/s*/*/summary.json")):
            if summary not in seen:
                seen.add(summary)
                s = json.loads(summary.read_text())
                zoo = summary.parents[2].name
                trained.setdefault(stage.name, []).append((zoo, summary.parent.name, s["total_train_seconds"],
                                                          len(s.get("history", [])) or 1))
    return {"stages": stages, "trained": trained}


# --- the claims table -------------------------------------------------------------------------------
def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def interval(d: dict[str, Any] | None) -> str:
    if not d:
        return "n/a"
    return f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] ({d['n']} pairs)"


def verdict(d: dict[str, Any] | None) -> str:
    """Mechanical: the 95 % interval of a paired difference above 0, below 0, or across it."""
    if not d:
        return "not measured"
    return "holds" if d["low"] > 0 else "reverse" if d["high"] < 0 else "not separated"


def _compare(stage: dict[str, Any] | None, a: str, b: str) -> dict[str, Any] | None:
    for c in (stage or {}).get("compare", []):
        if c["a"] == a and c["b"] == b:
            return c["difference"]
    return None


def _runs(stage: dict[str, Any] | None, analysis: str) -> list[dict[str, Any]]:
    return [r["results"] for r in (stage or {}).get("runs", {}).get(analysis, [])]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def claims(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The claims table's rows (claim, measured, verdict) from a study record shaped like pretrained.toml's."""
    st = record["stages"]
    rows = []
    for scale in ("x1", "x0.25", "x4"):
        if scale in st:
            for a, b, claim in (("tma", "mifgsm", "TMA transfers better than MI-FGSM"),
                                ("tia", "pam", "TIA transfers better than PAM")):
                d = _compare(st[scale], a, b)
                rows.append((f"{claim} ({scale})", interval(d), verdict(d)))
    if "ensemble" in st:
        for attack, victims in st["ensemble"]["per_victim"].items():
            ens = {v: _mean(r["ensemble"]) for v, r in victims.items()}
            text = ", ".join(f"{v}: ensemble {pct(e)} % (best single {pct(_mean(victims[v]['best_single']))})"
                             for v, e in ens.items())
            rows.append((f"An ensemble of surrogates reaches 100 % ({attack})",
                         text + f"; ensemble minus best single {interval(st['ensemble']['attacks'][attack]['minus_best'])}",
                         "holds" if min(ens.values()) >= 0.995 else "does not hold"))
    masking = _runs(st.get("masking"), "masking")
    if masking:
        i = masking[0]["ratios"].index(max(masking[0]["ratios"]))
        acc = {k: _mean([m["accuracy"][k][i] for m in masking]) for k in masking[0]["accuracy"]}
        rho = masking[0]["ratios"][i]
        rows.append((f"Vision more vulnerable than audio under masking (rho {rho:g})",
                     f"frames masked {pct(acc['video-only'])} %, sound masked {pct(acc['audio-only'])} % accuracy",
                     "holds" if acc["video-only"] < acc["audio-only"] else "does not hold"))
        rows.append((f"Synchronous masking hurts more than asynchronous (rho {rho:g})",
                     f"sync {pct(acc['synchronous'])} %, async {pct(acc['asynchronous'])} % accuracy",
                     "holds" if acc["synchronous"] < acc["asynchronous"] else "does not hold"))
    for name in ("iterations-masking", "iterations"):
        its = _runs(st.get(name), "iterations")
        if its:
            steps = its[0]["steps"]
            curves = {a: [_mean([r["results"][a][j][r["shown"]] for r in its]) for j in range(len(steps))]
                      for a in its[0]["results"]}
            text = "; ".join(f"{a} " + "/".join(pct(x) for x in c) for a, c in curves.items())
            falls = curves.get("mifgsm", [0])[-1] < max(curves.get("mifgsm", [0]))
            rises = all(c[-1] >= c[0] for a, c in curves.items() if a != "mifgsm")
            rows.append((f"TIA/MMA keep rising with iterations, MI-FGSM overfits (steps {'/'.join(map(str, steps))})",
                         text + " % black-box ASR", "holds" if falls and rises else "half" if rises else "does not hold"))
            break
    for name in ("iterations-masking", "temporal-masking"):
        tm = _runs(st.get(name), "temporal-masking")
        if tm:
            shown = tm[0]["shown"]
            none = _mean([r["results"]["none"][shown] for r in tm])
            masked = {k: _mean([r["results"][k][shown] for r in tm]) for k in tm[0]["results"] if k != "none"}
            rows.append(("Temporal masking during crafting raises transfer (mean over its settings)",
                         f"without {pct(none)} %, with " + ", ".join(f"{k} {pct(v)}" for k, v in masked.items()) + " %",
                         "holds" if _mean(list(masked.values())) > none else "does not hold"))
            break
    return rows


def claims_markdown(record: dict[str, Any]) -> str:
    lines = [f"Claims table: {record.get('title', '')} (seeds {record.get('seeds')}, {record.get('machine', '')})", "",
             "| claim | measured | verdict (mechanical) |", "|---|---|---|"]
    lines += [f"| {c} | {m} | {v} |" for c, m, v in claims(record)]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--budget-min", type=float, default=10.0, help="run the full study only if the estimate fits")
    ap.add_argument("--force", action="store_true", help="run the full study whatever the estimate")
    ap.add_argument("--pilot-n", type=int, default=32, help="clips per stage in the pilot")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: AVROBUST_DEVICE, else CUDA if any)")
    ap.add_argument("--dry-run", action="store_true", help="write and plan the study files; run nothing")
    ap.add_argument("--claims-from", type=Path, default=PILOT_JSON, help="dry run: the study JSON whose claims to print")
    ap.add_argument("--template", type=Path, default=TEMPLATE, help="the study to run at full size")
    ap.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    ap.add_argument("--test-clips", type=int, default=TEST_CLIPS, help="clips per stage in the full study")
    args = ap.parse_args()

    from avrobust.device import choose
    from avrobust.studies import load_study
    from avrobust.studies.planning import plan

    choose(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    full = full_study(tomllib.loads(args.template.read_text()), args.out, args.seeds, args.test_clips)
    pilot = pilot_study(full, args.out, args.pilot_n)
    (args.out / "full.toml").write_text(dump_toml(full))
    (args.out / "pilot.toml").write_text(dump_toml(pilot))
    spec = load_study(args.out / "full.toml")
    jobs, _ = plan(spec, args.out / "runs")
    kinds = [j.kind for j in jobs.values()]
    print(f"full study: {len(spec.stages)} stages on seeds {list(spec.seeds)}, n = {args.test_clips}; "
          f"{kinds.count('train')} zoo models to train, {kinds.count('unit')} units planned now "
          f"(later stages' units are planned once what they read exists)")
    if args.dry_run:
        load_study(args.out / "pilot.toml")
        print(claims_markdown(json.loads(args.claims_from.read_text())))
        return
    timings_path = args.out / "pilot-timings.json"
    if not timings_path.exists():
        timings_path.write_text(json.dumps(run_pilot(args.out / "pilot.toml", args.out / "pilot-runs"), indent=1))
    est = estimate(pilot, full, json.loads(timings_path.read_text()))
    (args.out / "estimate.json").write_text(json.dumps(est, indent=1))
    print("| stage | pilot s | full training s | scale | estimate s |\n|---|---:|---:|---:|---:|")
    for r in est["rows"]:
        print(f"| {r['stage']} | {r['pilot_s']} | {r['train_s']} | {r['scale']} | {r['estimate_s']} |")
    print(f"estimate: {est['total_s'] / 60:.1f} min for the full study (budget {args.budget_min:g} min)")
    if est["total_s"] > 60 * args.budget_min and not args.force:
        top = sorted(est["rows"], key=lambda r: -r["estimate_s"])[:2]
        sys.exit(f"the estimate ({est['total_s'] / 60:.1f} min) exceeds --budget-min {args.budget_min:g}; the costliest "
                 f"stages are {', '.join(r['stage'] for r in top)}; rerun with --force to run it anyway")
    from avrobust.studies import run_study

    t0 = time.perf_counter()
    record = run_study(args.out / "full.toml", args.out / "runs")
    print(f"full study: {time.perf_counter() - t0:.0f} s (estimate {est['total_s']:.0f} s)")
    print(claims_markdown(record))


if __name__ == "__main__":
    main()
