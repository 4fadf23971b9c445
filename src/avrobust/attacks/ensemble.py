"""Ensembles of surrogate models: attack several at once by averaging their outputs.

``Ensemble(models)`` is itself a classifier: fused and unimodal logits are the mean over the
models; per-segment features are concatenated along the feature axis, so a feature-based term
(the temporal variation of TIA/TMA) sees every member. Any registered attack runs on it unchanged.
The paper reports 100% black-box ASR with ensembles; evaluate against victims outside the ensemble.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput, LazyOutput
from avrobust.models.interface import AVModel
from avrobust.types import AVBatch


class Ensemble(nn.Module):
    """Average of several classifiers (:class:`~avrobust.models.AVClassifier` or wrapped models; same
    classes and sample rate)."""

    def __init__(self, models: Sequence[AVModel]) -> None:
        super().__init__()
        if not models:
            raise ConfigError("an ensemble needs at least one model")
        classes = {m.config.num_classes for m in models}
        rates = {m.config.sample_rate for m in models}
        if len(classes) > 1 or len(rates) > 1:
            raise ConfigError(f"ensemble members disagree: classes {sorted(classes)}, sample rates {sorted(rates)}")
        self.members = nn.ModuleList(models)
        self.config = models[0].config
        # take the members' mode (a fresh Module is in train mode; restoring that after an attack
        # would switch eval-mode members to training)
        self.training = all(m.training for m in models)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> AVOutput | LazyOutput:
        outs = [m(video, audio) for m in self.members]
        if len(outs) == 1:
            return outs[0]

        def mean(name: str) -> Callable[[], torch.Tensor]:
            return lambda: torch.stack([getattr(o, name) for o in outs]).mean(0)

        def cat(name: str) -> Callable[[], torch.Tensor]:
            return lambda: torch.cat([getattr(o, name) for o in outs], -1)

        # fields are combined when read: members without unimodal heads or features (wrapped models)
        # cost nothing, or raise their own error, only when an attack needs them
        unimodal = "heads" if all(o.unimodal == "heads" for o in outs) else "ablation"
        return LazyOutput({"logits": mean("logits")(), "audio_logits": mean("audio_logits"),
                           "visual_logits": mean("visual_logits"), "audio_features": cat("audio_features"),
                           "visual_features": cat("visual_features")}, unimodal)

    def check_batch(self, batch: AVBatch) -> None:
        for m in self.members:
            m.check_batch(batch)

    @property
    def unimodal_definition(self) -> str | None:
        """None when every member's p_a, p_v are its own heads, else how the members define theirs."""
        defined = list(dict.fromkeys(m.unimodal_definition for m in self.members if m.unimodal_definition))
        return f"the mean over the members, whose own are by {'; '.join(defined)}" if defined else None
