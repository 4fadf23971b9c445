"""Zoo training and transfer matrices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from avrobust.attacks import build_attacks
from avrobust.data import load_dataset
from avrobust.errors import ConfigError
from avrobust.evaluation.cascade import run_cascade
from avrobust.evaluation.transfer_matrix import load_members, transfer_matrix
from avrobust.jobs.transfer_runs import transfer_markdown as render_markdown
from avrobust.jobs.transfer_runs import write_transfer as write_outputs
from avrobust.jobs import train_zoo
from tests.conftest import FIXTURE_SEED


@pytest.mark.slow
def test_zoo_gives_each_model_its_own_seed_and_run(tiny_zoo: dict) -> None:
    models = tiny_zoo["models"]
    assert [m["model"] for m in models] == ["alexnet-concat-vgg", "alexnet-sum-vgg"]
    assert [m["seed"] for m in models] == [FIXTURE_SEED, FIXTURE_SEED + 1]
    assert [m["alias"] for m in models] == ["AcV", "AsV"]
    assert tiny_zoo["complete"]
    for m in models:
        assert (Path(m["run_dir"]) / "checkpoint.safetensors").exists()
    assert json.loads((tiny_zoo["dir"] / "zoo.json").read_text())["models"] == models


@pytest.mark.slow
def test_zoo_refuses_to_retrain_and_resume_keeps_finished_models(tiny_zoo: dict, tiny_spec: str) -> None:
    with pytest.raises(ConfigError, match="already holds a zoo"):
        train_zoo(tiny_spec, tiny_zoo["dir"], pattern="A[sc]V", epochs=3, show_progress=False)
    ckpt = Path(tiny_zoo["models"][0]["run_dir"]) / "checkpoint.safetensors"
    before = ckpt.stat().st_mtime_ns
    again = train_zoo(tiny_spec, tiny_zoo["dir"], pattern="A[sc]V", epochs=3, seed=FIXTURE_SEED, resume=True,
                      show_progress=False)
    assert ckpt.stat().st_mtime_ns == before
    assert again["models"] == tiny_zoo["models"]


def test_zoo_rejects_unknown_pattern(tmp_path: Path, tiny_spec: str) -> None:
    with pytest.raises(ConfigError, match="no zoo model matches"):
        train_zoo(tiny_spec, tmp_path, pattern="vit-*")


@pytest.fixture(scope="module")
def matrix(tiny_zoo: dict, tiny_spec: str) -> dict:
    members = load_members([tiny_zoo["dir"]])
    data = load_dataset(tiny_spec, "test")
    attacks = build_attacks(["fgsm,mifgsm"], steps=2)
    return transfer_matrix(members, members, data, attacks, batch_size=5)


@pytest.mark.slow
def test_matrix_has_one_row_per_pair_and_a_white_box_diagonal(matrix: dict) -> None:
    rows = matrix["matrix"]
    assert len(rows) == 2 * 2 * 2
    assert {(r["surrogate"], r["victim"], r["attack"]) for r in rows} == {
        (s, v, a) for s in ("AcV", "AsV") for v in ("AcV", "AsV") for a in ("fgsm", "mifgsm")}
    for r in rows:
        assert r["white_box"] == (r["surrogate"] == r["victim"])
        assert 0 <= r["attack_success_rate"] <= 1 and 0 <= r["modality_cosine"] <= 1
        # robust accuracy = clean accuracy x (1 - ASR), both over the same clips
        assert r["robust_accuracy"] == pytest.approx(r["clean_accuracy"] * (1 - r["attack_success_rate"]))
    assert all(s["black_box_pairs"] == 2 for s in matrix["summary"].values())
    assert matrix["n"] == 12 and len(matrix["crafting"]) == 4


@pytest.mark.slow
def test_white_box_diagonal_equals_run_cascade(trained: dict) -> None:
    """The diagonal of a matrix is the white-box robust evaluation of the same attack.

    The comparison is not vacuous: I-FGSM-3 fooled 30-90 % of the correct clips of the fixture model
    (8 fixture seeds), so some clips are fooled."""
    member = load_members([trained["run_dir"]])
    idx = torch.arange(64)
    attack = build_attacks(["ifgsm"], steps=3)
    tm = transfer_matrix(member, member, trained["test"], attack, indices=idx)
    robust = run_cascade(member[0].model, trained["test"], attack, indices=idx).attacks["ifgsm"]
    (row,) = tm["matrix"]
    assert row["white_box"]
    correct = round(row["clean_accuracy"] * 64)
    assert abs(row["attack_success_rate"] - robust["attack_success_rate"]) <= 1 / correct + 1e-9
    assert row["attack_success_rate"] > 0


@pytest.mark.slow
def test_ensemble_surrogate_is_white_box_on_its_members(tiny_zoo: dict, tiny_spec: str) -> None:
    (ens,) = load_members([tiny_zoo["dir"]], ensemble=True)
    assert ens.label == "ens(AcV+AsV)"
    victims = load_members([tiny_zoo["dir"]])
    tm = transfer_matrix([ens], victims, load_dataset(tiny_spec, "test"), build_attacks(["fgsm"]))
    assert [r["white_box"] for r in tm["matrix"]] == [True, True]
    assert tm["summary"]["fgsm"]["black_box_asr"] is None


@pytest.mark.slow
def test_outputs_markdown_and_heatmap(matrix: dict, tmp_path: Path) -> None:
    paths = write_outputs(matrix, tmp_path / "t.json")
    assert [p.name for p in paths] == ["t.json", "t.md", "t.png"]
    assert paths[2].read_bytes()[:4] == b"\x89PNG"
    md = render_markdown(matrix)
    assert "| AcV | [" in md and "## mifgsm" in md
    assert json.loads(paths[0].read_text())["matrix"] == matrix["matrix"]


@pytest.mark.slow
def test_load_members_rejects_missing_and_duplicate_dirs(tmp_path: Path, tiny_zoo: dict) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_members([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        load_members([tmp_path])
    run = tiny_zoo["models"][0]["run_dir"]
    with pytest.raises(ConfigError, match="listed twice"):
        load_members([run, run])


@pytest.mark.slow
def test_members_of_other_data_are_rejected(tiny_zoo: dict) -> None:
    members = load_members([tiny_zoo["dir"]])
    other = load_dataset("synth:classes=5,clips_per_class=2,eval_clips_per_class=2,frames=4,size=16,seconds=0.5", "test")
    with pytest.raises(ConfigError, match="other classes"):
        transfer_matrix(members, members, other, build_attacks(["fgsm"]))


@pytest.mark.slow
def test_transfer_cli_writes_three_files_and_refuses_to_overwrite(run_cli, tiny_zoo: dict, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    code, stdout, err = run_cli("transfer", "--surrogates", tiny_zoo["dir"], "--attack", "fgsm,tma", "--steps", "1",
                                "--json", out)
    assert code == 0, err
    assert "black-box ASR" in stdout
    assert out.exists() and out.with_suffix(".md").exists() and out.with_suffix(".png").exists()
    assert len(json.loads(out.read_text())["matrix"]) == 2 * 2 * 2
    code, _, err = run_cli("transfer", "--surrogates", tiny_zoo["dir"], "--attack", "fgsm", "--json", out)
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_zoo_cli(run_cli, tiny_spec: str, tmp_path: Path) -> None:
    code, stdout, err = run_cli("train-zoo", "--data", tiny_spec, "--out", tmp_path, "--models", "AsV", "--epochs", "1")
    assert code == 0, err
    assert "alexnet-sum-vgg" in stdout and (tmp_path / "zoo.json").exists()


def test_several_values_after_one_transfer_flag() -> None:
    from avrobust.cli import expand_multi_values

    argv = ["transfer", "--surrogates", "a", "b", "--attack", "fgsm", "--victims", "c", "d", "e", "--n", "4"]
    assert expand_multi_values(argv) == ["transfer", "--surrogates", "a", "--surrogates", "b", "--attack", "fgsm",
                                         "--victims", "c", "--victims", "d", "--victims", "e", "--n", "4"]
    assert expand_multi_values(["analyze", "masking", "--victims", "a", "b"]) == [
        "analyze", "masking", "--victims", "a", "b"]  # a command with positional arguments is left alone


@pytest.mark.slow
def test_transfer_cli_takes_a_glob_of_runs(run_cli, tiny_zoo: dict, tmp_path: Path) -> None:
    runs = [m["run_dir"] for m in tiny_zoo["models"]]
    code, _, err = run_cli("transfer", "--surrogates", *runs, "--victims", *runs, "--attack", "fgsm",
                           "--json", tmp_path / "g.json")
    assert code == 0, err
    assert len(json.loads((tmp_path / "g.json").read_text())["matrix"]) == 4
