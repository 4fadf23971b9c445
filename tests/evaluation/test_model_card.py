"""The standard benchmark: threat models, the randomness check, EOT, Square's scores-only contract, the
cascade, the model card and the leaderboard; the masking must-show on a quantised model (slow)."""

import json
import math

import pytest
import torch
from torch import nn

from avrobust.attacks import ThreatModel, create_attack
from avrobust.errors import ConfigError
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.model_card import THREATS, is_randomised, l2_budgets, run_benchmark, threat_model
from avrobust.evaluation.suites import Protocol, protocols
from avrobust.models.canary import Quantised
from avrobust.results import BenchmarkResult, read_result
from avrobust.results.benchmark import cost_note

#: the cascade's algorithms at a cost the fast tier affords
TINY = Protocol("tiny", apgd_steps=3, targets=2, queries=10, eot=2, eps_steps=2)


class Noisy(nn.Module):
    """A randomised defence: Gaussian noise on the frames at every call (its own generator)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.config, self.calls = inner, inner.config, 0
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, video: torch.Tensor, audio: torch.Tensor):
        self.calls += 1
        noise = torch.randn(video.shape, generator=self.generator) * 0.02
        return self.inner((video + noise).clamp(0, 1), audio)

    def check_batch(self, batch) -> None:
        self.inner.check_batch(batch)

    @property
    def unimodal_definition(self):
        return self.inner.unimodal_definition


def test_threat_models_and_l2_budgets(untrained):
    test = untrained["test"]
    ev, ea = l2_budgets(test)
    assert ev == pytest.approx(0.5 / (8 / 255 * math.sqrt(3072)) * 8 / 255 * math.sqrt(test.video[0].numel()))
    assert ea == pytest.approx(0.5 / (8 / 255 * math.sqrt(3072)) * 0.01 * math.sqrt(test.audio.shape[1]))
    linf_video = threat_model("linf-video", test)
    assert linf_video.modalities == ("video",) and linf_video.video.norm == "linf"
    l2 = threat_model("l2-both", test)
    assert l2.video.norm == l2.audio.norm == "l2" and l2.video.eps == pytest.approx(ev)
    with pytest.raises(ConfigError, match="unknown threat model 'l3-both'; valid choices: linf-video"):
        threat_model("l3-both", test)


def test_randomness_check(untrained):
    model, test = untrained["model"], untrained["test"]
    assert not is_randomised(model, test)
    assert is_randomised(Noisy(model), test)


def test_eot_averages_passes_and_changes_nothing_on_a_deterministic_model(untrained):
    model, test = untrained["model"], untrained["test"]
    batch, labels = test.batch(slice(0, 4))
    noisy = Noisy(model)
    create_attack("pgd", steps=3, eot=4)(noisy, batch, labels)
    assert noisy.calls >= 3 * 4  # every step reads 4 passes
    one, four = (create_attack("pgd", steps=3, eot=k, seed=1)(model, batch, labels) for k in (1, 4))
    assert torch.equal(one.video, four.video) and torch.equal(one.audio, four.audio)
    with pytest.raises(ConfigError, match="eot"):
        create_attack("pgd", eot=0)


def test_square_reads_scores_only(untrained):
    """Square never asks for a gradient: no input it passes the model requires one, and it runs with
    autograd switched off."""
    model, test = untrained["model"], untrained["test"]
    batch, labels = test.batch(slice(0, 4))
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.config = model, model.config

        def forward(self, video, audio):
            seen.append(video.requires_grad or audio.requires_grad or torch.is_grad_enabled())
            return self.inner(video, audio)

        def check_batch(self, b):
            model.check_batch(b)

        unimodal_definition = None

    create_attack("square", steps=20)(Spy(), batch, labels)
    assert seen and not any(seen)


def test_square_and_apgd_t_validation(untrained):
    with pytest.raises(ConfigError, match="p_init must lie in"):
        create_attack("square", p_init=1.5)
    with pytest.raises(ConfigError, match="targets must be an integer"):
        create_attack("apgd-t", targets=0)
    model = untrained["model"]
    from avrobust.types import AVBatch

    few = AVBatch(torch.rand(2, 8, 3, 32, 32), torch.zeros(2, 8000), 8.0, 8000)
    with pytest.raises(ConfigError, match="at least 4 classes"):
        create_attack("apgd-t", steps=2)(_Classes(model, 3), few, torch.tensor([0, 1]))


class _Classes(nn.Module):
    """The first ``k`` logits of a model."""

    def __init__(self, inner: nn.Module, k: int) -> None:
        super().__init__()
        self.inner, self.k, self.config = inner, k, inner.config

    def forward(self, video, audio):
        out = self.inner(video, audio)
        out.logits = out.logits[:, : self.k]
        return out

    def check_batch(self, b):
        pass

    unimodal_definition = None


def test_the_eps_curve_reuses_the_cascade_at_1x_and_attacks_larger_budgets_only_where_still_robust(untrained):
    """A clip fooled at a budget is fooled at every larger one, so x2 and x4 attack only what x1 and x2 left
    robust; x0.5 attacks every clip; the card records each stage's seconds."""
    model, test = untrained["model"], untrained["test"]
    n = 16
    card = run_benchmark(model, test, TINY, threats=["linf-both"], indices=torch.arange(n))
    r = card.threats["linf-both"]
    c = r.eps_curve
    assert c.scales == [0.5, 1.0, 2.0, 4.0] and c.attacked[0] == n and c.attacked[1] == 0
    assert c.robust_accuracy[1] == r.cascade[0].robust_accuracy  # the cascade's own APGD-CE at x1
    assert c.attacked[2] == round(c.robust_accuracy[1] * n) and c.attacked[3] == round(c.robust_accuracy[2] * n)
    assert c.robust_accuracy[1] >= c.robust_accuracy[2] >= c.robust_accuracy[3]
    assert set(card.stage_seconds) == {"checks", "linf-both"} and c.seconds > 0
    assert all(v >= 0 for v in card.stage_seconds.values())
    note = cost_note(card)  # the card's cost line: stages, then each attack, the eps curve
    assert note.startswith("Cost: checks ") and "; linf-both: apgd-ce " in note and "eps curve" in note


