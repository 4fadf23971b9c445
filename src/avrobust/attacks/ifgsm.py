"""I-FGSM (BIM): Kurakin et al., "Adversarial examples in the physical world", ICLR-W 2017.
https://arxiv.org/abs/1607.02533 . ``steps`` sign steps of ``eps / steps``, projected after each."""

from __future__ import annotations

from avrobust.attacks.factory import register_attack
from avrobust.attacks.iterative import IterativeAttack


@register_attack("ifgsm", aliases=("bim", "i-fgsm"))
class IFGSM(IterativeAttack):
    """Iterative FGSM without random start; default step ``eps / steps``."""

    rank = 10
    traits = frozenset({"transfer"})
    defaults = {"transfer": ("",), "standard": ("",), "modality": ("",), "alignment": ("",), "iterations": ("",), "eps": ("",)}

    joint_capable = True
