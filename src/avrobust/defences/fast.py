"""Single-step adversarial training, the fast baselines:

* ``fgsm-rs``: Wong, Rice and Kolter, "Fast is better than free: Revisiting adversarial training",
  ICLR 2020, https://arxiv.org/abs/2001.03994 . A uniform random start in the eps-ball, one FGSM step
  of 1.25 eps, projected back onto the ball. Known to overfit catastrophically (robustness to PGD
  collapses within an epoch) at larger eps or longer schedules.
* ``n-fgsm``: de Jorge et al., "Make Some Noise: Reliable and Efficient Single-Step Adversarial
  Training", NeurIPS 2022, https://arxiv.org/abs/2202.01181 . Noise of 2 eps, one FGSM step of eps,
  and no projection onto the eps-ball (the training perturbation reaches 3 eps); the paper's fix for
  catastrophic overfitting at the cost of one forward/backward pass, like FGSM-RS.

Both take one input gradient per update (one extra forward and backward pass per clip), crafted with
the model in eval mode like every other method here, per attacked modality under its own budget.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.attacks.threat import ThreatModel, ascent_step, project, random_start
from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.defences.standard import supervised_loss
from avrobust.distributed import unwrap
from avrobust.errors import ConfigError
from avrobust.models.classifier import eval_mode
from avrobust.types import AVBatch


def single_step(model: nn.Module, batch: AVBatch, labels: torch.Tensor, threat: ThreatModel, *, noise: float,
                step: float, clip: bool, generator: torch.Generator) -> AVBatch:
    """One FGSM step from a uniformly random point at ``noise * eps``; the step is ``step * eps``.

    ``clip``: project the result onto the eps-ball (FGSM-RS); otherwise only onto the valid input range
    (N-FGSM: the perturbation may reach ``(noise + step) * eps``). Modalities outside ``threat`` are clean.
    """
    x = {"video": batch.video.detach(), "audio": batch.audio.detach()}
    mods = threat.modalities
    start = {m: random_start(x[m], replace(threat.budget(m), eps=noise * threat.budget(m).eps), generator)
             if noise > 0 else x[m].clone() for m in mods}
    inp = {m: (start[m] if m in mods else x[m]).detach().requires_grad_(m in mods) for m in x}
    with eval_mode(model), torch.enable_grad():
        value = F.cross_entropy(model(inp["video"], inp["audio"]).logits, labels)
        grads = dict(zip(mods, torch.autograd.grad(value, [inp[m] for m in mods])))
    out = dict(x)
    for m in mods:
        b = threat.budget(m)
        moved = ascent_step(start[m], grads[m], b, step * b.eps)
        out[m] = (project(moved, x[m], b) if clip else moved.clamp(b.low, b.high)).detach()
    return batch.with_inputs(out["video"], out["audio"])


class _SingleStep(AdversarialMethod):
    """Train on one-step examples (see the module docstring); subclasses set the paper's defaults."""

    noise_default, step_default, clip = 1.0, 1.25, True

    def __init__(self, threat: ThreatModel | None = None, *, noise: float | None = None, step: float | None = None,
                 unimodal_weight: float = 1.0) -> None:
        super().__init__(threat, attack="pgd", steps=1, unimodal_weight=unimodal_weight)  # crafts itself
        self.noise = self.noise_default if noise is None else float(noise)
        self.step = self.step_default if step is None else float(step)
        if not (self.noise >= 0 and self.step > 0):
            raise ConfigError(f"{self.name}: noise must be >= 0 and step > 0 (multiples of eps), "
                              f"got noise={self.noise}, step={self.step}")

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        adv = single_step(unwrap(model), batch, labels, self.threat, noise=self.noise, step=self.step, clip=self.clip,
                          generator=self.device_generator(batch.video.device))
        return supervised_loss(model(adv.video, adv.audio), labels, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "noise": self.noise, "step": self.step, "clip": self.clip,
                "unimodal_weight": self.unimodal_weight}


@register_method("fgsm-rs", aliases=("fast-at",))
class FGSMRS(_SingleStep):
    """Wong et al. (ICLR 2020): uniform start in the eps-ball, one step of 1.25 eps, projected.

    Args: noise (start radius, in eps; 1.0), step (in eps; 1.25), unimodal_weight (1.0)."""

    rank = 50

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"fgsm-rs": "fgsm-rs"}



@register_method("n-fgsm")
class NFGSM(_SingleStep):
    """de Jorge et al. (NeurIPS 2022): noise of 2 eps, one step of eps, no projection onto the ball.

    Args: noise (in eps; 2.0), step (in eps; 1.0), unimodal_weight (1.0)."""

    rank = 60

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"n-fgsm": "n-fgsm"}

    noise_default, step_default, clip = 2.0, 1.0, False
