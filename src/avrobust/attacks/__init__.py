"""Attacks: the threat model, the engine (base class, registry, losses) and one module per attack; a new
attack is one module with ``@register_attack("name")`` on an :class:`Attack` subclass."""

from avrobust.attacks.base import (
    ATTACKS,
    Attack,
    build_attacks,
    create_attack,
    list_attacks,
    parse_attack_specs,
    register_attack,
)
from avrobust.attacks.ensemble import Ensemble
from avrobust.attacks.threat import Budget, ThreatModel, project
from avrobust.registry import import_submodules

import_submodules(__name__)  # every attack module registers itself

__all__ = ["ATTACKS", "Attack", "Ensemble", "build_attacks", "parse_attack_specs", "Budget", "ThreatModel", "create_attack", "list_attacks", "project",
           "register_attack"]
