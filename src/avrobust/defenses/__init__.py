"""Deprecated spelling of :mod:`avrobust.defences` (avrobust writes "defence" throughout): importing
``avrobust.defenses`` or any ``avrobust.defenses.<module>`` warns and gives the same objects. This
package goes in the next release."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import warnings

import avrobust.defences as _new
from avrobust.defences import *  # noqa: F401,F403  (the public names of the new package)

warnings.warn("avrobust.defenses is deprecated: import avrobust.defences instead", DeprecationWarning, stacklevel=2)

for _info in pkgutil.iter_modules(_new.__path__):
    sys.modules[f"{__name__}.{_info.name}"] = importlib.import_module(f"avrobust.defences.{_info.name}")

__all__ = list(_new.__all__)
