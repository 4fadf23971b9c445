"""Attacks: the threat model (:mod:`.threat`), the call protocol (:mod:`.base`), the registry and spec
parsing (:mod:`.factory`) and one module per attack; a new attack is one module with
``@register_attack("name")`` on an :class:`Attack` subclass that declares its ``rank``, ``traits`` and
``defaults``."""

from avrobust.attacks.base import Attack
from avrobust.attacks.ensemble import Ensemble
from avrobust.attacks.factory import (
    ATTACKS,
    build_attacks,
    create_attack,
    default_attacks,
    list_attacks,
    parse_attack_specs,
    register_attack,
)
from avrobust.attacks.threat import Budget, ThreatModel, project
from avrobust.registry import import_submodules

import_submodules(__name__)  # every attack module registers itself

__all__ = ["ATTACKS", "Attack", "Budget", "Ensemble", "ThreatModel", "build_attacks", "create_attack", "default_attacks",
           "list_attacks", "parse_attack_specs", "project", "register_attack"]
