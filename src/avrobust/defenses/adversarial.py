"""Adversarial training: PGD-AT (Madry et al.), TRADES (Zhang et al.) and ours, AVAT (PAPER.md).

Every method crafts under the training threat model (per-modality budgets, as ``evaluate``) with an
attack from the registry; the attack puts the model in eval mode while crafting and restores train
mode, so batch-norm statistics only see the update's forward pass. Randomness (random starts,
sampled segments, masks) comes from generators reseeded every epoch from the run's seed, so a
resumed run crafts exactly what an uninterrupted one does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.attacks.base import Attack, IterativeAttack, create_attack
from avrobust.attacks.threat import Budget, Inputs, ThreatModel, project
from avrobust.defenses.base import METHODS, TrainingMethod, eval_mode, generator_state, restore_generator
from avrobust.defenses.curriculum import Curriculum, Schedule
from avrobust.defenses.sampling import check_rho, craft_on_segments
from avrobust.defenses.standard import supervised_loss
from avrobust.distributed import unwrap
from avrobust.errors import ConfigError
from avrobust.models.classifier import AVOutput, set_dropout
from avrobust.seeding import generator
from avrobust.types import AVBatch, segment_masks


class AdversarialMethod(TrainingMethod):
    """Shared parts: the threat model, per-epoch generators and attack construction.

    Args:
        threat: budgets and attacked modalities (default :class:`ThreatModel`: video 8/255, audio 0.01).
        attack: registered attack crafting the training examples (``pgd``, ``tma``...).
        steps: attack steps (>= 1).
        unimodal_weight: weight of the unimodal cross-entropy terms, as in ``standard``.
        attack_options: passed to the attack (e.g. ``lambda1`` for ``tma``).
    """

    adversarial = True

    def __init__(self, threat: ThreatModel | None = None, *, attack: str = "pgd", steps: int = 10,
                 unimodal_weight: float = 1.0, **attack_options: Any) -> None:
        self.threat = threat or ThreatModel()
        if int(steps) != steps or steps < 1:
            raise ConfigError(f"{self.name}: steps must be an integer >= 1, got {steps}")
        if not unimodal_weight >= 0:
            raise ConfigError(f"{self.name}: unimodal_weight must be >= 0, got {unimodal_weight}")
        self.steps, self.unimodal_weight = int(steps), float(unimodal_weight)
        self.attack_name, self.attack_options = attack, dict(attack_options)
        self._attacks: dict[int, Attack] = {}
        self.attack_for(self.steps)  # fail now on an unknown attack or option
        self._seed = 0
        self._cpu: torch.Generator = generator(0)
        self._device_gen: torch.Generator | None = None

    def attack_for(self, steps: int) -> Attack:
        """The crafting attack with ``steps`` steps (built once per step count)."""
        if steps not in self._attacks:
            self._attacks[steps] = create_attack(self.attack_name, self.threat, steps=steps, **self.attack_options)
        return self._attacks[steps]

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        self._seed = seed
        self._cpu = generator(seed)
        self._device_gen = None
        return {}

    def state_dict(self) -> dict[str, Any]:
        dev = self._device_gen
        return {"cpu": generator_state(self._cpu), "device": generator_state(dev),
                "device_name": None if dev is None else str(dev.device)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._cpu = restore_generator(state["cpu"])
        self._device_gen = restore_generator(state["device"], state["device_name"] or "cpu")

    def device_generator(self, device: torch.device) -> torch.Generator:
        """The epoch's generator for the attacks' random starts and transformations, on ``device``."""
        if self._device_gen is None or self._device_gen.device != device:
            self._device_gen = generator(self._seed + 1, device)
        return self._device_gen

    def craft(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor, steps: int | None = None) -> AVBatch:
        """Adversarial clips for ``batch`` (the attack runs in eval mode and restores the mode)."""
        attack = self.attack_for(steps or self.steps)
        return attack(unwrap(model), batch, labels, generator=self.device_generator(batch.video.device))

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "attack": self.attack_name, "steps": self.steps,
                "unimodal_weight": self.unimodal_weight, **self.attack_options}


@METHODS.register("pgd-at", aliases=("madry",))
class PGDAT(AdversarialMethod):
    """Madry et al. (ICLR 2018): train on the attack's examples only (default PGD, 10 steps,
    random start, step 2.5 eps / steps)."""

    name = "pgd-at"

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        adv = self.craft(model, batch, labels)
        return supervised_loss(model(adv.video, adv.audio), labels, self.unimodal_weight)


@METHODS.register("avat")
class AVAT(AdversarialMethod):
    """Ours (PAPER.md): TMA-crafted examples, efficient crafting on sampled segments, curriculum.

    Per batch: mask ``mask_ratio`` of the aligned segments (curriculum, data level), craft with TMA
    on ``rho`` of the segments and expand (see :mod:`~avrobust.defenses.sampling`), train on the
    full adversarial clip. Per epoch the curriculum sets the mask ratio, the model's dropout and
    the attack steps. With ``rho = 1`` and ``curriculum = false`` this is plain TMA adversarial
    training (``pgd-at:attack=tma,copies=1``).

    Args:
        rho: share of segments crafted on, in (0, 1] (default 0.25).
        curriculum: turn the curriculum on (default) or off (no masking, the model's dropout,
            ``steps`` steps throughout).
        mask_schedule, mask_start, mask_end, mask_sync: the masking ratio (default linear 0 -> 0.25,
            synchronous).
        dropout_schedule, dropout_start, dropout_end: dropout (default linear 0 -> 0.2).
        steps_schedule, steps_start, steps: attack steps (default linear 1 -> 10).
        stages: blocks of the ``step`` schedules (default 3).
        attack: default ``tma``; ``copies`` (transformed copies per TMA step) defaults to 1 here so
            one step costs one gradient (our decision, PAPER.md gives none); other options go to
            the attack.
    """

    name = "avat"

    def __init__(self, threat: ThreatModel | None = None, *, rho: float = 0.25, curriculum: bool = True,
                 mask_schedule: str = "linear", mask_start: float = 0.0, mask_end: float = 0.25, mask_sync: bool = True,
                 dropout_schedule: str = "linear", dropout_start: float = 0.0, dropout_end: float = 0.2,
                 steps_schedule: str = "linear", steps_start: int = 1, steps: int = 10, stages: int = 3,
                 attack: str = "tma", **attack_options: Any) -> None:
        if attack in ("tma", "tia") and "copies" not in attack_options:
            attack_options["copies"] = 1
        super().__init__(threat, attack=attack, steps=steps, **attack_options)
        self.rho = check_rho(rho)
        if not isinstance(curriculum, bool) or not isinstance(mask_sync, bool):
            raise ConfigError("avat: curriculum and mask_sync must be true or false")
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
        adv = craft_on_segments(lambda b: self.craft(model, b, labels, steps), batch, self.rho, self.threat, self._cpu)
        return supervised_loss(model(adv.video, adv.audio), labels, self.unimodal_weight)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "rho": self.rho, "curriculum": self.curriculum.describe()}


class _TradesKL(IterativeAttack):
    """TRADES' inner maximisation: ``KL(p(x) || p(x'))`` from ``x + 0.001 N(0, 1)``, PGD steps."""

    name = "trades-kl"

    def __init__(self, threat: ThreatModel, clean_logits: torch.Tensor, *, steps: int, seed: int = 0) -> None:
        super().__init__(threat, steps=steps, seed=seed)
        self.clean_log_probs = clean_logits.detach().log_softmax(-1)

    def default_step(self, budget: Budget) -> float:
        return 2.5 * budget.eps / self.steps

    def start(self, x: Inputs, generator: torch.Generator) -> Inputs:
        out = dict(x)
        for m in self.threat.modalities:
            noise = 0.001 * torch.randn(x[m].shape, generator=generator, device=x[m].device, dtype=x[m].dtype)
            out[m] = project(x[m] + noise, x[m], self.threat.budget(m))
        return out

    def objective(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return F.kl_div(out.logits.log_softmax(-1), self.clean_log_probs, reduction="batchmean", log_target=True)


@METHODS.register("trades")
class TRADES(AdversarialMethod):
    """Zhang et al. (ICML 2019): ``CE(f(x), y) + beta * KL(f(x) || f(x'))``, ``x'`` maximising the KL.

    Clean and adversarial clips go through the model in one forward pass (batch-norm statistics of
    both together; one pass per update, as DistributedDataParallel requires).

    Args:
        beta: trade-off (default 6.0, the paper's CIFAR-10 value); steps: inner PGD steps (10).
        The unimodal cross-entropy terms (``unimodal_weight``) are on the clean clip.
    """

    name = "trades"

    def __init__(self, threat: ThreatModel | None = None, *, beta: float = 6.0, steps: int = 10,
                 unimodal_weight: float = 1.0) -> None:
        super().__init__(threat, steps=steps, unimodal_weight=unimodal_weight)
        if not beta >= 0:
            raise ConfigError(f"trades: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        inner = unwrap(model)
        with eval_mode(inner), torch.no_grad():
            clean_logits = inner(batch.video, batch.audio).logits
        attack = _TradesKL(self.threat, clean_logits, steps=self.steps)
        adv = attack(inner, batch, labels, generator=self.device_generator(batch.video.device))
        # one forward pass of clean and adversarial clips together (one pass per update, as DDP needs)
        both = model(torch.cat([batch.video, adv.video]), torch.cat([batch.audio, adv.audio]))
        n = batch.size
        out = AVOutput(*(t[:n] for t in (both.logits, both.audio_logits, both.visual_logits,
                                         both.audio_features, both.visual_features)))
        robust = F.kl_div(both.logits[n:].log_softmax(-1), out.logits.log_softmax(-1), reduction="batchmean",
                          log_target=True)
        return supervised_loss(out, labels, self.unimodal_weight) + self.beta * robust

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "steps": self.steps, "beta": self.beta,
                "unimodal_weight": self.unimodal_weight}
