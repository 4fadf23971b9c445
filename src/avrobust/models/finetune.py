"""Fine-tuning a classifier's pretrained backbones: which blocks train, and at what learning rate.

An encoder with a pretrained backbone (:mod:`avrobust.models.backbones`) lists its blocks in order
(``blocks()``) and keeps the backbone as ``net``. ``trainable_blocks`` K trains the last K blocks of each
such backbone (0: the backbones are frozen, their batch norms kept in eval mode; None: everything
trains); ``backbone_lr`` gives the backbones' trainable parameters their own learning rate, by default
``BACKBONE_LR_RATIO`` times the heads' (the equal-epoch comparison of benchmarks/RESULTS.md, issue 40);
``fusion_lr`` gives an attention fusion's mixing layers theirs (by default the heads').
"""

from __future__ import annotations

from typing import Any

from torch import nn

from avrobust.errors import ConfigError


def backbones(model: nn.Module) -> list[nn.Module]:
    """The encoders of ``model`` that carry a pretrained backbone (``net`` and ``blocks()``)."""
    return [enc for enc in (getattr(model, "visual", None), getattr(model, "audio", None))
            if enc is not None and hasattr(enc, "blocks") and hasattr(enc, "net")]


def freeze(model: nn.Module, trainable_blocks: int | None) -> int:
    """Freeze all but the last ``trainable_blocks`` blocks of every backbone; return the frozen parameters."""
    if trainable_blocks is None:
        return 0
    encoders = backbones(model)
    if not encoders:
        raise ConfigError("trainable_blocks applies to pretrained backbones and this model has none; use a "
                          "pretrained zoo model (see 'avrobust models pretrained-*') or drop the option")
    if trainable_blocks < 0:
        raise ConfigError(f"trainable_blocks must be >= 0, got {trainable_blocks}")
    frozen, count = [], 0
    for enc in encoders:
        blocks = enc.blocks()
        for block in blocks[: max(len(blocks) - trainable_blocks, 0)]:
            for p in block.parameters():
                p.requires_grad_(False)
                count += p.numel()
            frozen.append(block)
    if hasattr(model, "frozen"):
        model.frozen = frozen
    model.train(model.training)
    return count


BACKBONE_LR_RATIO = 0.1  # pretrained backbones fine-tune at a tenth of the heads' learning rate by default


def parameter_groups(model: nn.Module, lr: float, backbone_lr: float | None,
                     fusion_lr: float | None = None) -> list[dict[str, Any]]:
    """The optimiser's groups, in this order and only where non-empty: trainable pretrained-backbone parameters
    at ``backbone_lr`` (None: ``BACKBONE_LR_RATIO * lr``), an attention fusion's mixing layers at ``fusion_lr``
    (None: they stay with the rest), the rest at ``lr``."""
    inside = {id(p) for enc in backbones(model) for p in enc.net.parameters()}
    if not inside and backbone_lr is not None:
        raise ConfigError("backbone_lr applies to pretrained backbones and this model has none")
    mixing = getattr(getattr(model, "fusion", None), "mixing_parameters", None)
    if fusion_lr is not None and mixing is None:
        raise ConfigError("fusion_lr applies to attention fusions (bottleneck, xattn) and this model fuses late; "
                          "drop the option or use an attention-fused model (see 'avrobust models')")
    mixes = {id(p) for p in mixing()} if fusion_lr is not None and mixing is not None else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    backbone_lr = BACKBONE_LR_RATIO * lr if backbone_lr is None else backbone_lr
    groups = [{"params": [p for p in trainable if id(p) in inside], "lr": backbone_lr},
              {"params": [p for p in trainable if id(p) in mixes], "lr": fusion_lr},
              {"params": [p for p in trainable if id(p) not in inside and id(p) not in mixes], "lr": lr}]
    return [g for g in groups if g["params"]]
