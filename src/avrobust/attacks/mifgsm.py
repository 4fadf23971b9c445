"""MI-FGSM: Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018.
https://arxiv.org/abs/1710.06081 . ``g <- mu g + grad / mean|grad|`` per modality; step along sign(g)."""

from __future__ import annotations

from typing import Any

from avrobust.attacks.base import IterativeAttack, register_attack
from avrobust.attacks.threat import ThreatModel
from avrobust.errors import ConfigError


@register_attack("mifgsm", aliases=("mi-fgsm",))
class MIFGSM(IterativeAttack):
    """Momentum iterative FGSM. Args: ``decay`` (mu, default 1.0); default step ``eps / steps``."""

    def __init__(self, threat: ThreatModel | None = None, *, decay: float = 1.0, **kwargs: Any) -> None:
        super().__init__(threat, **kwargs)
        if not decay >= 0:
            raise ConfigError(f"{self.name}: decay must be >= 0, got {decay}")
        self.momentum_decay = float(decay)

    def options(self) -> dict[str, Any]:
        return {"decay": self.momentum_decay}
