import math

import pytest
import torch

from avrobust.attacks import ThreatModel, build_attacks, create_attack
from avrobust.attacks.base import Attack
from avrobust.errors import ConfigError
from avrobust.evaluation.perceptibility import psnr_db, snr_db
from avrobust.evaluation.engine import BudgetViolation
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.cascade import run_cascade


@pytest.mark.slow
def test_cascade_flags_asr_and_worst_case(trained):
    model, test = trained["model"], trained["test"]
    idx = torch.arange(64)
    result = evaluate_classifier(model, test, EvaluationPlan(("fgsm", "pgd:steps=5")), indices=idx)
    assert result["n"] == 64
    with torch.no_grad():
        b, y = test.batch(idx)
        clean_ok = model(b.video, b.audio).logits.argmax(1) == y
    assert result["clean_correct"] == int(clean_ok.sum())
    worst = clean_ok.clone()
    for label, r in result["attacks"].items():
        flags = r["robust_flags"]
        assert flags.dtype == torch.bool and flags.shape == (64,)
        assert not torch.any(flags & ~clean_ok), "a clip wrong when clean cannot be robust"
        assert r["robust_accuracy"] == pytest.approx(float(flags.float().mean()))
        expected_asr = float((clean_ok & ~flags).sum()) / float(clean_ok.sum())
        assert r["attack_success_rate"] == pytest.approx(expected_asr)
        assert r["budget"]["video"]["eps"] == pytest.approx(8 / 255) and r["modalities"] == ["video", "audio"]
        assert r["max_norm"]["video"] <= 8 / 255 + 1e-6 and r["max_norm"]["audio"] <= 0.01 + 1e-6
        assert 20 < r["psnr_db"] < 60 and 10 < r["snr_db"] < 50
        worst &= flags
    assert result["worst_case_robust_accuracy"] == pytest.approx(float(worst.float().mean()))
    assert result["worst_case_robust_accuracy"] <= min(r["robust_accuracy"] for r in result["attacks"].values())
    assert result["attacks"]["pgd:steps=5"]["steps"] == 5


def test_same_seed_gives_identical_results(untrained):
    run = lambda: run_cascade(untrained["model"], untrained["test"], build_attacks(["pgd"], steps=3, seed=1),
                                    indices=torch.arange(32))
    assert torch.equal(run().attacks["pgd"].robust_flags, run().attacks["pgd"].robust_flags)


class Cheater(Attack):
    """Leaves the budget on purpose."""

    name = "cheater"

    def perturb(self, model, x, labels, target, generator):
        return x

    def __call__(self, model, batch, labels, **_):
        return batch.with_inputs((batch.video + 0.2).clamp(0, 1), batch.audio)


def test_budget_violation_fails_loudly(untrained):
    with pytest.raises(BudgetViolation, match="left the video budget"):
        run_cascade(untrained["model"], untrained["test"], [Cheater()], indices=torch.arange(8))
    audio_only = Cheater(ThreatModel.build("audio"))
    with pytest.raises(BudgetViolation, match="was not allowed to attack"):
        run_cascade(untrained["model"], untrained["test"], [audio_only], indices=torch.arange(8))


def test_perceptibility_on_known_signals():
    clean = torch.zeros(2, 4, 3, 8, 8)
    adv = clean + 0.1
    assert psnr_db(clean, adv).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)  # 10 log10(1 / 0.01)
    t = torch.arange(8000) / 8000
    x = (0.5 * torch.sin(2 * math.pi * 440 * t))[None]
    # delta with a tenth of the amplitude: 20 dB
    assert snr_db(x, x * 1.1).item() == pytest.approx(20.0, abs=1e-3)
    assert snr_db(x, x).item() == 200.0


def test_attack_specs():
    attacks = build_attacks(["fgsm,mifgsm", "pgd:steps=7,restarts=2"], steps=3, restarts=4)
    assert [a.label for a in attacks] == ["fgsm", "mifgsm", "pgd:steps=7,restarts=2"]
    assert attacks[1].steps == 3 and attacks[1].restarts == 4
    assert attacks[2].steps == 7 and attacks[2].restarts == 2
    with pytest.raises(ConfigError, match="listed twice"):
        build_attacks(["pgd,pgd"])
    with pytest.raises(ConfigError, match="unknown attack 'cw'"):
        build_attacks(["cw"])
    assert create_attack("bim").name == "ifgsm"


def test_the_defence_suite_and_the_benchmark_go_through_the_one_cascade(untrained, monkeypatch):
    """One evaluation path: ``evaluate`` (a suite or attacks) and the model card call the same cascade
    function, the first each attack on every clip, the second shrinking."""
    from avrobust.evaluation import cascade
    from avrobust.evaluation.model_card import run_benchmark
    from avrobust.evaluation.suites import Protocol

    seen = []
    real = cascade.run_cascade
    monkeypatch.setattr(cascade, "run_cascade", lambda *a, **k: seen.append(k.get("shrink", False)) or real(*a, **k))
    model, test, idx = untrained["model"], untrained["test"], torch.arange(8)
    evaluate_classifier(model, test, EvaluationPlan(("fgsm",), steps=1), indices=idx)
    assert seen == [False]
    run_benchmark(model, test, Protocol("tiny", apgd_steps=1, targets=2, queries=2, eps_scales=(0.5, 1.0), eps_steps=1),
                  threats=["linf-both"], indices=idx)
    assert seen[1] is True and len(seen) == 3  # the cascade, then the eps curve's x0.5 (x1 is the cascade's APGD-CE)


def test_a_shrinking_cascade_attacks_only_the_clips_still_robust(untrained):
    model, test, idx = untrained["model"], untrained["test"], torch.arange(16)
    attacks = build_attacks(["fgsm", "pgd:steps=2"], steps=1, seed=0)
    ran = run_cascade(model, test, attacks, shrink=True, indices=idx)
    first, second = ran.steps
    assert first.attacked == 16 and first.fooled == ran.clean_correct - int(first.robust.sum())
    assert second.attacked == int(first.robust.sum()) and not torch.any(second.robust & ~first.robust)
    assert torch.equal(ran.robust, second.robust)
    each = run_cascade(model, test, attacks, indices=idx)  # the worst case of the two orders agrees on FGSM's flags
    assert torch.equal(each.attacks["fgsm"].robust_flags, first.robust)


def test_a_shrinking_cascade_resumes_after_the_attacks_it_finished(untrained, tmp_path, monkeypatch):
    from avrobust.evaluation import cascade

    model, test, idx = untrained["model"], untrained["test"], torch.arange(16)
    attacks = build_attacks(["fgsm", "pgd:steps=2"], steps=1, seed=0)
    full = run_cascade(model, test, attacks, shrink=True, indices=idx)
    progress = tmp_path / "progress.json"
    real, calls = cascade.attack_and_score, []

    def second_fails(*a, **k):
        calls.append(k["indices"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(cascade, "attack_and_score", second_fails)
    with pytest.raises(KeyboardInterrupt):
        run_cascade(model, test, attacks, shrink=True, indices=idx, progress_file=progress)
    assert progress.exists()
    monkeypatch.setattr(cascade, "attack_and_score", lambda *a, **k: calls.append(k["indices"]) or real(*a, **k))
    resumed = run_cascade(model, test, attacks, shrink=True, indices=idx, progress_file=progress)
    assert len(calls) == 3  # the rerun ran only the second attack
    assert torch.equal(resumed.robust, full.robust) and not progress.exists()
    assert [s.fooled for s in resumed.steps] == [s.fooled for s in full.steps]
