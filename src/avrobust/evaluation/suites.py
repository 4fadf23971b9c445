"""Named attack suites and the benchmark's protocols: one registry (:data:`SUITES`), one entry each.

A :class:`Suite` is a list of attack specs run as one cascade (:func:`~avrobust.evaluation.cascade.run_cascade`);
its attacks are generated from what each attack declares (:func:`~avrobust.attacks.default_attacks`), never
listed by hand.

* ``defence`` (``evaluate --suite defence``): the reviewers' point (PAPER.md) was that the paper's defence
  was evaluated only against TMA, its own training attack. The suite runs, on the defended model itself
  (white box, adaptive), every attack that declares the ``defence`` selection (FGSM, PGD-10, PGD-50 with
  3 restarts, MI-FGSM, APGD-CE, APGD-DLR, TIA, MMA, TMA), each on every clip; with ``--surrogate`` also
  TMA crafted on an undefended model and transferred, and the gradient-masking checks.
* ``standard`` and ``quick`` (:class:`Protocol`, ``benchmark --protocol``): AutoAttack's cascade, the
  ``autoattack`` selection (APGD-CE, APGD-T, Square), each attack on the clips still robust. ``standard``
  is AutoAttack's settings (100 APGD steps, min(9, K - 1) targets, Square with 5000 queries); ``quick``
  (20 steps, the 3 targets MALT ranks nearest, 500 queries) is for a first look; cards say which they used.
"""

from __future__ import annotations

from dataclasses import dataclass

from avrobust.attacks import ATTACKS, default_attacks
from avrobust.errors import ConfigError
from avrobust.options import parameters
from avrobust.registry import Registry

#: how the transferred attack of a suite evaluation is labelled
TRANSFER_LABEL = "tma (transfer from {surrogate})"


@dataclass(frozen=True)
class Suite:
    """A named list of attack specs; ``shrink``: each attack only on the clips still robust (a benchmark's
    cascade) instead of on every clip (each attack's own robust accuracy)."""

    name: str
    specs: tuple[str, ...]
    shrink: bool = False

    def attacks(self, randomised: bool = False) -> list[str]:
        """The specs to run (``randomised``: the model's outputs vary between passes)."""
        return list(self.specs)

    def summary(self) -> str:
        """One line: the attacks."""
        return ", ".join(self.specs)


@dataclass(frozen=True)
class Protocol(Suite):
    """A benchmark protocol: the ``autoattack`` selection with the APGDs' ``apgd_steps``, APGD-T's ``targets``
    ranked by ``rank`` (``logits``: AutoAttack's; ``malt``: MALT's linearised distance), the gradient-free
    attack's ``queries``, EOT over ``eot`` passes for randomised models, and APGD-CE's robust accuracy at the
    budget ``eps_scales`` with ``eps_steps`` steps."""

    specs: tuple[str, ...] = ()
    shrink: bool = True
    apgd_steps: int = 100
    targets: int | None = None
    rank: str = "logits"
    queries: int = 5000
    eot: int = 20
    eps_scales: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    eps_steps: int = 20

    def attacks(self, randomised: bool = False) -> list[str]:
        out = []
        for name in default_attacks("autoattack"):
            free = "gradient-free" in ATTACKS.get(name).traits
            params, _ = parameters(ATTACKS.get(name))
            options = [f"steps={self.queries if free else self.apgd_steps}"]
            options += [f"targets={self.targets}"] if self.targets and "targets" in params else []
            options += [f"rank={self.rank}"] if self.rank != "logits" and "rank" in params else []
            options += [f"eot={self.eot}"] if randomised and not free else []
            out.append(f"{name}:{','.join(options)}")
        return out

    def summary(self) -> str:
        ranked = "" if self.rank == "logits" else f" ranked by {self.rank.upper()}"
        return (f"APGD-CE and APGD-T ({self.apgd_steps} steps, {self.targets or 'min(9, K - 1)'} targets{ranked}), Square "
                f"({self.queries} queries), EOT over {self.eot} passes for randomised models")


SUITES: Registry[Suite] = Registry("attack suite")
register_suite = SUITES.register


@register_suite("defence")
def defence() -> Suite:
    """White-box defence suite: FGSM, PGD-10, PGD-50 x3 restarts, MI-FGSM, APGD-CE/DLR, TIA, MMA, TMA."""
    return Suite("defence", tuple(default_attacks("defence")))


@register_suite("standard")
def standard() -> Suite:
    """Benchmark protocol: AutoAttack's cascade (APGD-CE, APGD-T, Square), 100 steps, 5000 queries."""
    return Protocol("standard")


@register_suite("quick")
def quick() -> Suite:
    """Benchmark protocol for a first look: 20 APGD steps, APGD-T on the 3 targets MALT ranks nearest (1 target
    missed clips that 3 found on the pretrained PMsY: benchmarks/RESULTS.md, issue 39), Square with 500
    queries, EOT 5."""
    return Protocol("quick", apgd_steps=20, targets=3, rank="malt", queries=500, eot=5)


def suite_named(name: str) -> Suite:
    """The registered suite or protocol ``name``."""
    return SUITES.create(name)


def suite_attacks(name: str) -> list[str]:
    """The ``--attack`` values of a named suite."""
    return suite_named(name).attacks()


def protocols() -> list[str]:
    """The names of the benchmark protocols (the suites that are :class:`Protocol` s)."""
    return [n for n in SUITES if isinstance(SUITES.create(n), Protocol)]


def protocol_named(name: str) -> Protocol:
    """The registered benchmark protocol ``name``; one line naming the valid ones otherwise."""
    found = SUITES.create(name) if name in SUITES else None
    if not isinstance(found, Protocol):
        raise ConfigError(f"unknown protocol {name!r}; valid choices: {', '.join(protocols())}")
    return found

