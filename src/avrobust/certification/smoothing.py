"""Randomized smoothing: Cohen, Rosenfeld and Kolter, "Certified Adversarial Robustness via Randomized
Smoothing", ICML 2019. https://arxiv.org/abs/1902.02918 .

The smoothed classifier ``g(x) = argmax_c P(f(x + e) = c)`` adds Gaussian noise ``e`` in raw units to the
noised modalities (``sigma_video`` on frames in [0, 1], ``sigma_audio`` on the waveform in [-1, 1]; a sigma
of 0 leaves that modality clean and out of the threat model). CERTIFY: ``n0`` draws choose the class,
``n`` more draws count it, and the one-sided Clopper-Pearson lower bound ``p_A`` at level ``alpha`` gives
the radius ``Phi^-1(p_A)`` in whitened units (abstain when ``p_A < 1/2``): no perturbation with
``||(d_video / sigma_video, d_audio / sigma_audio)||_2`` below it changes ``g``, with probability at least
``1 - alpha``. With one modality noised, or both at the same sigma, the radius is reported as an L2
norm in raw units (sigma times the whitened radius); otherwise in whitened units. The noise is not
clipped to the valid range (the guarantee is for the classifier as it is applied to ``x + e``).
"""

from __future__ import annotations

from typing import Any

import torch
from scipy.stats import beta, norm

from avrobust.certification.base import ABSTAIN, Certificate, Certifier, predict, register_certifier
from avrobust.errors import ConfigError
from avrobust.models.interface import AVModel


def clopper_pearson_lower(successes: int, draws: int, alpha: float) -> float:
    """One-sided lower confidence bound at level ``1 - alpha`` of a binomial proportion."""
    return 0.0 if successes == 0 else float(beta.ppf(alpha, successes, draws - successes + 1))


@register_certifier("smoothing")
class RandomizedSmoothing(Certifier):
    """Gaussian randomized smoothing (Cohen et al.), per modality or jointly: a certified L2 radius.

    Args: ``sigma_video`` (0.25), ``sigma_audio``
    (0: audio not noised), ``n0`` selection draws (100), ``n`` estimation draws (1000), ``alpha`` (0.001),
    ``batch`` draws per forward pass (100)."""

    def __init__(self, *, sigma_video: float = 0.25, sigma_audio: float = 0.0, n0: int = 100, n: int = 1000,
                 alpha: float = 0.001, batch: int = 100) -> None:
        if sigma_video < 0 or sigma_audio < 0 or sigma_video == sigma_audio == 0:
            raise ConfigError("smoothing: sigma_video and sigma_audio must be >= 0 and one of them > 0, got "
                              f"{sigma_video} and {sigma_audio}")
        for key, value in (("n0", n0), ("n", n), ("batch", batch)):
            if int(value) != value or value < 1:
                raise ConfigError(f"smoothing: {key} must be an integer >= 1, got {value}")
        if not 0 < alpha < 0.5:
            raise ConfigError(f"smoothing: alpha must be in (0, 0.5), got {alpha}")
        self.sigma_video, self.sigma_audio = float(sigma_video), float(sigma_audio)
        self.n0, self.n, self.alpha, self.batch = int(n0), int(n), float(alpha), int(batch)

    def options(self) -> dict[str, Any]:
        return {"sigma_video": self.sigma_video, "sigma_audio": self.sigma_audio, "n0": self.n0, "n": self.n,
                "alpha": self.alpha}

    def _scale(self) -> float:
        """Raw units per whitened unit (1 when the two sigmas differ: the radius stays whitened)."""
        noised = [s for s in (self.sigma_video, self.sigma_audio) if s > 0]
        return noised[0] if len(set(noised)) == 1 else 1.0

    def radius_units(self) -> str:
        if self.sigma_video > 0 and self.sigma_audio > 0:
            if self.sigma_video == self.sigma_audio:
                return "L2 over video and audio together, raw units"
            return (f"whitened L2: ||(d_video / {self.sigma_video:g}, d_audio / {self.sigma_audio:g})||_2; times "
                    "a modality's sigma: its own L2 radius when only it is perturbed")
        return f"L2 on the {'video' if self.sigma_video > 0 else 'audio'} only, raw units (the other modality fixed)"

    def default_radii(self) -> list[float]:
        return [round(self._scale() * r, 6) for r in (0.0, 0.5, 1.0, 1.5, 2.0)]

    def counts(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor, draws: int,
               generator: torch.Generator) -> torch.Tensor:
        """How often each class wins over ``draws`` noisy copies of one clip (``[K]``)."""
        found: torch.Tensor | None = None
        done, k = 0, model.config.num_classes
        while done < draws:
            m = min(self.batch, draws - done)
            v, a = video.expand(m, *video.shape), audio.expand(m, *audio.shape)
            if self.sigma_video > 0:  # drawn, scaled and shifted in one buffer (no temporaries)
                v = torch.randn(v.shape, generator=generator, device=v.device, dtype=v.dtype).mul_(self.sigma_video).add_(v)
            if self.sigma_audio > 0:
                a = torch.randn(a.shape, generator=generator, device=a.device, dtype=a.dtype).mul_(self.sigma_audio).add_(a)
            counts = torch.bincount(predict(model, v, a), minlength=k)
            found = counts if found is None else found + counts
            done += m
        assert found is not None
        return found.cpu()

    def certify_clip(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor,
                     generator: torch.Generator) -> Certificate:
        chosen = int(self.counts(model, video, audio, self.n0, generator).argmax())
        hits = int(self.counts(model, video, audio, self.n, generator)[chosen])
        p_a = clopper_pearson_lower(hits, self.n, self.alpha)
        if p_a < 0.5:
            return Certificate(ABSTAIN, 0.0)
        return Certificate(chosen, self._scale() * float(norm.ppf(p_a)))
