"""Frame-subsampling certification: MMCert (Wang, Wang, Guo and Gong, "MMCert: Provable Defense against
Adversarial Attacks to Multi-modal Models", CVPR 2024). https://arxiv.org/abs/2403.19080 .

The certified classifier shows the base model ``k_video`` random frames and ``k_audio`` random audio
segments of the T aligned ones (the others black and silent) and votes: ``g(x)`` is the class most
subsamples vote for. An attacker who changes ``r_v`` frames and ``r_a`` segments (anything in them)
alters only the subsamples that include a changed one, a share of at most
``delta = 1 - C(T - r_v, k_v) / C(T, k_v) * C(T - r_a, k_a) / C(T, k_a)``; so ``g`` keeps class A while
``p_A - delta > p_B + delta``. When every pair of subsets can be enumerated within ``n`` forward passes
the vote is exact (no sampling, no confidence level: a deterministic certificate); otherwise ``n0`` draws
choose A, ``n`` draws give a Clopper-Pearson lower bound ``p_A`` at ``alpha``, ``p_B <= 1 - p_A``, and the
certificate holds with probability at least ``1 - alpha``.
"""

from __future__ import annotations

import functools
import itertools
from math import comb
from typing import Any

import torch

from avrobust.certification.base import ABSTAIN, Certificate, Certifier, predict, register_certifier
from avrobust.certification.smoothing import clopper_pearson_lower
from avrobust.errors import ConfigError, InputError
from avrobust.models.interface import AVModel


def kept_share(t: int, k: int, r: int) -> float:
    """The share of k-of-t subsets that avoid r given elements."""
    return comb(t - r, k) / comb(t, k) if r <= t - k else 0.0


@register_certifier("mmcert")
class FrameSubsampling(Certifier):
    """Frame-subsampling certification (MMCert): a vote over subsets of frames and audio segments.

    Args: ``k_video`` frames and ``k_audio`` audio segments per subsample (2 and 2), ``n``
    estimation draws (1000), ``n0`` selection draws (100), ``alpha`` (0.001), ``batch`` subsamples per
    forward pass (100), ``sample`` (false: enumerate every pair of subsets when there are at most ``n``)."""

    def __init__(self, *, k_video: int = 2, k_audio: int = 2, n: int = 1000, n0: int = 100, alpha: float = 0.001,
                 batch: int = 100, sample: bool = False) -> None:
        for key, value in (("k_video", k_video), ("k_audio", k_audio), ("n", n), ("n0", n0), ("batch", batch)):
            if int(value) != value or value < 1:
                raise ConfigError(f"mmcert: {key} must be an integer >= 1, got {value}")
        if not 0 < alpha < 0.5:
            raise ConfigError(f"mmcert: alpha must be in (0, 0.5), got {alpha}")
        self.k_video, self.k_audio, self.n, self.n0, self.batch = int(k_video), int(k_audio), int(n), int(n0), int(batch)
        self.alpha, self.sample = float(alpha), bool(sample)

    def options(self) -> dict[str, Any]:
        return {"k_video": self.k_video, "k_audio": self.k_audio, "n": self.n, "n0": self.n0, "alpha": self.alpha,
                "sample": self.sample}

    def radius_units(self) -> str:
        return "frames and audio segments changed, as many of each (r frames and r segments)"

    def default_radii(self) -> list[float]:
        return [0.0, 1.0, 2.0, 3.0]

    def exact(self, frames: int) -> bool:
        """Whether the vote is enumerated (every pair of subsets within ``n`` forward passes)."""
        return not self.sample and comb(frames, self.k_video) * comb(frames, self.k_audio) <= self.n

    def _check(self, frames: int) -> None:
        if max(self.k_video, self.k_audio) > frames:
            raise InputError(f"mmcert: k_video ({self.k_video}) and k_audio ({self.k_audio}) must be at most the "
                             f"clip's {frames} frames")

    def subsets(self, frames: int, draws: int, generator: torch.Generator, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep masks ``[m, T]`` for video and audio: every pair when :meth:`exact`, else ``draws`` random ones."""
        if self.exact(frames):
            return self._every_pair(frames, device)

        def draw(k: int) -> torch.Tensor:
            ranks = torch.rand(draws, frames, generator=generator, device=device).argsort(1).argsort(1)
            return ranks < k

        return draw(self.k_video), draw(self.k_audio)

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a few (frames, device) keys per certifier, built once
    def _every_pair(self, frames: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = list(itertools.product(itertools.combinations(range(frames), self.k_video),
                                       itertools.combinations(range(frames), self.k_audio)))
        keep_v = torch.zeros(len(pairs), frames, dtype=torch.bool)
        keep_a = torch.zeros_like(keep_v)
        for i, (v, a) in enumerate(pairs):
            keep_v[i, list(v)], keep_a[i, list(a)] = True, True
        return keep_v.to(device), keep_a.to(device)

    def votes(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor, keep_v: torch.Tensor,
              keep_a: torch.Tensor) -> torch.Tensor:
        """Votes per class ``[K]`` of the base model over the subsamples (unkept frames black, segments silent)."""
        frames, k = video.shape[0], model.config.num_classes
        segments = audio.view(frames, -1)
        found = torch.zeros(k, dtype=torch.long, device=video.device)
        for s in range(0, len(keep_v), self.batch):
            kv, ka = keep_v[s:s + self.batch], keep_a[s:s + self.batch]
            v = video[None] * kv[:, :, None, None, None]
            a = (segments[None] * ka[:, :, None]).flatten(1)
            found += torch.bincount(predict(model, v, a), minlength=k)
        return found.cpu()

    def vote(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor, generator: torch.Generator) -> int:
        """``g(x)``: the class of the most votes (exact, or over ``n`` draws)."""
        self._check(video.shape[0])
        return int(self.votes(model, video, audio, *self.subsets(video.shape[0], self.n, generator, video.device)).argmax())

    def certify_clip(self, model: AVModel, video: torch.Tensor, audio: torch.Tensor,
                     generator: torch.Generator) -> Certificate:
        frames = video.shape[0]
        self._check(frames)
        if self.exact(frames):
            counts = self.votes(model, video, audio, *self.subsets(frames, self.n, generator, video.device)).double()
            top = counts.topk(2) if len(counts) > 1 else (counts, torch.zeros(1, dtype=torch.long))
            chosen = int(top[1][0])
            p_a = float(top[0][0] / counts.sum())
            p_b = float(top[0][1] / counts.sum()) if len(counts) > 1 else 0.0
        else:
            chosen = int(self.votes(model, video, audio, *self.subsets(frames, self.n0, generator, video.device)).argmax())
            hits = int(self.votes(model, video, audio, *self.subsets(frames, self.n, generator, video.device))[chosen])
            p_a = clopper_pearson_lower(hits, self.n, self.alpha)
            p_b = 1 - p_a
        frontier = [self._largest_audio(frames, r_v, p_a, p_b) for r_v in range(frames + 1)]
        if frontier[0] < 0:
            return Certificate(ABSTAIN, 0.0, frontier)
        radius = max(r for r in range(frames + 1) if frontier[r] >= r)
        return Certificate(chosen, float(radius), frontier)

    def _largest_audio(self, frames: int, r_v: int, p_a: float, p_b: float) -> int:
        """The most segments that may change beside ``r_v`` frames with the class kept (-1: none)."""
        best = -1
        for r_a in range(frames + 1):
            delta = 1 - kept_share(frames, self.k_video, r_v) * kept_share(frames, self.k_audio, r_a)
            if p_a - delta > p_b + delta + 1e-12:
                best = r_a
            else:
                break
        return best
