"""AVAT, the paper's audio-visual adversarial training (PAPER.md): TMA examples crafted on sampled
segments (:mod:`~avrobust.defences.sampling`) under an adversarial curriculum
(:mod:`~avrobust.defences.curriculum`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avrobust.attacks import ATTACKS
from avrobust.attacks.threat import ThreatModel
from avrobust.defences.adversarial import AdversarialMethod
from avrobust.defences.base import register_method
from avrobust.defences.curriculum import Curriculum, Schedule
from avrobust.defences.sampling import check_rho, check_spread, craft_on_segments, craft_resampled
from avrobust.defences.standard import supervised_loss
from avrobust.defences.trades import trades_objective
from avrobust.errors import ConfigError
from avrobust.models.classifier import set_dropout
from avrobust.options import parameters
from avrobust.types import AVBatch, segment_masks


#: The paper's configuration of the options whose default here may differ (``paper=true`` restores it).
PAPER = {"rho": 0.25, "curriculum": True, "mask_end": 0.25, "spread": "nearest", "trades_beta": 0.0, "carry": False,
         "resample": False}
#: Our defaults of the same options: the best configuration we measured at no more than half of PGD-AT's epoch
#: time (benchmarks/RESULTS.md): the curriculum off, the rest the paper's.
DEFAULTS = {**PAPER, "curriculum": False}
#: The ablation's sweeps: rho with the curriculum, rho of sampling alone (its cost-robustness curve), schedulers
ABLATION_RHOS = (0.125, 0.4)
SAMPLING_RHOS = (0.4, 0.5)
ABLATION_SCHEDULES = ("constant", "cosine", "step")
#: Options that turn off each part of the curriculum while keeping the others scheduled.
PARTS_OFF = {"steps": "steps_start={steps}", "mask": "mask_end=0", "dropout": "dropout_end=0"}


@register_method("avat")
class AVAT(AdversarialMethod):
    """Ours (PAPER.md): TMA-crafted examples, efficient crafting on sampled segments, curriculum.

    Per batch: mask ``mask_ratio`` of the aligned segments (curriculum, data level), craft with TMA
    on ``rho`` of the segments and expand (see :mod:`~avrobust.defences.sampling`), train on the
    full adversarial clip. Per epoch the curriculum sets the mask ratio, the model's dropout and
    the attack steps. With ``rho = 1`` and ``curriculum = false`` this is plain TMA adversarial
    training (``pgd-at:attack=tma,copies=1``).

    Args:
        rho: share of segments crafted on, in (0, 1] (default 0.25).
        curriculum: turn the curriculum on or off (default off, our measured best; the paper's is on):
            off is no masking, the model's dropout, ``steps`` steps throughout.
        mask_schedule, mask_start, mask_end, mask_sync: the masking ratio (default linear 0 -> 0.25,
            synchronous).
        dropout_schedule, dropout_start, dropout_end: dropout (default linear 0 -> 0.2).
        steps_schedule, steps_start, steps: attack steps (default linear 1 -> 10).
        stages: blocks of the ``step`` schedules (default 3).
        attack: default ``tma``; ``copies`` (transformed copies per TMA step) defaults to 1 here so
            one step costs one gradient (our decision, PAPER.md gives none); other options go to
            the attack.
        spread: how a sampled segment's perturbation reaches the others: ``nearest`` (copied, the
            paper's) or ``linear`` (interpolated between the sampled segments around it).
        trades_beta: 0 (default) trains on the adversarial clips' cross-entropy; > 0 uses the TRADES
            objective with avat's examples instead, ``CE(f(x), y) + beta KL(f(x) || f(x'))``.
        paper: take the paper's value (:data:`PAPER`) for every option in it that is not given, instead
            of our default (:data:`DEFAULTS`).
        carry: keep each training clip's perturbation and start its next crafting there (the next
            epoch's attack goes further with the same steps; no random start). Holds one float16
            perturbation per training clip in memory, ``N (T C H W + L) 2`` bytes; a resumed run
            starts them at zero again.
        resample: draw new segments at every attack step (:func:`~avrobust.defences.sampling.craft_resampled`)
            instead of crafting every step on one sample; the same cost, one gradient on ``rho`` of the
            segments per step, but a momentum attack (TMA) loses its momentum between steps; it measured
            less robust than crafting once (benchmarks/RESULTS.md).
    """

    rank = 10
    demo = "avat:paper=true,steps={steps}"  # the paper's avat

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        """PGD-AT's comparison: sampling alone, the curriculum alone, both; rho, schedulers, each part of the
        curriculum off, and the variants of our own; every one starts from the paper's configuration."""
        p = "avat:paper=true,"
        configs = {"sampling": f"{p}rho=0.25,curriculum=false,steps={steps}", "curriculum": f"{p}rho=1,steps={steps}",
                   "both": f"{p}rho=0.25,steps={steps}"}
        configs.update({f"rho={r:g}": f"{p}rho={r:g},steps={steps}" for r in ABLATION_RHOS})
        configs.update({f"sampling-rho={r:g}": f"{p}rho={r:g},curriculum=false,steps={steps}" for r in SAMPLING_RHOS})
        configs.update({f"sched={s}": f"{p}rho=0.25,steps={steps},mask_schedule={s},dropout_schedule={s},"
                                      f"steps_schedule={s}" for s in ABLATION_SCHEDULES})
        for part in PARTS_OFF:
            off = ",".join(PARTS_OFF[q].format(steps=steps) for q in PARTS_OFF if q != part)
            configs[f"part={part}"] = f"{p}rho=0.25,steps={steps},{off}"
        configs.update({"no-mask": f"{p}rho=0.25,steps={steps},mask_end=0",
                        "spread=linear": f"{p}rho=0.25,steps={steps},spread=linear",
                        "avat+trades": f"{p}rho=0.25,steps={steps},trades_beta=6",
                        "carry": f"{p}rho=0.25,steps={steps},carry=true",
                        "resample": f"{p}rho=0.25,steps={steps},resample=true",
                        "sampling-resample": f"{p}rho=0.25,curriculum=false,steps={steps},resample=true",
                        "sampling-carry": f"{p}rho=0.25,curriculum=false,steps={steps},carry=true",
                        "tma-at": f"{p}rho=1,curriculum=false,steps={steps}",
                        "avat-pgd": f"{p}rho=0.25,steps={steps},attack=pgd"})
        return configs

    def __init__(self, threat: ThreatModel | None = None, *, rho: float | None = None, curriculum: bool | None = None,
                 mask_schedule: str = "linear", mask_start: float = 0.0, mask_end: float | None = None,
                 mask_sync: bool = True,
                 dropout_schedule: str = "linear", dropout_start: float = 0.0, dropout_end: float = 0.2,
                 steps_schedule: str = "linear", steps_start: int = 1, steps: int = 10, stages: int = 3,
                 spread: str | None = None, trades_beta: float | None = None, carry: bool | None = None,
                 resample: bool | None = None, paper: bool = False, attack: str = "tma", **attack_options: Any) -> None:
        if not isinstance(paper, bool):
            raise ConfigError("avat: paper must be true or false")
        given = {"rho": rho, "curriculum": curriculum, "mask_end": mask_end, "spread": spread,
                 "trades_beta": trades_beta, "carry": carry, "resample": resample}
        chosen = {k: (v if v is not None else (PAPER if paper else DEFAULTS)[k]) for k, v in given.items()}
        rho, curriculum, mask_end, spread, trades_beta, carry, resample = chosen.values()
        self.paper = paper
        if "copies" in parameters(ATTACKS.get(attack))[0] and "copies" not in attack_options:
            attack_options["copies"] = 1  # one transformed copy per step: training crafts every batch
        super().__init__(threat, attack=attack, steps=steps, **attack_options)
        self.rho = check_rho(rho)
        if not trades_beta >= 0:
            raise ConfigError(f"avat: trades_beta must be >= 0, got {trades_beta}")
        self.spread, self.trades_beta = check_spread(spread), float(trades_beta)
        if not all(isinstance(v, bool) for v in (curriculum, mask_sync, carry, resample)):
            raise ConfigError("avat: curriculum, mask_sync, carry and resample must be true or false")
        self.carry, self.resample = carry, resample
        self._carried: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # clip id -> (video, audio) perturbation
        self.curriculum = Curriculum(
            mask=Schedule(mask_schedule, mask_start, mask_end, stages),
            dropout=Schedule(dropout_schedule, dropout_start, dropout_end, stages),
            steps=Schedule(steps_schedule, steps_start, steps, stages),
            mask_synchronous=mask_sync, enabled=curriculum)
        self.curriculum.warn_if_reversed()
        self.state = self.curriculum.at(0, 1)

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        super().start_epoch(model, epoch, epochs, seed)
        self.state = self.curriculum.at(epoch, epochs)
        if self.state["dropout"] is not None:
            set_dropout(model, self.state["dropout"])
        return {"rho": self.rho, **self.state}

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        if self.state["mask_ratio"] > 0:
            drop_v, drop_a = segment_masks(batch.size, batch.frames, self.state["mask_ratio"],
                                           synchronous=self.state["mask_synchronous"], generator=self._cpu)
            batch = batch.mask_segments(drop_v.to(batch.video.device), drop_a.to(batch.video.device))
        steps = self.state["attack_steps"]
        start = self._carried_start(batch)
        if self.resample:
            adv = craft_resampled(lambda b, s: self.craft_step(model, b, labels, steps, s), batch, steps, self.rho,
                                  self.threat, self._cpu, self.spread, init=start)
        else:
            adv = craft_on_segments(lambda b, init=None: self.craft(model, b, labels, steps, init), batch, self.rho,
                                    self.threat, self._cpu, self.spread, init=start)
        self._keep(batch, adv)
        if self.trades_beta:
            return trades_objective(model, batch, adv, labels, self.trades_beta, self.unimodal_weight)
        return supervised_loss(model(adv.video, adv.audio), labels, self.unimodal_weight)

    def _ids(self) -> list[int] | None:
        return None if not self.carry or self.clip_ids is None else [int(i) for i in self.clip_ids]

    def _carried_start(self, batch: AVBatch) -> AVBatch | None:
        """The batch plus each clip's carried perturbation (zero for a clip not seen yet); None when
        nothing is carried."""
        ids = self._ids()
        if ids is None or len(ids) != batch.size or not any(i in self._carried for i in ids):
            return None
        zero_v, zero_a = torch.zeros_like(batch.video[0]), torch.zeros_like(batch.audio[0])
        dv = torch.stack([self._carried[i][0].to(batch.video) if i in self._carried else zero_v for i in ids])
        da = torch.stack([self._carried[i][1].to(batch.audio) if i in self._carried else zero_a for i in ids])
        return batch.with_inputs(batch.video + dv, batch.audio + da)

    def _keep(self, batch: AVBatch, adv: AVBatch) -> None:
        ids = self._ids()
        if ids is None or len(ids) != batch.size:
            return
        dv = (adv.video - batch.video).detach().to("cpu", torch.float16)
        da = (adv.audio - batch.audio).detach().to("cpu", torch.float16)
        for k, i in enumerate(ids):
            self._carried[i] = (dv[k].clone(), da[k].clone())

    def options(self) -> dict[str, Any]:
        return {**super().options(), "rho": self.rho, "curriculum": self.curriculum.describe(), "spread": self.spread,
                "trades_beta": self.trades_beta, "carry": self.carry, "resample": self.resample, "paper": self.paper}
