"""The attacks' registry and how attacks are built from ``--attack`` values (specs).

``create_attack(name, threat=..., **options)`` builds one registered attack; ``build_attacks`` reads
``--attack`` values (``"fgsm,pgd"`` or ``"pgd:steps=50,restarts=2"``); :func:`default_attacks` generates
every default selection (the transfer matrix's attacks, the defence suite...) from what each attack
declares in :attr:`~avrobust.attacks.base.Attack.defaults`, so no list of attack names is written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avrobust.attacks.base import Attack
from avrobust.attacks.threat import ThreatModel
from avrobust.errors import ConfigError
from avrobust.options import parameters
from avrobust.registry import Registry
from avrobust.specs import parse_spec

ATTACKS: Registry[Attack] = Registry("attack", attribute="name")
#: class decorator registering an :class:`Attack` subclass: ``@register_attack("pgd")`` sets its ``name``
register_attack = ATTACKS.register


def create_attack(name: str, threat: ThreatModel | None = None, **options: Any) -> Attack:
    """Build registered attack ``name`` (or alias) with a threat model and its typed options."""
    return ATTACKS.create(name, given={"threat": threat}, **options)


def parse_attack_specs(values: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Read ``--attack`` values: ``"fgsm,pgd"`` (names) or ``"pgd:steps=50,restarts=2"`` (one spec).

    Returns ``(label, name, options)`` triples; the label is the spec as written.
    """
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for value in values:
        parts = [value] if ":" in value else [v for v in value.split(",") if v.strip()]
        for part in parts:
            name, options = parse_spec(part)
            specs.append((part.strip(), ATTACKS.canonical(name), options))
    labels = [s[0] for s in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"an attack is listed twice in {', '.join(labels)}")
    return specs


def build_attacks(values: Sequence[str], threat: ThreatModel | None = None, **defaults: Any) -> list[Attack]:
    """Attacks from ``--attack`` values; ``defaults`` (steps, restarts, seed) apply where accepted
    and the spec does not set them."""
    attacks = []
    for label, name, options in parse_attack_specs(values):
        params, accepts_any = parameters(ATTACKS.get(name))
        merged = {k: v for k, v in defaults.items() if v is not None and (k in params or accepts_any)}
        attack = create_attack(name, threat, **{**merged, **options})
        attack.label = label
        attacks.append(attack)
    return attacks


def list_attacks(pattern: str = "*") -> list[str]:
    """Registered attack names matching a wildcard."""
    return ATTACKS.names(pattern)


def default_attacks(selection: str) -> list[str]:
    """The specs of every attack that declares ``selection`` in its ``defaults``, ordered by ``rank`` (then
    name); an attack with several entries (``pgd:steps=10`` and ``pgd:steps=50,restarts=3``) gives each."""
    members = sorted((ATTACKS.get(n).rank, n) for n in ATTACKS if selection in ATTACKS.get(n).defaults)
    return [f"{n}:{options}" if options else n for _, n in members for options in ATTACKS.get(n).defaults[selection]]

