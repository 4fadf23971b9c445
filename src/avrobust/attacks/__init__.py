"""Attacks: the threat model, the engine (base class, registry, losses) and one module per attack."""

from avrobust.attacks import apgd, fgsm, ifgsm, mifgsm, mig, nifgsm, pam, pgd, temporal_modality  # noqa: F401  (registration)
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

__all__ = ["ATTACKS", "Attack", "Ensemble", "build_attacks", "parse_attack_specs", "Budget", "ThreatModel", "create_attack", "list_attacks", "project",
           "register_attack"]