def test_a_model_at_zero_at_1x_leaves_the_larger_budgets_nothing_to_attack(untrained):
    from avrobust.evaluation.curves import eps_curve

    model, test = untrained["model"], untrained["test"]
    curve = eps_curve(model, test, ThreatModel(), [1.0, 2.0, 4.0], 2, indices=torch.arange(8),
                      at_one=torch.zeros(8, dtype=torch.bool))
    assert curve.robust_accuracy == [0.0, 0.0, 0.0] and curve.attacked == [0, 0, 0]


def test_card_cascade_round_trip_and_leaderboard(untrained, tmp_path, run_cli):
    model, test = untrained["model"], untrained["test"]
    card = run_benchmark(model, test, TINY, threats=["linf-both", "l2-audio"], indices=torch.arange(8),
                         model_name="untrained")
    for name, r in card.threats.items():
        steps = r.cascade
        assert [s.attack for s in steps] == ["apgd-ce", "apgd-t", "square"]
        assert steps[0].attacked == 8
        for before, after in zip(steps, steps[1:]):  # each attack only on the clips still robust
            assert after.attacked == round(before.robust_accuracy * 8)
            assert after.robust_accuracy <= before.robust_accuracy
        assert r.robust_accuracy == steps[-1].robust_accuracy == pytest.approx(float(r.robust_flags.float().mean()))
        assert r.robust_accuracy <= r.clean_accuracy == card.clean_accuracy
    assert card.threats["linf-both"].eps_curve is not None and card.threats["l2-audio"].eps_curve is None
    assert card.n == 8 and card.protocol == "tiny" and card.versions["torch"] == torch.__version__
    path = card.write(tmp_path / "a.json")
    again = read_result(path)
    assert isinstance(again, BenchmarkResult)
    assert torch.equal(again.threats["linf-both"].robust_flags, card.threats["linf-both"].robust_flags)
    second = json.loads(path.read_text())
    second["model"], second["threats"]["linf-both"]["robust_accuracy"] = "other", 0.5
    (tmp_path / "b.json").write_text(json.dumps(second))
    code, out, _ = run_cli("leaderboard", tmp_path, "--out", tmp_path / "board")
    board = (tmp_path / "board.md").read_text()
    assert code == 0 and "leaderboard (2 model cards)" in out and "other" in board and "untrained" in board
    assert (tmp_path / "board.csv").read_text().splitlines()[1].split(",")[1] == "other"  # ranked first
    assert "\\begin{tabular}" in (tmp_path / "board.tex").read_text()
    code, _, err = run_cli("leaderboard", tmp_path, "--out", tmp_path / "board")
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1


