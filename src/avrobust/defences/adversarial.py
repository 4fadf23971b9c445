"""The shared part of adversarial training methods (``pgd-at``, ``trades``, ``crmt-at``, ``avat``).

Every method crafts under the training threat model (per-modality budgets, as ``evaluate``) with an
attack from the registry; the attack puts the model in eval mode while crafting and restores train
mode, so batch-norm statistics only see the update's forward pass. Randomness (random starts,
sampled segments, masks) comes from generators reseeded every epoch from the run's seed, so a
resumed run crafts exactly what an uninterrupted one does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack
from avrobust.attacks.factory import create_attack
from avrobust.attacks.threat import ThreatModel
from avrobust.defences.base import TrainingMethod, generator_state, restore_generator
from avrobust.distributed import unwrap
from avrobust.errors import ConfigError
from avrobust.seeding import generator
from avrobust.types import AVBatch


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
        self._step_attacks: dict[int, Attack] = {}
        self.attack_for(self.steps)  # fail now on an unknown attack or option
        self._seed = 0
        self._cpu: torch.Generator = generator(0)
        self._device_gen: torch.Generator | None = None

    def attack_for(self, steps: int) -> Attack:
        """The crafting attack with ``steps`` steps (built once per step count)."""
        if steps not in self._attacks:
            self._attacks[steps] = create_attack(self.attack_name, self.threat, steps=steps, **self.attack_options)
        return self._attacks[steps]

    def step_attack_for(self, steps: int) -> Attack:
        """One step of the ``steps``-step crafting attack: the same attack with ``steps=1`` and the step
        sizes of the ``steps``-step one fixed in its budgets (built once per step count)."""
        if steps not in self._step_attacks:
            full = self.attack_for(steps)
            threat = replace(self.threat, video=replace(self.threat.video, step=full.step_size("video")),
                             audio=replace(self.threat.audio, step=full.step_size("audio")))
            self._step_attacks[steps] = create_attack(self.attack_name, threat, steps=1, **self.attack_options)
        return self._step_attacks[steps]

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

    def craft(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor, steps: int | None = None,
              init: AVBatch | None = None) -> AVBatch:
        """Adversarial clips for ``batch`` (the attack runs in eval mode and restores the mode), starting
        from ``init`` when given."""
        attack = self.attack_for(steps or self.steps)
        return attack(unwrap(model), batch, labels, generator=self.device_generator(batch.video.device), init=init)

    def craft_step(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor, steps: int,
                   start: AVBatch | None = None) -> AVBatch:
        """One step of the ``steps``-step crafting attack from ``start`` (None: the attack's own start)."""
        attack = self.step_attack_for(steps)
        return attack(unwrap(model), batch, labels, generator=self.device_generator(batch.video.device), init=start)

    def options(self) -> dict[str, Any]:
        return {"threat": self.threat.describe(), "attack": self.attack_name, "steps": self.steps,
                "unimodal_weight": self.unimodal_weight, **self.attack_options}
