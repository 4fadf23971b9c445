import json
import re
from pathlib import Path

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.jobs.ablate import ablation_configs, pareto_front, run_ablation
from avrobust.attacks.threat import ThreatModel
from avrobust.errors import ConfigError


def test_configurations_cover_the_issue():
    configs = ablation_configs(5)
    assert configs["pgd-at"] == "pgd-at:steps=5"
    assert "curriculum=false" in configs["sampling"] and "rho=0.25" in configs["sampling"]
    assert "rho=1," in configs["curriculum"] and "curriculum" not in configs["curriculum"].split(",", 1)[1]
    assert {"rho=0.125", "rho=0.4", "sched=constant", "sched=cosine", "sched=step", "both"} <= set(configs)
    assert configs["free-at"] == "free-at:replays=5" and {"trades", "fgsm-rs", "n-fgsm"} <= set(configs)


@pytest.mark.parametrize("part", ["steps", "mask", "dropout"])
def test_curriculum_part_variants_schedule_only_that_part(part):
    from avrobust.defences import create_method
    from avrobust.specs import parse_spec
    name, options = parse_spec(ablation_configs(5)[f"part={part}"])
    method = create_method(name, **options)
    first, last = method.curriculum.at(0, 8), method.curriculum.at(7, 8)
    moving = {"steps": first["attack_steps"] != last["attack_steps"], "mask": first["mask_ratio"] != last["mask_ratio"],
              "dropout": first["dropout"] != last["dropout"]}
    assert moving == {p: p == part for p in moving}
    assert last["attack_steps"] == 5 and first["mask_ratio"] == 0 and first["dropout"] == 0


@pytest.mark.slow
def test_ablation_runs_writes_outputs_and_resumes(tmp_path, tiny_spec, run_cli):
    out = tmp_path / "abl"
    code, stdout, err = run_cli("ablate", "--out", out, "--data", tiny_spec, "--seeds", "0", "1", "--epochs", "1",
                                "--steps", "1", "--n", "6", "--attack", "fgsm", "--eval-steps", "1",
                                "--variants", "pgd-at,both", "--batch-size", "8")
    assert code == 0, err
    result = json.loads((out / "ablation.json").read_text())
    assert len(result["rows"]) == 4 and {r["seed"] for r in result["rows"]} == {0, 1}
    both = result["summary"]["both"]
    assert both["seeds"] == [0, 1] and both["epoch_time_over_pgd_at"]["mean"] > 0
    for r in result["rows"]:
        assert r["worst_case_robust_accuracy"] <= r["robust_accuracy"]["fgsm"] <= r["clean_accuracy"]
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"
    assert "| both |" in (out / "ablation.md").read_text() and "| both |" in stdout
    code, _, err = run_cli("ablate", "--out", out, "--data", tiny_spec)
    assert code == 2 and "already holds an ablation" in err
    from avrobust.report import build_report
    report = build_report([out], tmp_path / "report")
    md = Path(report["markdown"]).read_text()
    assert "### Defence ablation (ablation.json)" in md and "| both |" in md
    summary = md[:md.index("**Contents**")]
    assert re.search(r"Ablation: best worst-case robust accuracy \S+ \(\d+\.\d %\)", summary)
    assert md.index("## Defences") > md.index("## Summary") and "ablation.png" in md
    csvs = [Path(t) for t in report["tables"] if t.endswith(".csv") and "ablation" in Path(t).name]
    assert csvs and "both" in csvs[0].read_text() and "worst-case robust %" in csvs[0].read_text()
    # resume keeps the finished runs and adds the missing variant
    before = {(r["variant"], r["seed"]): r["train_seconds"] for r in result["rows"]}
    run_ablation(out, data=tiny_spec, seeds=(0, 1), epochs=1, steps=1, n=6, attacks=["fgsm"], eval_steps=1,
                 variants=["sampling"], resume=True, batch_size=8)
    result = json.loads((out / "ablation.json").read_text())
    assert len(result["rows"]) == 6
    assert list(result["summary"]) == ["pgd-at", "sampling", "both"]  # earlier variants stay in the summary
    assert "| pgd-at |" in (out / "ablation.md").read_text()
    assert all(before[(r["variant"], r["seed"])] == r["train_seconds"] for r in result["rows"] if r["variant"] != "sampling")
    with pytest.raises(ConfigError, match="other settings"):
        run_ablation(out, data=tiny_spec, seeds=(0,), epochs=2, steps=1, n=6, attacks=["fgsm"], eval_steps=1,
                     variants=["pgd-at"], resume=True, batch_size=8)
    code, stdout, err = run_cli("ablate-merge", out, "--out", tmp_path / "merged")  # the CLI of merge_ablations
    assert code == 0, err
    merged = json.loads((tmp_path / "merged" / "ablation.json").read_text())
    assert "6 runs" in stdout and merged["rows"] == result["rows"]
    code, _, err = run_cli("ablate-merge", out, "--out", tmp_path / "merged")
    assert code == 2 and "already holds an ablation" in err