def test_report_shows_the_leaderboard_from_two_cards(untrained, tmp_path, run_cli):
    model, test = untrained["model"], untrained["test"]
    card = run_benchmark(model, test, TINY, threats=["linf-audio"], indices=torch.arange(4), model_name="one")
    card.write(tmp_path / "cards" / "one.json")
    code, _, _ = run_cli("report", tmp_path / "cards", "--out", tmp_path / "r1")
    text = (tmp_path / "r1" / "report.md").read_text()
    assert code == 0 and "Model card: one" in text and "Leaderboard" not in text
    card.model = "two"
    card.write(tmp_path / "cards" / "two.json")
    code, _, _ = run_cli("report", tmp_path / "cards", "--out", tmp_path / "r2")
    text = (tmp_path / "r2" / "report.md").read_text()
    assert code == 0 and "Leaderboard" in text
    assert text.index("Leaderboard") < text.index("Model card: one")


def test_benchmark_rejects_bad_settings(untrained, tmp_path, run_cli):
    model, test = untrained["model"], untrained["test"]
    with pytest.raises(ConfigError, match="unknown protocol 'full'; valid choices: quick, standard"):
        run_benchmark(model, test, "full")
    with pytest.raises(ConfigError, match="unknown threat model linf-all"):
        run_benchmark(model, test, TINY, threats=["linf-all"])
    (tmp_path / "x.json").write_text("{}")
    code, _, err = run_cli("leaderboard", tmp_path / "x.json")
    assert code == 2 and "not an avrobust result file" in err
    assert set(protocols()) == {"standard", "quick"} and len(THREATS) == 6


@pytest.mark.slow
def test_masked_gradients_fool_gradient_attacks_not_the_benchmark(trained):
    """The must-show: behind input quantisation, PGD-10 and APGD-CE keep at least 0.8 of the clean
    accuracy, Square (1000 queries, the only score-based attack) lowers the robust accuracy by at least
    30 points more and the benchmark raises its gradient-free and zero-gradient flags.

    Deterministic (seeded attacks). On 32 clips of the fixture model: clean 0.969, APGD-CE leaves 0.938,
    Square 0.50 (44 points lower; one clip is 3). On 100 clips of three `synth` models the drop at 1000
    queries was 17-36 points (benchmarks/RESULTS.md, issue 29): 30 points is this fixture's, not a law."""
    model, test = Quantised(trained["model"]), trained["test"]
    idx = torch.arange(32)
    pgd = evaluate_classifier(model, test, EvaluationPlan(("pgd:steps=10",), ThreatModel()), indices=idx)
    clean = pgd.clean_accuracy
    assert clean >= 0.8 and pgd.attacks["pgd:steps=10"].robust_accuracy >= 0.8 * clean
    protocol = Protocol("masking-test", apgd_steps=10, targets=2, queries=1000, eps_scales=(0.5, 4.0), eps_steps=3)
    card = run_benchmark(model, test, protocol, threats=["linf-both"], indices=idx)
    both = card.threats["linf-both"]
    apgd = both.cascade[0]
    assert apgd.attack == "apgd-ce" and apgd.robust_accuracy >= 0.8 * clean
    assert both.white_box_accuracy() >= 0.8 * clean
    assert both.robust_accuracy <= both.white_box_accuracy() - 0.30
    assert any(f.startswith("gradient-free") for f in card.flags), card.flags
    assert any(f.startswith("zero-gradients") for f in card.flags), card.flags


@pytest.mark.slow
def test_benchmark_worst_case_at_most_the_defence_suite_on_an_undefended_model(trained):
    model, test = trained["model"], trained["test"]
    idx = torch.arange(16)
    suite = evaluate_classifier(model, test, EvaluationPlan(suite="defence", steps=10), indices=idx)
    card = run_benchmark(model, test, "quick", threats=["linf-both"], indices=idx)
    assert card.threats["linf-both"].robust_accuracy <= suite.worst_case_robust_accuracy
    assert card.clean_accuracy == pytest.approx(suite.clean_accuracy)
    assert not [f for f in card.flags if f.startswith(("gradient-free", "zero-gradients"))]
