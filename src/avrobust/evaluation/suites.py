"""Named attack suites (``evaluate --suite NAME``), registered like everything else.

``defence``: the reviewers' point (PAPER.md) was that the paper's defence was evaluated only against
TMA, its own training attack. The suite runs, on the defended model itself (white box, adaptive):
FGSM, PGD-10, PGD-50 with 3 restarts, APGD-CE, APGD-DLR, MI-FGSM, TIA, MMA and TMA; with
``--surrogate`` also TMA crafted on an undefended model and transferred, and the gradient-masking
checks (:mod:`~avrobust.evaluation.masking`). The worst case is per clip over every attack.
"""

from __future__ import annotations

from avrobust.registry import Registry

SUITES: Registry[tuple[str, ...]] = Registry("attack suite")
register_suite = SUITES.register
#: how the transferred attack of a suite evaluation is labelled
TRANSFER_LABEL = "tma (transfer from {surrogate})"


@register_suite("defence")
def defence() -> tuple[str, ...]:
    """White-box defence suite: FGSM, PGD-10, PGD-50 x3 restarts, APGD-CE/DLR, MI-FGSM, TIA, MMA, TMA."""
    return ("fgsm", "pgd:steps=10", "pgd:steps=50,restarts=3", "apgd-ce", "apgd-dlr", "mifgsm", "tia", "mma", "tma")


def suite_attacks(name: str) -> list[str]:
    """The ``--attack`` values of a named suite."""
    return list(SUITES.create(name))