def test_unknown_variant_is_refused(tmp_path, tiny_spec):
    with pytest.raises(ConfigError, match="unknown ablation variant rho=0.9; valid: pgd-at"):
        run_ablation(tmp_path, data=tiny_spec, variants=["rho=0.9"])


@pytest.mark.slow
def test_equal_time_gives_each_method_pgd_at_training_time_and_marks_the_pareto_front(tmp_path, tiny_spec):
    result = run_ablation(tmp_path / "abl", data=tiny_spec, seeds=(0,), epochs=2, steps=3, n=6, attacks=["fgsm"],
                          eval_steps=1, variants=["pgd-at", "fgsm-rs"], batch_size=8, equal_time=True)
    rows = {r.variant: r for r in result.rows}
    assert set(rows) == {"pgd-at", "fgsm-rs", "fgsm-rs@time"}
    expected = max(1, round(2 * rows["pgd-at"].seconds_per_epoch / rows["fgsm-rs"].seconds_per_epoch))
    assert rows["fgsm-rs@time"].epochs == expected and rows["fgsm-rs"].epochs == 2
    assert list(result.summary) == ["pgd-at", "fgsm-rs", "fgsm-rs@time"]
    points = {k: (e["train_seconds"]["mean"], e["worst_case_robust_accuracy"]["mean"]) for k, e in result.summary.items()}
    assert [k for k, e in result.summary.items() if e["pareto"]] == [k for k in points if k in pareto_front(points)]
    md = (tmp_path / "abl" / "ablation.md").read_text()
    assert "Pareto front" in md and "| fgsm-rs@time |" in md
    with pytest.raises(ConfigError, match="--equal-time needs pgd-at"):
        run_ablation(tmp_path / "b", data=tiny_spec, variants=["fgsm-rs"], equal_time=True)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3),
                       st.tuples(st.integers(0, 20).map(float), st.integers(0, 20).map(float)), min_size=1, max_size=12))
def test_the_pareto_front_is_exactly_the_undominated_points(points):
    front = pareto_front(points)

    def beats(a, b):
        return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])

    assert front and [points[k][0] for k in front] == sorted(points[k][0] for k in front)
    for k, p in points.items():
        dominated = any(beats(q, p) for j, q in points.items() if j != k)
        assert (k in front) == (not dominated)


def test_every_configuration_is_a_valid_method_spec():
    from avrobust.defences import create_method

    configs = ablation_configs(3)
    assert {"no-mask", "spread=linear", "avat+trades", "crmt-at", "mixup", "standard"} <= set(configs)
    from avrobust.specs import parse_spec
    for spec in configs.values():
        name, options = parse_spec(spec)
        create_method(name, **options)  # raises on an unknown method or option


@pytest.mark.slow
def test_a_suite_ablation_evaluates_with_the_suite_and_says_so(tmp_path, tiny_spec):
    from avrobust.evaluation.suites import suite_attacks
    DEFENCE_SUITE = suite_attacks("defence")

    result = run_ablation(tmp_path / "abl", data=tiny_spec, seeds=(0,), epochs=1, steps=1, n=2, attacks=[],
                          eval_steps=1, variants=["standard"], batch_size=8, suite="defence")
    row = result.rows[0]
    assert len(row.robust_accuracy) == len(DEFENCE_SUITE)
    assert row.worst_case_robust_accuracy <= min(row.robust_accuracy.values())
    assert "against the defence suite" in (tmp_path / "abl" / "ablation.md").read_text()


def test_the_cli_help_names_every_variant():
    import inspect
    from avrobust.cli.train_commands import ablate
    help_text = inspect.signature(ablate).parameters["variants"].default.help
    named = {v.strip() for v in help_text.split(":", 1)[1].split("(default")[0].split(",")}
    assert named == set(ablation_configs(5))


def _row(variant, seed, worst=0.5, seconds=10.0):
    from avrobust.results import AblationRow
    return AblationRow(variant=variant, method=variant, seed=seed, run_dir=f"runs/{variant}-s{seed}",
                       train_seconds=seconds, seconds_per_epoch=seconds / 8, forward_segments=1, n=64,
                       clean_accuracy=0.9, robust_accuracy={"fgsm": worst}, worst_case_robust_accuracy=worst, epochs=8)


