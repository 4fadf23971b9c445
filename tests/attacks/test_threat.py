import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.attacks.mifgsm import mean_abs_normalise
from avrobust.attacks.threat import (Budget, ThreatModel, ascent_step, flat_norm, project, random_start,
                                     within_budget)
from avrobust.errors import ConfigError

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(lambda s: (3, *s))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, eps=st.floats(0.0, 0.5), norm=st.sampled_from(["linf", "l2"]), scale=st.floats(0.0, 3.0),
       seed=st.integers(0, 10_000))
def test_project_lands_in_ball_and_range_and_is_idempotent(shape, eps, norm, scale, seed):
    g = torch.Generator().manual_seed(seed)
    budget = Budget(norm, eps, None, 0.0, 1.0)
    x = torch.rand(shape, generator=g)
    x_adv = x + scale * torch.randn(shape, generator=g)
    p = project(x_adv, x, budget)
    assert torch.all(within_budget(p, x, budget))
    torch.testing.assert_close(project(p, x, budget), p)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, eps=st.floats(0.01, 0.5), seed=st.integers(0, 10_000))
def test_linf_projection_is_the_nearest_point(shape, eps, seed):
    """Inside the range, linf projection equals coordinate-wise clipping to [x-eps, x+eps]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g) * 0.5 + 0.25
    y = x + torch.randn(shape, generator=g) * 0.1
    p = project(y, x, Budget("linf", eps, None, -10.0, 10.0))
    torch.testing.assert_close(p, torch.minimum(torch.maximum(y, x - eps), x + eps))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, eps=st.floats(0.01, 2.0), seed=st.integers(0, 10_000))
def test_l2_projection_scales_onto_the_sphere(shape, eps, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(shape)
    y = torch.randn(shape, generator=g) * 5
    p = project(y, x, Budget("l2", eps, None, -100.0, 100.0))
    norms, orig = flat_norm(p, "l2"), flat_norm(y, "l2")
    torch.testing.assert_close(norms, torch.minimum(orig, torch.full_like(orig, eps)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_random_start_is_in_ball_and_seeded(norm):
    b = Budget(norm, 0.1, None, -1.0, 1.0)
    x = torch.zeros(4, 3, 5)
    a = random_start(x, b, torch.Generator().manual_seed(1))
    c = random_start(x, b, torch.Generator().manual_seed(1))
    assert torch.equal(a, c) and torch.all(within_budget(a, x, b)) and a.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps_video": -0.1}, "eps must be"),
        ({"eps_audio": float("nan")}, "eps must be"),
        ({"eps_video": 1.5}, "larger than the input range"),
        ({"norm_audio": "l1"}, "unknown norm 'l1'"),
        ({"step_video": 0.0}, "step size"),
        ({"colour_video": 1}, "unknown threat option"),
        ({"modalities": "sound"}, "unknown modality sound"),
        ({"modalities": ""}, "unknown modality"),
    ],
)
def test_bad_budgets_are_rejected(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ThreatModel.build(**kwargs)


def test_defaults_and_description():
    t = ThreatModel()
    assert t.video.eps == pytest.approx(8 / 255) and t.audio.eps == pytest.approx(0.01)
    assert (t.video.low, t.video.high, t.audio.low, t.audio.high) == (0.0, 1.0, -1.0, 1.0)
    assert t.modalities == ("video", "audio")
    assert ThreatModel.build("audio,video").modalities == ("video", "audio")
    assert t.describe()["video"] == {"norm": "linf", "eps": 8 / 255, "step": None}


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([1e-30, 1e-20, 1e-13, 1e-6, 1.0, 1e6]), seed=st.integers(0, 1000))
def test_step_directions_are_scale_invariant(scale: float, seed: int) -> None:
    """MI-FGSM's g / mean|g| and the L2 ascent direction do not depend on the gradient's scale, however
    small (a confidently classified clip has mean|g| below 1e-12); a zero gradient gives a zero step."""
    g = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(mean_abs_normalise(g * scale), mean_abs_normalise(g))
    b = Budget("l2", 0.5, None, -10.0, 10.0)
    x = torch.zeros(3, 4, 5)
    torch.testing.assert_close(ascent_step(x, g * scale, b, 0.1), ascent_step(x, g, b, 0.1))
    assert torch.equal(mean_abs_normalise(torch.zeros(2, 3)), torch.zeros(2, 3))
    assert torch.equal(ascent_step(x, torch.zeros_like(x), b, 0.1), x)
