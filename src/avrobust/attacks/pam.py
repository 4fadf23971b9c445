"""PAM: Zhang et al., "Improving the Transferability of Adversarial Samples by Path-Augmented
Method", CVPR 2023. https://arxiv.org/abs/2303.15735 .

Each step averages the loss gradient over augmented copies on paths towards baselines,
``x / 2^i + (1 - 1/2^i) * r * b`` for ``i = 0..scales-1`` and every baseline ``b`` (video colours;
audio silence), then applies MI-FGSM's momentum. Our simplification, stated: the paper picks ``r``
with a small semantics predictor; we use a fixed ``ratio`` r (default 0.95, within [0.9, 1]).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import forward
from avrobust.attacks.factory import register_attack
from avrobust.attacks.mifgsm import MIFGSM
from avrobust.attacks.threat import Inputs, ThreatModel
from avrobust.errors import ConfigError

COLOURS = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0), "grey": (0.5, 0.5, 0.5),
           "red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}


@register_attack("pam")
class PAM(MIFGSM):
    """Path-augmented momentum attack.

    Args:
        scales: copies per baseline (``i = 0..scales-1``; ``i = 0`` is the input itself).
        baselines: video baseline colours (names in ``COLOURS``); the audio baseline is silence.
        ratio: fixed r in (0, 1]; decay: mu.
    """

    rank = 60
    traits = frozenset({"transfer"})
    defaults = {"transfer": ("",), "standard": ("",)}

    def __init__(self, threat: ThreatModel | None = None, *, scales: int = 4,
                 baselines: tuple[str, ...] | str = ("black", "white"), ratio: float = 0.95, **kwargs: Any) -> None:
        super().__init__(threat, **kwargs)
        if isinstance(baselines, str):
            baselines = tuple(b for b in baselines.split("+") if b)
        unknown = [b for b in baselines if b not in COLOURS]
        if unknown or not baselines:
            raise ConfigError(f"{self.name}: unknown baseline colour {unknown}; valid: {', '.join(COLOURS)}")
        if int(scales) != scales or scales < 1:
            raise ConfigError(f"{self.name}: scales must be an integer >= 1, got {scales}")
        if not 0 < ratio <= 1:
            raise ConfigError(f"{self.name}: ratio must lie in (0, 1], got {ratio}")
        self.scales, self.baselines, self.ratio = int(scales), tuple(baselines), float(ratio)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "scales": self.scales, "baselines": list(self.baselines), "ratio": self.ratio}

    def step_gradient(self, model: nn.Module, adv: Inputs, x: Inputs, labels: torch.Tensor,
                      target: torch.Tensor | None, momentum: Inputs,
                      generator: torch.Generator) -> Inputs:
        mods = self.threat.modalities
        total = {m: torch.zeros_like(adv[m]) for m in mods}
        copies = [(0, None)] + [(i, b) for b in self.baselines for i in range(1, self.scales)]
        for i, colour in copies:
            inp = {m: adv[m].detach().requires_grad_(m in mods) for m in adv}
            shrink = 1.0 / 2**i
            video = inp["video"] * shrink
            if colour is not None:
                base = torch.tensor(COLOURS[colour], dtype=video.dtype, device=video.device).view(1, 1, 3, 1, 1)
                video = video + (1 - shrink) * self.ratio * base
            audio = inp["audio"] * shrink  # silence baseline
            value = lambda v=video, a=audio: self.objective(forward(model, {"video": v, "audio": a}), labels, target)  # noqa: E731
            for m, g in zip(mods, self.input_grads(value, [inp[m] for m in mods])):
                total[m] += g
        return {m: total[m] / len(copies) for m in mods}