def test_merging_ablations_keeps_each_run_once_and_refuses_disagreement_or_other_settings(tmp_path):
    from avrobust.jobs.ablate import merge_ablations, summarise_ablation
    settings = {"data": "synth", "model": "alexnet-sum-vgg", "epochs": 8, "steps": 5, "n": 64, "attacks": ["fgsm"],
                "eval_steps": 10, "threat": ThreatModel().describe(), "batch_size": 32}
    a = summarise_ablation(settings, [_row("pgd-at", 0), _row("fgsm-rs", 0, 0.4)], ["pgd-at", "fgsm-rs"])
    b = summarise_ablation(settings, [_row("pgd-at", 0), _row("pgd-at", 1, 0.7), _row("fgsm-rs@time", 1, 0.6)],
                           ["pgd-at"])
    a.write(tmp_path / "a" / "ablation.json")
    b.write(tmp_path / "b.json")
    merged = merge_ablations([tmp_path / "a", tmp_path / "b.json"], tmp_path / "m")
    assert sorted((r["variant"], r["seed"]) for r in merged.rows) == \
        [("fgsm-rs", 0), ("fgsm-rs@time", 1), ("pgd-at", 0), ("pgd-at", 1)]
    assert list(merged.summary) == ["pgd-at", "fgsm-rs", "fgsm-rs@time"]
    assert merged.summary["pgd-at"]["worst_case_robust_accuracy"]["mean"] == pytest.approx(0.6)
    assert {p.name for p in (tmp_path / "m").iterdir()} >= {"ablation.json", "ablation.md", "ablation.png"}
    with pytest.raises(ConfigError, match="already holds an ablation"):
        merge_ablations([tmp_path / "a"], tmp_path / "m")
    merge_ablations([tmp_path / "a"], tmp_path / "a")  # regenerating an ablation's own outputs in place
    summarise_ablation(settings, [_row("pgd-at", 0, 0.1)], ["pgd-at"]).write(tmp_path / "c.json")
    with pytest.raises(ConfigError, match="disagree on pgd-at, seed 0"):
        merge_ablations([tmp_path / "a", tmp_path / "c.json"], tmp_path / "n")
    summarise_ablation({**settings, "steps": 3}, [_row("pgd-at", 2)], ["pgd-at"]).write(tmp_path / "d.json")
    with pytest.raises(ConfigError, match="different settings"):
        merge_ablations([tmp_path / "a", tmp_path / "d.json"], tmp_path / "n")
    (tmp_path / "e.json").write_text('{"kind": "training", "schema_version": 2}')
    with pytest.raises(ConfigError, match="TrainingResult lacks field"):  # an incomplete file: one line
        merge_ablations([tmp_path / "a", tmp_path / "e.json"], tmp_path / "n")
    from avrobust.results import ZooResult
    ZooResult(data="synth", epochs=1, seed=0, models=[], complete=True, train_seconds=1.0).write(tmp_path / "zoo.json")
    with pytest.raises(ConfigError, match="zoo.json is not an ablation"):
        merge_ablations([tmp_path / "b.json", tmp_path / "zoo.json"], tmp_path / "n")


def test_merging_fine_tuning_ablations_unions_their_starting_runs(tmp_path):
    """Seeds fine-tuned from different runs (init) merge when no seed's starting run differs."""
    from avrobust.jobs.ablate import merge_ablations, summarise_ablation
    settings = {"data": "synth", "model": "AsV", "epochs": 1, "steps": 2, "n": 64, "attacks": ["fgsm"],
                "eval_steps": 5, "threat": ThreatModel().describe(), "batch_size": 32}
    summarise_ablation({**settings, "init": {"0": "z/s0"}}, [_row("pgd-at", 0)], ["pgd-at"]).write(tmp_path / "a.json")
    summarise_ablation({**settings, "init": {"1": "z/s1", "2": "z/s2"}}, [_row("pgd-at", 1), _row("pgd-at", 2)],
                       ["pgd-at"]).write(tmp_path / "b.json")
    merged = merge_ablations([tmp_path / "a.json", tmp_path / "b.json"], tmp_path / "m")
    assert merged.settings["init"] == {"0": "z/s0", "1": "z/s1", "2": "z/s2"} and len(merged.rows) == 3
    summarise_ablation({**settings, "init": {"0": "other"}}, [_row("pgd-at", 3)], ["pgd-at"]).write(tmp_path / "c.json")
    with pytest.raises(ConfigError, match="start seed 0 from different runs"):
        merge_ablations([tmp_path / "a.json", tmp_path / "c.json"], tmp_path / "n")
