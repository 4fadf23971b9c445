"""Square: Andriushchenko et al., "Square Attack: a query-efficient black-box adversarial attack via
random search", ECCV 2020. https://arxiv.org/abs/1912.00049 . Score-based: it reads the model's logits
only, never a gradient, so gradient masking cannot stop it.

Per query, for every clip not yet fooled, it proposes a change to both attacked modalities at once and
keeps it when the margin loss ``z_y - max_{j != y} z_j`` falls (a clip is fooled when it is negative):

* video: a square of side ``round(sqrt(p) * min(H, W))`` at a random place, on one random frame (even
  queries) or on every frame (odd queries: a spatio-temporal cube), with a random value per channel;
* audio: a window of ``round(p * L)`` samples at a random place holding a square wave of random
  frequency (log-uniform from 1/256 to 1/2 cycles per sample) and phase: a tile of the time-frequency
  plane, as the square is one of the image plane. (A flat value, the image recipe taken literally, is a
  DC offset a log-mel front end barely sees: on ``synth`` it fooled 2 of 64 clips in 300 queries.)

L-inf: the window's perturbation is set to ``+-eps`` (a random sign per channel), the initial one is
vertical stripes of ``+-eps`` per frame and random ``+-eps`` per audio segment (the paper's). L2 (a
simplification of the paper's mass-moving update): the window gets a random Gaussian change and the
perturbation is rescaled onto the eps-sphere. ``p`` follows the paper's schedule from ``p_init``,
halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000 queries (scaled to ``steps``).
The query budget is ``steps`` (default 1000 forward passes per clip; the paper used 10,000, AutoAttack 5,000).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack, forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.threat import Budget, Inputs, ThreatModel, flat_norm, project
from avrobust.errors import ConfigError

MILESTONES = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def margin(model: nn.Module, x: Inputs, labels: torch.Tensor) -> torch.Tensor:
    """``z_y - max_{j != y} z_j`` per clip (negative: misclassified)."""
    with torch.no_grad():
        z = forward(model, x).logits
    z_y = z.gather(1, labels[:, None])[:, 0]
    return z_y - z.scatter(1, labels[:, None], float("-inf")).amax(1)


@register_attack("square")
class Square(Attack):
    """Score-based Square attack, L-inf or L2 per modality (see the module docstring).

    Args:
        steps: queries per clip (default 1000); p_init: the initial share of a frame / of the waveform a
            proposal changes (default 0.8 for L-inf, 0.1 for L2, the paper's); seed, restarts: as every attack.
    """

    rank = 100
    traits = frozenset({"gradient-free"})
    defaults = {"autoattack": ("",)}

    def __init__(self, threat: ThreatModel | None = None, *, steps: int = 1000, p_init: float | None = None,
                 restarts: int = 1, seed: int = 0) -> None:
        super().__init__(threat, steps=steps, restarts=restarts, seed=seed, random_start=False)
        if p_init is not None and not 0 < p_init <= 1:
            raise ConfigError(f"{self.name}: p_init must lie in (0, 1], got {p_init}")
        self.p_init = p_init

    def options(self) -> dict[str, Any]:
        return {"p_init": self.p_init or "0.8 (linf) / 0.1 (l2)", "queries": self.steps, "scores_only": True}

    def fraction(self, query: int, budget: Budget) -> float:
        p = self.p_init or (0.8 if budget.norm == "linf" else 0.1)
        scaled = query * 10_000 / max(self.steps, 1)
        return p / 2 ** sum(scaled > m for m in MILESTONES)

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        mods = self.threat.modalities
        adv = {m: (self._first(x[m], self.threat.budget(m), m, generator) if m in mods else x[m].clone()) for m in x}
        loss = margin(model, adv, labels)
        for q in range(self.steps):
            live = (loss > 0).nonzero()[:, 0]  # only clips not yet fooled are queried
            if not len(live):
                break
            proposal = {m: adv[m][live] for m in adv}
            for m in mods:
                b = self.threat.budget(m)
                proposal[m] = self._propose(proposal[m], x[m][live], b, m, self.fraction(q, b), q, generator)
            new_loss = margin(model, proposal, labels[live])
            better = new_loss < loss[live]
            keep = live[better]
            for m in mods:
                adv[m][keep] = proposal[m][better]
            loss[keep] = new_loss[better]
        return adv

    def _first(self, x: torch.Tensor, b: Budget, modality: str, g: torch.Generator) -> torch.Tensor:
        """The paper's L-inf start (stripes; per-segment signs for audio) or a random point of the L2 sphere."""
        if b.norm == "l2":
            d = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
            d = d * (b.eps / flat_norm(d, "l2").clamp_min(1e-12)).view(-1, *([1] * (x.dim() - 1)))
            return project(x + d, x, b)
        if modality == "video":  # vertical stripes: a sign per (clip, frame, channel, column)
            n, t, c, _, w = x.shape
            signs = torch.randint(0, 2, (n, t, c, 1, w), generator=g, device=x.device).to(x.dtype) * 2 - 1
        else:  # a sign per stretch of 64 samples
            n, length = x.shape
            signs = (torch.randint(0, 2, (n, math.ceil(length / 64)), generator=g, device=x.device).to(x.dtype) * 2 - 1)
            signs = signs.repeat_interleave(64, dim=1)[:, :length]
        return project(x + b.eps * signs, x, b)

    def _propose(self, adv: torch.Tensor, x: torch.Tensor, b: Budget, modality: str, p: float, q: int,
                 g: torch.Generator) -> torch.Tensor:
        delta = adv - x
        window = torch.zeros_like(delta, dtype=torch.bool)
        n = x.shape[0]
        if modality == "video":
            _, t, c, h, w = x.shape
            side = max(1, min(h, w, round(math.sqrt(p) * min(h, w))))
            rows = torch.randint(0, h - side + 1, (n,), generator=g, device=x.device)
            cols = torch.randint(0, w - side + 1, (n,), generator=g, device=x.device)
            frames = torch.randint(0, t, (n,), generator=g, device=x.device)
            ii, jj = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
            square = ((ii[None, :, None] >= rows[:, None, None]) & (ii[None, :, None] < (rows + side)[:, None, None])
                      & (jj[None, None, :] >= cols[:, None, None]) & (jj[None, None, :] < (cols + side)[:, None, None]))
            on_frame = torch.ones(n, t, dtype=torch.bool, device=x.device) if q % 2 else \
                torch.arange(t, device=x.device)[None] == frames[:, None]
            window = on_frame[:, :, None, None, None] & square[:, None, None]
            window = window.expand(n, t, c, h, w)
            value_shape = (n, 1, c, 1, 1)
            shape = torch.ones((), dtype=x.dtype, device=x.device)  # a flat colour per channel
        else:
            length = x.shape[1]
            size = max(1, round(p * length))
            start = torch.randint(0, length - size + 1, (n,), generator=g, device=x.device)
            k = torch.arange(length, device=x.device)
            window = (k[None] >= start[:, None]) & (k[None] < (start + size)[:, None])
            value_shape = (n, 1)
            # the waveform's "square": a tile of the time-frequency plane, a square wave of random frequency
            # (log-uniform, 1/256 to 1/2 cycles per sample) and phase, where images get a flat colour
            cycles = torch.exp(torch.empty(n, 1, device=x.device).uniform_(math.log(1 / 256), math.log(0.5),
                                                                            generator=g))
            phase = torch.rand(n, 1, generator=g, device=x.device) * 2 * math.pi
            shape = torch.sign(torch.sin(2 * math.pi * cycles * k[None].to(cycles.dtype) + phase)).to(x.dtype)
        if b.norm == "linf":
            value = (torch.randint(0, 2, value_shape, generator=g, device=x.device).to(x.dtype) * 2 - 1) * b.eps
            delta = torch.where(window, (value * shape).expand_as(delta), delta)
        else:
            change = torch.randn(value_shape, generator=g, device=x.device, dtype=x.dtype) * b.eps / math.sqrt(
                max(window[0].sum().item(), 1))
            delta = delta + window.to(x.dtype) * change * shape
            delta = delta * (b.eps / flat_norm(delta, "l2").clamp_min(1e-12)).view(-1, *([1] * (x.dim() - 1)))
        return project(x + delta, x, b)
