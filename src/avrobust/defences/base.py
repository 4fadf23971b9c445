"""Training methods: how one batch becomes a loss. The trainer owns everything else.

A method is registered in ``METHODS`` and built with ``create_method(name, **options)``. The trainer
calls :meth:`TrainingMethod.start_epoch` before each epoch, :meth:`TrainingMethod.loss` per batch
(model in train mode; ``replays`` times per batch, each followed by a backward pass and an optimiser step) and :meth:`TrainingMethod.finish` after the last epoch. Adversarial methods
craft their examples inside ``loss`` with the model in eval mode (batch-norm statistics and dropout
untouched, see :func:`eval_mode`) and the model is back in train mode for the update.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from avrobust.attacks.threat import ThreatModel
from avrobust.errors import ConfigError
from avrobust.registry import Registry
from avrobust.seeding import generator
from avrobust.types import AVBatch

METHODS: Registry[TrainingMethod] = Registry("training method", attribute="name")
register_method = METHODS.register


class TrainingMethod:
    """Base class: subclasses set ``name`` and implement :meth:`loss`."""

    name = ""  # set by the registry: @register_method("name")
    adversarial = False  # True: takes a ``threat`` and crafts examples in the loop
    native_only = False  # True: needs avrobust's own classifier (it changes the zoo's fusion layer)
    late_fusion_only = False  # True: assumes each modality's logits depend on its own input (no attention fusion)
    replays = 1  # weight updates per batch: the trainer calls loss, backward and step this many times
    clip_ids: torch.Tensor | None = None  # the batch's dataset indices [N], set by the trainer before loss
    #: the method's place in generated lists (the ablation's variants, the demo's comparison)
    rank: ClassVar[int] = 1000
    #: the method's spec in the demo's defence comparison (``{steps}``: the demo's attack steps); None: not in it
    demo: ClassVar[str | None] = None

    @classmethod
    def ablation_variants(cls, steps: int) -> dict[str, str]:
        """The method's configurations in ``avrobust ablate``: label -> method spec (attack ``steps``)."""
        return {}

    def loss(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor) -> torch.Tensor:
        """The scalar training loss for one batch (model in train mode)."""
        raise NotImplementedError

    def start_epoch(self, model: nn.Module, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        """Called before each epoch (0-based) with a seed for the epoch's randomness; returns the
        values to log (e.g. curriculum values)."""
        return {}

    def finish(self, model: nn.Module, train_set: Any, device: torch.device) -> dict[str, Any]:
        """Called once after the last epoch (e.g. a second training stage); returns values to log."""
        return {}

    def options(self) -> dict[str, Any]:
        """The method's hyper-parameters, for the run summary."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state of the method's random generators within an epoch (for mid-epoch checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (called after :meth:`start_epoch` of the resumed epoch)."""


class SeededMethod(TrainingMethod):
    """A method that draws its own randomness from a CPU generator reseeded each epoch with the run's seed
    and kept in checkpoints (so a resumed run draws what an uninterrupted one would)."""

    _gen: torch.Generator

    def start_epoch(self, model: Any, epoch: int, epochs: int, seed: int = 0) -> dict[str, Any]:
        self._gen = generator(seed)
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"torch": generator_state(self._gen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._gen = restore_generator(state["torch"])


def generator_state(g: torch.Generator | None) -> list[int] | None:
    """A generator's state as JSON-ready bytes."""
    return None if g is None else g.get_state().tolist()


def restore_generator(state: list[int] | None, device: torch.device | str = "cpu") -> torch.Generator | None:
    """A generator on ``device`` in the state :func:`generator_state` returned."""
    if state is None:
        return None
    g = torch.Generator(device=device)
    g.set_state(torch.tensor(state, dtype=torch.uint8))
    return g


def create_method(name: str, threat: Any = None, **options: Any) -> TrainingMethod:
    """Build registered training method ``name`` with its typed options; ``threat`` (a
    :class:`~avrobust.attacks.ThreatModel`, or None for the defaults) goes to adversarial methods; other
    methods refuse budgets other than the defaults."""
    factory = METHODS.get(name)
    if getattr(factory, "adversarial", False):
        return METHODS.create(name, given={"threat": threat}, **options)
    if threat is not None and threat != ThreatModel():
        raise ConfigError(f"{METHODS.canonical(name)!r} crafts no adversarial examples, so budgets do not apply; "
                          "drop them or choose an adversarial method (see 'avrobust methods')")
    return METHODS.create(name, **options)


def method_for(model: nn.Module, spec: str, threat: Any = None) -> TrainingMethod:
    """Training method ``spec`` (``name:key=value,...``) for ``model``: refused when it changes avrobust's own
    fusion layer and ``model`` is not an avrobust classifier; a model whose p_a, p_v come from modality
    ablation (a wrapped model without heads) trains on the fused logits only (``unimodal_weight=0`` unless
    the spec sets it): those p_a, p_v are for measuring, not for training."""
    from avrobust.models.classifier import AVClassifier
    from avrobust.models.fusion import is_late
    from avrobust.options import parameters
    from avrobust.specs import parse_spec

    name, options = parse_spec(spec)
    factory = METHODS.get(name)
    if factory.native_only and not isinstance(model, AVClassifier):
        raise ConfigError(f"{METHODS.canonical(name)} changes avrobust's own fusion layer; a wrapped model cannot use "
                          f"it: choose one of {', '.join(n for n in METHODS if not METHODS.get(n).native_only)}")
    if factory.late_fusion_only and not is_late(model):
        late = [n for n in METHODS if not METHODS.get(n).late_fusion_only]
        raise ConfigError(f"{METHODS.canonical(name)} assumes late fusion (each modality's logits a function of its own "
                          f"input) and this model's {model.config.fusion} fusion mixes the modalities; choose one of "
                          f"{', '.join(late)}")
    if getattr(model, "unimodal_definition", None) and "unimodal_weight" in parameters(factory)[0]:
        options.setdefault("unimodal_weight", 0.0)
    return create_method(name, threat, **options)


def _ranked() -> list[type[TrainingMethod]]:
    return [c for _, _, c in sorted((METHODS.get(n).rank, n, METHODS.get(n)) for n in METHODS)]  # type: ignore[misc]


def ablation_configs(steps: int) -> dict[str, str]:
    """Label -> method spec of every ablation configuration, generated from what each method declares
    (:meth:`TrainingMethod.ablation_variants`), in rank order."""
    return {label: spec for cls in _ranked() for label, spec in cls.ablation_variants(steps).items()}


def demo_methods(steps: int) -> dict[str, str]:
    """Method name -> spec of the demo's defence comparison (the methods that declare ``demo``)."""
    return {cls.name: cls.demo.format(steps=steps) for cls in _ranked() if cls.demo is not None}
