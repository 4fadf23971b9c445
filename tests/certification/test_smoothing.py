"""Randomized smoothing is sound and tight on a linear binary audio-visual model, whose L2 distance to
the decision boundary is exact: |w . x + b| / ||w|| jointly, |w . x + b| / ||w_a|| along the audio alone."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import avrobust
from avrobust.certification import ABSTAIN, certify_model, create_certifier
from avrobust.certification.smoothing import clopper_pearson_lower
from avrobust.data import AVDataset
from avrobust.errors import ConfigError

T, H, L = 2, 4, 64


class Linear(nn.Module):
    """logit_1 - logit_0 = w_v . video + w_a . audio + b."""

    def __init__(self, w_v: torch.Tensor, w_a: torch.Tensor, b: float) -> None:
        super().__init__()
        self.w_v, self.w_a, self.b = nn.Parameter(w_v), nn.Parameter(w_a), b

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        s = video.flatten(1) @ self.w_v + audio @ self.w_a + self.b
        return torch.stack([torch.zeros_like(s), s], 1)


def setup(distances: list[float], sigma: float, along: str) -> tuple[nn.Module, AVDataset, torch.Tensor, float]:
    """Clips at the given multiples of sigma from the boundary (jointly, or along the audio alone)."""
    g = torch.Generator().manual_seed(0)
    w_v, w_a = torch.randn(T * 3 * H * H, generator=g) / 20, torch.randn(L, generator=g) / 4
    b = 0.1
    net = avrobust.wrap(Linear(w_v, w_a, b), num_classes=2, sample_rate=L // T)
    norm = math.sqrt(float(w_v @ w_v + w_a @ w_a)) if along == "both" else float(w_a.norm())
    n = len(distances)
    video = 0.5 + 0.05 * torch.randn(n, T, 3, H, H, generator=g)
    audio = 0.05 * torch.randn(n, L, generator=g)
    score = video.flatten(1) @ w_v + audio @ w_a + b
    sign = torch.tensor([1.0 if k % 2 == 0 else -1.0 for k in range(n)])
    target = sign * torch.tensor(distances) * sigma * norm  # the score each clip should have
    audio = audio + ((target - score) / float(w_a @ w_a))[:, None] * w_a  # move along w_a only
    labels = (sign > 0).long()
    data = AVDataset(video, audio, labels, ["neg", "pos"], fps=1.0, sample_rate=L // T, spec="linear", split="test")
    exact = ((video.flatten(1) @ w_v + audio @ w_a + b).abs() / norm)
    return net, data, exact, sigma


@pytest.mark.parametrize("along", ["both", "audio"])
def test_no_certified_radius_exceeds_the_exact_distance_and_the_bound_is_tight(along):
    """Sound on every clip (the bound holds with probability 1 - alpha per clip; the seed is fixed). Tight: with
    n = 10,000 and alpha = 0.001 the expected radius is 92-96 % of the exact distance between 0.5 and 3 sigma
    (Clopper-Pearson's margin), with a spread of 1.5-3 % per clip, so the mean over 8 clips at each distance
    is held to 90 % (3.6 standard errors or more away), except at 0.5 sigma, where the expectation itself is
    92 % and 85 % is asked (7 standard errors)."""
    distances = [0.5, 1.0, 2.0, 3.0]
    sigma = 0.2
    net, data, exact, _ = setup([d for d in distances for _ in range(8)], sigma, along)
    cert = create_certifier("smoothing", sigma_video=sigma if along == "both" else 0.0, sigma_audio=sigma, n0=100,
                            n=10_000, batch=5000)
    result = certify_model(net, data, cert, seed=1)
    assert result.predictions == result.labels  # every clip certified, and rightly
    ratios = []
    for got, want in zip(result.radius, exact.tolist()):
        assert got <= want + 1e-9, f"certified {got} beyond the exact distance {want}"
        ratios.append(got / want)
    for k, d in enumerate(distances):
        mean = sum(ratios[8 * k:8 * k + 8]) / 8
        assert mean >= (0.85 if d == 0.5 else 0.9), f"at {d} sigma the radius is {mean:.3f} of the exact distance"


def test_abstentions_rise_with_sigma():
    net, data, _, _ = setup([0.3, 0.6, 0.9, 1.2] * 3, 0.1, "audio")
    abstained = [certify_model(net, data, create_certifier("smoothing", sigma_video=0.0, sigma_audio=s, n=200),
                               seed=0).abstained for s in (0.05, 0.4, 2.0)]
    assert abstained[0] <= abstained[1] <= abstained[2] and abstained[2] > abstained[0]


def test_same_seed_same_certificates_and_certified_accuracy_falls_with_radius():
    net, data, _, _ = setup([0.5, 1.0, 1.5, 2.5], 0.2, "both")
    cert = create_certifier("smoothing", sigma_video=0.2, sigma_audio=0.2, n=500)
    a, b = certify_model(net, data, cert, seed=3), certify_model(net, data, cert, seed=3)
    assert a.radius == b.radius and a.predictions == b.predictions
    assert all(x >= y for x, y in zip(a.certified_accuracy, a.certified_accuracy[1:]))
    assert a.radius_units.startswith("L2 over video and audio together")


def test_clopper_pearson_and_bad_settings():
    assert clopper_pearson_lower(0, 100, 0.001) == 0.0
    assert 0.9 < clopper_pearson_lower(990, 1000, 0.001) < 0.99
    for bad in ({"sigma_video": 0.0, "sigma_audio": 0.0}, {"n": 0}, {"alpha": 0.7}, {"sigma_video": -1.0}):
        with pytest.raises(ConfigError, match="smoothing"):
            create_certifier("smoothing", **bad)
    assert ABSTAIN == -1
