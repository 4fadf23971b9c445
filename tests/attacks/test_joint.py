"""CRMT's joint L2 budget over both modalities: respected by FGM, I-FGSM and PGD, refused elsewhere."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.attacks import ThreatModel, create_attack
from avrobust.attacks.joint import joint_norm, joint_random_start, project_joint
from avrobust.errors import ConfigError


@settings(max_examples=40, deadline=None)
@given(eps=st.floats(0.01, 5.0), scale=st.floats(0.0, 50.0), seed=st.integers(0, 2**16))
def test_projection_lands_in_the_joint_ball_and_the_ranges(eps, scale, seed):
    g = torch.Generator().manual_seed(seed)
    x = {"video": torch.rand(3, 2, 3, 4, 4, generator=g), "audio": torch.rand(3, 50, generator=g) * 2 - 1}
    adv = {m: x[m] + scale * torch.randn(x[m].shape, generator=g) for m in x}
    threat = ThreatModel(joint_l2=eps)
    out = project_joint(adv, x, threat)
    assert bool((joint_norm(out, x) <= eps * (1 + 1e-5)).all())
    assert out["video"].min() >= 0 and out["video"].max() <= 1 and out["audio"].abs().max() <= 1
    start = joint_random_start(x, threat, g)
    assert bool((joint_norm(start, x) <= eps * (1 + 1e-5)).all())


@pytest.mark.parametrize("name", ["fgsm", "ifgsm", "pgd"])
def test_attacks_spend_one_budget_over_both_modalities(untrained, name):
    model, data = untrained["model"], untrained["test"]
    batch, labels = data.batch(slice(0, 6))
    eps = 1.0
    adv = create_attack(name, ThreatModel(joint_l2=eps), **({} if name == "fgsm" else {"steps": 3}))(model, batch, labels)
    norms = joint_norm({"video": adv.video, "audio": adv.audio}, {"video": batch.video, "audio": batch.audio})
    assert bool((norms <= eps * (1 + 1e-5)).all()) and float(norms.max()) > 0.5 * eps
    if name == "fgsm":  # FGM: one full step; range clipping can only shorten it
        assert float(norms.max()) == pytest.approx(eps, rel=1e-4)


def test_joint_budget_is_refused_where_it_does_not_apply():
    with pytest.raises(ConfigError, match="does not take a joint L2 budget"):
        create_attack("mifgsm", ThreatModel(joint_l2=1.0))
    with pytest.raises(ConfigError, match="spans both modalities"):
        ThreatModel(modalities=("video",), joint_l2=1.0)
    with pytest.raises(ConfigError, match="replaces the per-modality"):
        ThreatModel.build(joint_l2=1.0, eps_video=0.1)
    assert ThreatModel(joint_l2=2.0).scaled(0.5).joint_l2 == 1.0


@pytest.mark.slow
def test_cli_evaluates_under_a_joint_budget(run_cli, trained):
    code, out, err = run_cli("evaluate", "--checkpoint", trained["run_dir"], "--attack", "fgsm,pgd", "--steps", "3",
                             "--joint-l2", "1.5", "--n", "16")
    assert code == 0, err
    code, _, err = run_cli("evaluate", "--checkpoint", trained["run_dir"], "--attack", "tma", "--joint-l2", "1.5")
    assert code != 0 and "does not take a joint L2 budget" in err
