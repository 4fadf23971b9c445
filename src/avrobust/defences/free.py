"""Free adversarial training: Shafahi et al., "Adversarial Training for Free!", NeurIPS 2019,
https://arxiv.org/abs/1904.12843 .

Each minibatch is replayed ``m`` times. Every replay is one forward and one backward pass that gives
the gradient of the weights (the trainer's optimiser step) and, for free, the gradient of the input;
the perturbation takes an FGSM step of ``step * eps`` along that input gradient, is projected onto the
eps-ball, and is carried to the next replay and on to the next minibatch. The paper trains ``epochs / m``
epochs so that the total cost equals standard training's; here ``--epochs`` counts passes over the
data, so one epoch costs ``m`` forward and backward passes per clip (the summary counts them).

Unlike the other methods, the examples come from the model in train mode (the one forward pass serves
both gradients, as in the paper). The perturbation starts at zero at every epoch, so a run resumed at
an epoch boundary equals an uninterrupted one; one resumed within an epoch restarts it at zero there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.threat import ThreatModel, ascent_step, project
from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.defences.standard import supervised_loss
from avrobust.errors import ConfigError
from avrobust.types import AVBatch


@register_method("free-at", aliases=("free",))
class FreeAT(AdversarialMethod):
    """Shafahi et al. (NeurIPS 2019): ``replays`` updates per minibatch, the perturbation carried over.

    Args:
        replays: m, weight updates per minibatch (default 8, the paper's CIFAR-10 value).
        step: the perturbation's step, in eps (default 1.0: the paper's FGSM step of eps).
        unimodal_weight: weight of the unimodal cross-entropy terms, as in ``standard``.
    """

    rank = 70

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        return {"free-at": f"free-at:replays={steps}"}

    def __init__(self, threat: ThreatModel | None = None, *, replays: int = 8, step: float = 1.0,
                 unimodal_weight: float = 1.0) -> None:
        super().__init__(threat, attack="pgd", steps=1, unimodal_weight=unimodal_weight)  # crafts itself
        if int(replays) != replays or replays < 1:
            raise ConfigError(f"free-at: replays must be an integer >= 1, got {replays}")
        if not step > 0:
            raise ConfigError(f"free-at: step must be > 0 (a multiple of eps), got {step}")
        self.replays, self.step = int(replays), float(step)
        self._delta: dict[str, torch.Tensor] = {}
        self._last: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        self._delta, self._last = {}, None
        return super().start_epoch(model, epoch, epochs, seed)

    def _advance(self) -> None:
        """Step the carried perturbation along the input gradient of the last replay's backward pass."""
        if self._last is None:
            return
        inputs, clean = self._last
        self._last = None
        for m, inp in inputs.items():
            if inp.grad is None:  # the trainer did not take that backward pass (an error stopped it)
                continue
            b = self.threat.budget(m)
            moved = project(ascent_step(inp.detach(), inp.grad, b, self.step * b.eps), clean[m], b)
            self._delta[m][: len(inp)] = moved - clean[m]

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        self._advance()
        clean = {"video": batch.video.detach(), "audio": batch.audio.detach()}
        inputs = {}
        for m in self.threat.modalities:
            x, delta = clean[m], self._delta.get(m)
            if delta is None or delta.shape[1:] != x.shape[1:] or len(delta) < len(x):
                delta = self._delta[m] = torch.zeros_like(x)  # the first batch, or one larger than before
            b = self.threat.budget(m)
            inputs[m] = (x + delta[: len(x)]).clamp(b.low, b.high).requires_grad_(True)
        out = model(inputs.get("video", clean["video"]), inputs.get("audio", clean["audio"]))
        self._last = (inputs, {m: clean[m] for m in inputs})
        return supervised_loss(out, labels, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "replays": self.replays, "step": self.step,
                "unimodal_weight": self.unimodal_weight}
