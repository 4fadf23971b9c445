"""The defence evaluation suite, transfer from a surrogate, worst case and gradient-masking checks."""

import json

import pytest
import torch

from avrobust.evaluation.masking import masking_checks
from avrobust.evaluation.suites import suite_attacks
from avrobust.io import json_text
from avrobust.jobs import evaluate_checkpoint, train_model
from avrobust.results import AttackResult

DEFENCE_SUITE = suite_attacks("defence")


def _entry(attack, steps, acc, transfer=False):
    return AttackResult(attack=attack, steps=steps, robust_accuracy=acc, transfer=transfer, attack_success_rate=0.0,
                        budget={}, modalities=["video", "audio"], restarts=1, loss="ce", options={})


def test_consistent_results_raise_no_warning():
    attacks = {"fgsm": _entry("fgsm", 1, 0.6), "pgd:steps=10": _entry("pgd", 10, 0.4),
               "pgd:steps=50": _entry("pgd", 50, 0.38), "tma (transfer)": _entry("tma", 10, 0.7, True)}
    assert masking_checks(attacks, {"video": 0.0, "audio": 0.0}, 100) == []


def test_each_masking_symptom_warns():
    attacks = {"fgsm": _entry("fgsm", 1, 0.3), "pgd:steps=10": _entry("pgd", 10, 0.4),
               "pgd:steps=50": _entry("pgd", 50, 0.5), "tma (transfer)": _entry("tma", 10, 0.2, True)}
    lines = masking_checks(attacks, {"video": 0.0, "audio": 0.25}, 100)
    assert len(lines) == 4 and all(line.startswith("possible gradient masking") for line in lines)
    text = " ".join(lines)
    assert "transferred attack tma (transfer)" in text and "more steps are weaker" in text
    assert "one-step fgsm" in text and "audio input gradient is exactly zero for 25.0%" in text


def test_differences_within_one_clip_do_not_warn():
    attacks = {"pgd:steps=10": _entry("pgd", 10, 0.40), "pgd:steps=50": _entry("pgd", 50, 0.41)}
    assert masking_checks(attacks, {}, 50) == []  # 0.01 < 1/50


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_spec):
    root = tmp_path_factory.mktemp("defence")
    train_model(tiny_spec, "AsV", root / "plain", epochs=2, show_progress=False, batch_size=8)
    train_model(tiny_spec, "AsV", root / "avat", epochs=2, method="avat:steps=2", seed=1, show_progress=False,
                batch_size=8)
    return root


@pytest.mark.slow
def test_suite_with_surrogate_covers_every_attack_and_takes_the_worst_case(runs):
    result = evaluate_checkpoint(runs / "avat", steps=2, suite="defence", surrogate=runs / "plain")
    labels = list(result["attacks"])
    assert labels[: len(DEFENCE_SUITE)] == list(DEFENCE_SUITE)
    assert labels[-1] == "tma (transfer from alexnet-sum-vgg)" and result["attacks"][labels[-1]]["transfer"]
    assert result["attacks"]["pgd:steps=50,restarts=3"]["steps"] == 50  # the spec wins over --steps
    worst = result["worst_case_robust_accuracy"]
    assert worst <= min(r["robust_accuracy"] for r in result["attacks"].values())
    flags = torch.stack([r["robust_flags"] for r in result["attacks"].values()])
    assert worst == int(flags.all(0).sum()) / result["n"]
    assert isinstance(result["warnings"], list) and set(result["zero_gradient_share"]) == {"video", "audio"}
    assert json.loads(json_text(result))["attacks"][labels[0]]["robust_flags"] == flags[0].int().tolist()


@pytest.mark.slow
def test_evaluate_suite_cli(run_cli, runs, tmp_path):
    code, out, err = run_cli("evaluate", "--checkpoint", runs / "avat", "--suite", "defence", "--steps", "1",
                             "--n", "6", "--json", tmp_path / "e.json")
    assert code == 0, err
    assert "pgd:steps=50,restarts=3" in json.loads((tmp_path / "e.json").read_text())["attacks"]
    code, _, err = run_cli("evaluate", "--checkpoint", runs / "avat", "--suite", "everything")
    assert code == 2 and "unknown attack suite 'everything'; valid choices: defence" in err
