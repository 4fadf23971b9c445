"""The shared set-up of the Section 3 analyses: one surrogate, optional black-box victims, clips, budgets.

``Study.measure(attacks)`` runs a transfer matrix with the surrogate as the only crafting model and
the surrogate plus the victims as testers, and returns per attack the white-box ASR (on the
surrogate) and the black-box ASR (mean and std over the victims), with the mean cross-modal cosine
similarity of the victims' unimodal predictions on the adversarial clips.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.attacks.base import Attack
from avrobust.data import AVDataset
from avrobust.device import describe
from avrobust.distributed import all_reduce_sum, context
from avrobust.evaluation.transfer_matrix import Member, transfer_matrix
from avrobust.models.interface import model_device


@dataclass
class Study:
    """What every analysis needs.

    Attributes:
        surrogate: the model attacked white-box (crafting); victims: black-box models (may be empty).
        dataset, indices: the clips (``indices=None``: all of the split).
        threat: default budgets; steps: default iterations; seed: attacks' and masks' seed.
    """

    surrogate: Member
    victims: Sequence[Member]
    dataset: AVDataset
    indices: torch.Tensor | None = None
    threat: ThreatModel = field(default_factory=ThreatModel)
    steps: int = 10
    seed: int = 0
    batch_size: int = 64
    show_progress: bool = False
    precision: str = "fp32"

    @property
    def n(self) -> int:
        return len(self.dataset) if self.indices is None else len(self.indices)

    def attacks(self, specs: Sequence[str], *, threat: ThreatModel | None = None, steps: int | None = None) -> list[Attack]:
        """Attacks from ``--attack``-style specs with this study's budgets, steps and seed."""
        return build_attacks(specs, threat or self.threat, steps=steps or self.steps, seed=self.seed)

    def measure(self, attacks: Sequence[Attack]) -> dict[str, dict[str, Any]]:
        """Per attack label: ``white_box_asr`` (on the surrogate), ``black_box_asr``, ``black_box_asr_std``,
        ``per_victim`` ASR, ``white_box_cosine``, ``black_box_cosine`` (None without victims)."""
        result = transfer_matrix([self.surrogate], [self.surrogate, *self.victims], self.dataset, attacks,
                                 indices=self.indices, batch_size=self.batch_size, show_progress=self.show_progress,
                                 precision=self.precision)
        return {label: {"white_box_asr": s["white_box_asr"], "black_box_asr": s["black_box_asr"],
                        "black_box_asr_std": s["black_box_asr_std"], "per_victim": s["black_box_asr_per_victim"],
                        "white_box_cosine": s["white_box_cosine"], "black_box_cosine": s["black_box_cosine"]}
                for label, s in result["summary"].items()}

    def batches(self, device: torch.device) -> Iterator[tuple[Any, torch.Tensor, torch.Generator]]:
        """This process's ``(batch, labels, generator)`` on ``device``: under torchrun rank r of W takes
        batches r, r + W, ... (every batch in one process); each batch's generator is seeded by the study's
        seed and the batch's end offset, so masks and random starts do not depend on who runs the batch."""
        ctx, end = context(), 0
        for k, chunk in enumerate(self.dataset.batch_indices(self.batch_size, indices=self.indices)):
            end += len(chunk)
            if not ctx.mine(k):
                continue
            batch, labels = self.dataset.batch(chunk)
            g = torch.Generator(device=device).manual_seed(self.seed * 1_000_003 + end)
            yield batch.to(device), labels.to(device), g

    @staticmethod
    def summed(counts: Mapping[str, float]) -> dict[str, float]:
        """``counts`` summed over the processes of a torchrun group (themselves alone); integers stay exact."""
        keys = list(counts)
        total = all_reduce_sum(torch.tensor([counts[k] for k in keys], dtype=torch.float64))
        return {k: (int(v) if isinstance(counts[k], int) else float(v)) for k, v in zip(keys, total.tolist(), strict=True)}

    def describe(self) -> dict[str, Any]:
        """JSON-ready set-up for the result files."""
        return {"surrogate": self.surrogate.label, "surrogate_run": self.surrogate.sources[0],
                "victims": [v.label for v in self.victims], "data": self.dataset.spec, "split": self.dataset.split,
                "n": self.n, "budget": self.threat.describe(), "steps": self.steps, "seed": self.seed,
                "device": describe(model_device(self.surrogate.model)), "precision": self.precision}
