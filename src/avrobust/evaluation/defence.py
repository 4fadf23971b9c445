"""Deprecated: the defence suite is in :mod:`avrobust.evaluation.suites`, the gradient-masking checks in
:mod:`avrobust.evaluation.masking`, transferred attacks in :mod:`avrobust.evaluation.robust`; this
module goes in the next release."""

from __future__ import annotations

import warnings

from avrobust.evaluation.masking import masking_checks, zero_gradient_share
from avrobust.evaluation.robust import transfer_robustness
from avrobust.evaluation.suites import SUITES, TRANSFER_LABEL, suite_attacks

warnings.warn("avrobust.evaluation.defence is deprecated: use avrobust.evaluation.suites, .masking and .robust",
              DeprecationWarning, stacklevel=2)

DEFENCE_SUITE = tuple(suite_attacks("defence"))

__all__ = ["DEFENCE_SUITE", "SUITES", "TRANSFER_LABEL", "masking_checks", "suite_attacks", "transfer_robustness",
           "zero_gradient_share"]
