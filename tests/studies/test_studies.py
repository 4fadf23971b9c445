"""Studies as data: a study file is checked with one-line errors, runs every stage kind into JSON and
Markdown, resumes without recomputing, and its statistics mean what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.errors import ConfigError
from avrobust.stats import bootstrap_interval, paired_difference
from avrobust.studies import STAGES, load_study, run_study

STUDIES = Path(__file__).parents[2] / "benchmarks" / "studies"


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = '''
name = "t"
data = "{data}"
seeds = [0, 1]
output = "{out}"

[zoos.z]
models = ["AsV", "AcV"]
epochs = 1
train = {{ batch_size = 8 }}
'''


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.stem)
def test_the_projects_study_files_parse(path: Path) -> None:
    spec = load_study(path)
    assert spec.stages and spec.seeds
    for stage in spec.stages:
        assert stage.kind in STAGES


@pytest.mark.parametrize("text, message", [
    ('data = "synth"\nseeds = [0]\n', "at least one [[stage]]"),
    ('seeds = [0]\n[[stage]]\nkind = "clean"\n', "'data' is missing"),
    ('data = "synth"\nseeds = []\n[[stage]]\nkind = "clean"\n', "seeds must be a non-empty list"),
    ('data = "synth"\nseeds = [0]\n[[stage]]\nkind = "nope"\n', "unknown stage kind 'nope'"),
    ('data = "synth"\nseeds = [0]\nfoo = 1\n[[stage]]\nkind = "clean"\n', "unknown key(s) foo"),
    ('data = "synth"\nseeds = [0]\n[[stage]]\nkind = "clean"\n[[stage]]\nkind = "clean"\n', "stage names must be unique"),
    ('data = "synth"\nseeds = [0\n', "not valid TOML"),
])
def test_bad_study_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        load_study(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file_names_the_studies_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="benchmarks/studies"):
        load_study(tmp_path / "none.toml")


def test_stage_refuses_unknown_keys_and_unfair_tuning_before_any_training(tmp_path: Path, tiny_spec: str) -> None:
    base = BASE.format(data=tiny_spec, out=tmp_path / "out")
    bad_key = write(tmp_path, base + '[[stage]]\nkind = "transfer"\nsurrogates = ["z"]\nvictims = ["z"]\n'
                    'attacks = ["fgsm"]\nsteps_per_clip = 3\n')
    with pytest.raises(ConfigError, match="unknown key\\(s\\) steps_per_clip"):
        run_study(bad_key, tmp_path / "root", train=False)
    unfair = write(tmp_path, base + '[[stage]]\nkind = "tuning"\nseed = 5\nsurrogates = ["z:AsV"]\nvictims = ["z"]\n'
                   'candidates = { mifgsm = ["mifgsm", "mifgsm:decay=0.5"], tma = ["tma"] }\n')
    with pytest.raises(ConfigError, match="same number of candidates"):
        run_study(unfair, tmp_path / "root", train=False)
    leaky = write(tmp_path, base + '[[stage]]\nkind = "tuning"\nseed = 1\nsurrogates = ["z:AsV"]\nvictims = ["z"]\n'
                  'candidates = { mifgsm = ["mifgsm"] }\n')
    with pytest.raises(ConfigError, match="validation seed 1 is also a test seed"):
        run_study(leaky, tmp_path / "root", train=False)
    untrained = write(tmp_path, base + '[[stage]]\nkind = "clean"\nmodels = ["z"]\n')
    with pytest.raises(ConfigError, match="is not trained"):
        run_study(untrained, tmp_path / "root", train=False)
    assert not (tmp_path / "root" / "zoos" / "z" / "s0").exists()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=40))
def test_bootstrap_interval_brackets_the_mean(values: list[float]) -> None:
    low, high = bootstrap_interval(values, rounds=500)
    mean = sum(values) / len(values)
    assert low <= high
    assert min(values) - 1e-12 <= low <= max(values) + 1e-12 and min(values) - 1e-12 <= high <= max(values) + 1e-12
    if len(set(values)) == 1:
        assert low == pytest.approx(mean) and high == pytest.approx(mean)


def test_paired_difference_is_the_mean_of_differences() -> None:
    d = paired_difference([0.5, 0.7, 0.9], [0.4, 0.7, 0.6])
    assert d["mean"] == pytest.approx(0.4 / 3) and d["n"] == 3 and d["low"] <= d["mean"] <= d["high"]
    with pytest.raises(ValueError, match="equal, non-zero lengths"):
        paired_difference([0.1], [0.1, 0.2])


@pytest.mark.slow
def test_a_tiny_study_runs_every_stage_kind_and_resumes(tmp_path: Path, tiny_spec: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results" / "t"
    path = write(tmp_path, BASE.format(data=tiny_spec, out=out) + '''
[[stage]]
kind = "clean"
models = ["z"]

[[stage]]
kind = "tuning"
seed = 5
surrogates = ["z:AsV"]
victims = ["z"]
n = 8
steps = 2
candidates = { mifgsm = ["mifgsm", "mifgsm:decay=0.5"], ifgsm = ["ifgsm", "ifgsm:steps=1"] }

[[stage]]
kind = "transfer"
name = "x1"
surrogates = ["z:AsV"]
victims = ["z"]
attacks = ["fgsm", "mifgsm"]
tuned = "tuning"
n = 8
steps = 2
compare = [["mifgsm", "fgsm"]]
matrix = true

[[stage]]
kind = "ensemble"
surrogates = ["z"]
victims = ["z"]
attacks = ["mifgsm"]
n = 8
steps = 2

[[stage]]
kind = "analysis"
name = "masking"
seeds = [1]
analyses = ["a"]
surrogate = "z:AsV"
victims = ["z"]
n = 8
values = { masking = [0.0, 0.5] }

[[stage]]
kind = "defence"
seeds = [0]
init = "z:AsV"
train = { lr = 1e-3 }
variants = ["pgd-at", "fgsm-rs"]
equal_time = true
epochs = 1
steps = 1
n = 8
attacks = ["fgsm"]
eval_steps = 1
batch_size = 8
''')
    record = run_study(path, tmp_path / "root")
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["stages"].keys() == {"clean", "tuning", "x1", "ensemble", "masking", "defence"}
    summary = saved["stages"]["defence"]["ablation"]["summary"]
    assert set(summary) == {"pgd-at", "fgsm-rs", "fgsm-rs@time"} and summary["pgd-at"]["seeds"] == [0]
    settings = saved["stages"]["defence"]["ablation"]["settings"]  # fine-tuned from zoo 0's AsV
    assert settings["init"] == {"0": str(tmp_path / "root" / "zoos" / "z" / "s0" / "AsV")}
    assert settings["model"] == "AsV" and settings["train"] == {"lr": 1e-3}
    assert saved["zoos"]["z"]["models"] == ["AsV", "AcV"]
    # zoo k trains model i with seed 8k + i, one directory per seed; the validation zoo has its own
    assert {p.name for p in (tmp_path / "root" / "zoos" / "z").iterdir()} == {"s0", "s1", "s5", "spec.json"}
    clean = saved["stages"]["clean"]["models"]
    assert set(clean) == {"AsV", "AcV"} and all(len(rows) == 2 for rows in clean.values())
    tuning = saved["stages"]["tuning"]["attacks"]
    for attack, t in tuning.items():
        assert t["default"] == attack and t["chosen"] in [c["spec"] for c in t["scores"]]
        assert max(c["black_box_asr"] for c in t["scores"]) == next(
            c["black_box_asr"] for c in t["scores"] if c["spec"] == t["chosen"])
    x1 = saved["stages"]["x1"]
    assert set(x1["attacks"]) == {"fgsm", "mifgsm", "mifgsm (tuned)", "ifgsm (tuned)"}
    assert x1["attacks"]["mifgsm"]["pairs"] == 1 and len(x1["attacks"]["mifgsm"]["black_box_per_seed"]) == 2
    assert x1["compare"][0]["difference"]["n"] == 2
    # with two models, each victim's ensemble is the other model alone: the same attack, the same ASR
    ens = saved["stages"]["ensemble"]["attacks"]["mifgsm"]
    assert ens["ensemble"] == pytest.approx(ens["single"]) and len(ens["ensemble"]) == 4
    masking = saved["stages"]["masking"]
    assert masking["seeds"] == [1] and masking["runs"]["masking"][0]["results"]["ratios"] == [0.0, 0.5]
    md = out.with_suffix(".md").read_text()
    for heading in ("### clean (clean)", "### tuning (tuning)", "### x1 (transfer)", "### ensemble (ensemble)",
                    "#### (masking) 1 seeds", "mifgsm minus fgsm", "| AsV -> AcV |", "### defence (defence)"):
        assert heading in md
    # the same tables through the report's renderer: one CSV and one LaTeX file each, the clean table's rows
    tables = out.with_name(f"{out.name}-tables")
    csvs = sorted(tables.glob("*.csv"))
    assert len(csvs) == len(list(tables.glob("*.tex"))) >= 6
    clean_csv = next(f for f in csvs if "clean" in f.name).read_text().splitlines()
    assert clean_csv[0] == "model,seeds,clean,audio-only,visual-only,s / epoch" and len(clean_csv) == 3
    # a second run reads every unit back: nothing trains, nothing is attacked again, same figures
    import avrobust.studies.stages as stages
    import avrobust.studies.transfer_stages as transfer

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished unit was computed again")

    import avrobust.jobs.ablate as ablate

    for module, name in ((stages, "transfer_matrix"), (stages, "run_analysis"), (transfer, "transfer_matrix"),
                         (ablate, "train_model")):
        monkeypatch.setattr(module, name, refuse)
    again = run_study(path, tmp_path / "root", train=False)
    assert json.dumps(again["stages"], sort_keys=True) == json.dumps(record["stages"], sort_keys=True)
