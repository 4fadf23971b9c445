"""Attack objectives: per-sample losses ``[N]`` that an attack MAXIMISES.

* ``ce``: cross-entropy of the fused logits (untargeted); targeted: ``-CE(logits, target)``.
* ``dlr``: Difference of Logits Ratio (Croce & Hein, ICML 2020, https://arxiv.org/abs/2003.01690),
  ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)``; targeted:
  ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)``. Needs at least 3 (targeted: 4) classes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput

LossFn = Callable[[AVOutput, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def ce_loss(out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy (untargeted) or its negation towards ``target`` (targeted), ``[N]``."""
    if target is not None:
        return -F.cross_entropy(out.logits, target, reduction="none")
    return F.cross_entropy(out.logits, labels, reduction="none")


def dlr_loss(out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """DLR loss (untargeted or targeted), ``[N]``; scale-invariant in the logits."""
    z = out.logits
    k = z.shape[1]
    if k < (4 if target is not None else 3):
        raise ConfigError(f"the DLR loss needs at least {4 if target is not None else 3} classes, the model has {k}")
    srt, _ = z.sort(dim=1, descending=True)
    z_y = z.gather(1, labels[:, None])[:, 0]
    if target is not None:
        z_t = z.gather(1, target[:, None])[:, 0]
        return -(z_y - z_t) / (srt[:, 0] - 0.5 * (srt[:, 2] + srt[:, 3]) + 1e-12)
    top_is_y = srt[:, 0] == z_y
    z_other = torch.where(top_is_y, srt[:, 1], srt[:, 0])
    return -(z_y - z_other) / (srt[:, 0] - srt[:, 2] + 1e-12)


LOSSES: dict[str, LossFn] = {"ce": ce_loss, "dlr": dlr_loss}


def get_loss(name: str) -> LossFn:
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; valid choices: {', '.join(LOSSES)}")
    return LOSSES[name]
