"""The examples in examples/ run (on a tiny synth) and the docs' "Your own model" page shows one of them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from avrobust.models.adapter import ABLATION
from tests.conftest import shifted

ROOT = Path(__file__).resolve().parents[1]
DATA = shifted("synth:clips_per_class=4,eval_clips_per_class=2,frames=4,size=16,seconds=0.5")


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "unimodal"), [("late_fusion", ABLATION), ("crmt_resnet18", None),
                                                ("zoo_model", None)])
@pytest.mark.slow
def test_example_trains_and_evaluates_pgd_and_tma(name, unimodal, tmp_path):
    result = load(name).main(DATA, str(tmp_path / name), 1, 16)
    assert result.kind == "evaluation" and result["n"] == 16 and result["unimodal"] == unimodal
    for label in ("pgd", "tma"):
        attack = result["attacks"][label]
        assert attack["robust_accuracy"] <= result["clean_accuracy"]
        assert attack["max_norm"]["video"] <= 8 / 255 + 1e-6 and attack["max_norm"]["audio"] <= 0.01 + 1e-6
    assert (tmp_path / name / "checkpoint.safetensors").exists()


def test_the_docs_show_an_example_as_it_is():
    page = (ROOT / "docs" / "own-model.md").read_text()
    block = re.search(r"# Your own model\n.*?```python\n(.*?)```", page, re.S)
    assert block, "docs/own-model.md lacks its example"
    assert block.group(1) == (ROOT / "examples" / "late_fusion.py").read_text()


@pytest.mark.slow
def test_the_shell_example_trains_and_is_attacked_with_its_features(run_cli, tmp_path):
    """examples/own_model.py with examples/own_model.toml, as its docstring runs it (TMA reads its features)."""
    code, _, err = run_cli("train", "--model-file", f"{ROOT / 'examples' / 'own_model.py'}:make", "--wrap",
                           ROOT / "examples" / "own_model.toml", "--data", DATA, "--out", tmp_path / "own", "--epochs", "1")
    assert code == 0, err
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "own", "--attack", "pgd,tma", "--steps", "2",
                             "--n", "8", "--json", tmp_path / "ev.json")
    assert code == 0, err
    assert set(json.loads((tmp_path / "ev.json").read_text())["attacks"]) == {"pgd", "tma"}
