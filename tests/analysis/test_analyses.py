"""The Section 3 analyses: every kind runs, writes JSON and a plot, and its numbers mean what they say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from avrobust.analysis import ANALYSES, Study, run_analysis
from avrobust.attacks import ThreatModel, create_attack
from avrobust.data import load_dataset
from avrobust.errors import ConfigError
from tests.conftest import moved_off_init
from avrobust.evaluation import evaluate_classifier
from avrobust.evaluation.transfer_matrix import load_members

VALUES = {"masking": [0.0, 0.5], "temporal-masking": [0.5], "iterations": [1, 2], "eps": [0.5, 2.0]}
ATTACKS = {"modality": ["fgsm,mifgsm"], "alignment": ["fgsm,ifgsm", "tma:copies=1"], "iterations": ["ifgsm", "tma:copies=1"],
           "eps": ["fgsm"]}


@pytest.fixture(scope="module")
def study(tiny_zoo: dict, tiny_spec: str) -> Study:
    surrogate, victim = load_members([tiny_zoo["dir"]])
    return Study(surrogate, [victim], load_dataset(tiny_spec, "test"), torch.arange(8), ThreatModel(), steps=2)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ANALYSES.names())
def test_every_analysis_writes_json_and_png(kind: str, study: Study, tmp_path: Path) -> None:
    result = run_analysis(kind, study, tmp_path, values=VALUES.get(kind), attacks=ATTACKS.get(kind))
    saved = json.loads((tmp_path / f"{kind}.json").read_text())
    assert saved["kind"] == "analysis" and saved["analysis"] == kind  # the result kind, then which analysis
    assert saved["setup"]["surrogate"] == "AcV" and saved["setup"]["victims"] == ["AsV"]
    assert saved["results"] == json.loads(json.dumps(result["results"]))
    assert (tmp_path / f"{kind}.png").read_bytes()[:4] == b"\x89PNG"


def test_letters_are_aliases() -> None:
    assert [ANALYSES.canonical(k) for k in "abcdef"] == [
        "masking", "modality", "temporal-masking", "alignment", "iterations", "eps"]


@pytest.mark.slow
def test_masking_at_ratio_zero_is_clean_accuracy(study: Study, tmp_path: Path) -> None:
    r = run_analysis("masking", study, tmp_path, values=[0.0, 1.0])["results"]
    for member in (study.surrogate, *study.victims):
        clean = evaluate_classifier(member.model, study.dataset, indices=study.indices)["clean_accuracy"]
        assert r["per_model"][member.label]["synchronous"][0] == pytest.approx(clean)
        assert r["per_model"][member.label]["asynchronous"][0] == pytest.approx(clean)


@pytest.mark.slow
def test_masking_everything_leaves_one_answer_per_model(study: Study, tmp_path: Path) -> None:
    """With every segment dropped all clips look the same, so a model predicts one class for all."""
    r = run_analysis("masking", study, tmp_path, values=[1.0])["results"]
    labels = study.dataset.batch(study.indices)[1]
    shares = {float((labels == c).float().mean()) for c in range(4)}
    for member in r["per_model"].values():
        assert any(abs(member["synchronous"][0] - share) < 1e-9 for share in shares)


@pytest.mark.slow
def test_masking_one_modality_leaves_the_other_whole(study: Study, tmp_path: Path) -> None:
    """Fig. 1's per-modality masking: at rho = 1 video-only masking is the model on black frames and the
    true sound, audio-only masking the model on silence and the true frames."""
    r = run_analysis("masking", study, tmp_path, values=[1.0])["results"]
    batch, labels = study.dataset.batch(study.indices)
    for member in (study.surrogate, *study.victims):
        with torch.no_grad():
            no_video = member.model(torch.zeros_like(batch.video), batch.audio).logits.argmax(1)
            no_audio = member.model(batch.video, torch.zeros_like(batch.audio)).logits.argmax(1)
        per_mode = r["per_model"][member.label]
        assert per_mode["video-only"][0] == pytest.approx(float((no_video == labels).float().mean()))
        assert per_mode["audio-only"][0] == pytest.approx(float((no_audio == labels).float().mean()))


@pytest.mark.slow
def test_temporal_masking_baseline_is_the_plain_attack(study: Study, tmp_path: Path) -> None:
    r = run_analysis("temporal-masking", study, tmp_path, values=[0.25])["results"]
    plain = study.measure(study.attacks(["mifgsm"]))["mifgsm"]
    assert r["results"]["none"] == plain
    assert set(r["results"]) == {"none", "sync-0.25", "async-0.25"}


@pytest.mark.slow
def test_eps_scales_budgets(study: Study, tmp_path: Path) -> None:
    r = run_analysis("eps", study, tmp_path, values=[0.5, 2.0], attacks=["fgsm"])["results"]
    assert r["eps_video"] == pytest.approx([4 / 255, 16 / 255])
    assert r["eps_audio"] == pytest.approx([0.005, 0.02])


@pytest.mark.slow
def test_bad_options_are_rejected(study: Study, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweeps no list"):
        run_analysis("modality", study, tmp_path, values=[1.0])
    with pytest.raises(ConfigError, match="fixed set of attacks"):
        run_analysis("masking", study, tmp_path, attacks=["fgsm"])
    with pytest.raises(ConfigError, match="unknown analysis"):
        run_analysis("nope", study, tmp_path)
    with pytest.raises(ConfigError, match="mask_ratio"):
        create_attack("tma", mask_ratio=1.5)
    with pytest.raises(ConfigError, match="scale must be > 0"):
        ThreatModel().scaled(0)


@pytest.mark.slow
def test_analyze_cli(run_cli, tiny_zoo: dict, tmp_path: Path) -> None:
    models = [m["run_dir"] for m in tiny_zoo["models"]]
    args = ("analyze", "a", "--model", models[0], "--victims", tiny_zoo["dir"], "--n", "8", "--out", tmp_path)
    code, stdout, err = run_cli(*args, "--values", "0,0.5")
    assert code == 0, err
    assert "masking: 1 victims" in stdout  # the surrogate is dropped from the victims
    code, _, err = run_cli(*args)
    assert code == 2 and "--overwrite" in err
    code, _, err = run_cli(*args, "--overwrite", "--values", "0,x")
    assert code == 2 and "comma-separated numbers" in err


@pytest.mark.slow
def test_report_includes_transfer_and_analysis_results(study: Study, tmp_path: Path) -> None:
    from avrobust.attacks import build_attacks
    from avrobust.evaluation.transfer_matrix import transfer_matrix
    from avrobust.jobs.transfer_runs import write_transfer as write_outputs
    from avrobust.report import build_report

    run_analysis("masking", study, tmp_path / "res", values=[0.0, 0.5])
    tm = transfer_matrix([study.surrogate], [study.surrogate, *study.victims], study.dataset, build_attacks(["fgsm"]),
                         indices=study.indices)
    write_outputs(tm, tmp_path / "res" / "transfer.json")
    r = build_report([tmp_path / "res"], tmp_path / "report")
    assert r["sections"][:2] == ["Summary", "Data"]
    assert r["sections"][2].startswith("Transfer matrix") and r["sections"][3].startswith("Analysis: masking")
    # the test clips of the data (one picture: both results share it), the heatmaps and the masking curve
    assert all(Path(f).read_bytes()[:4] == b"\x89PNG" for f in r["figures"]) and len(r["figures"]) == 3
    md = Path(r["markdown"]).read_text()
    summary = md[:md.index("**Contents**")]
    assert "**Transfer (transfer.json)" in summary and "| fgsm |" in summary
    assert re.search(r"Strongest transfer attack in transfer.json: fgsm \(\d+\.\d % black-box ASR\)", summary)
    analysis = md[md.index("### Analysis: masking"):]
    assert "Surrogate " in analysis and "masking.png)" in analysis


def test_audio_reach_is_zero_under_late_fusion_and_not_under_attention(tiny_spec: str, tmp_path: Path) -> None:
    """Twins off their init (same encoders, sum against bottleneck fusion): an audio-only PGD leaves the sum
    model's visual head exactly as it was, and moves the bottleneck model's."""
    from avrobust.evaluation.transfer_matrix import Member
    from avrobust.models import create_model

    data = load_dataset(tiny_spec, "test")
    torch.manual_seed(0)
    late, attention = (Member(alias, moved_off_init(create_model(alias, data.num_classes, data.sample_rate)).eval(),
                              (alias,), {}) for alias in ("AsV", "AbV"))
    study = Study(late, [attention], data, torch.arange(8), ThreatModel(), steps=2)
    result = run_analysis("audio-reach", study, tmp_path)["results"]["per_model"]
    assert result["AsV"]["fusion"] == "sum" and result["AsV"]["visual_changed"] == 0
    assert result["AsV"]["visual_true_prob_drop"] == 0 and result["AbV"]["visual_true_prob_drop"] != 0
    assert (tmp_path / "audio-reach.png").read_bytes()[:4] == b"\x89PNG"
