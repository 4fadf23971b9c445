"""Natural corruptions and failing modalities of audio-visual clips, as a registry (:data:`CORRUPTIONS`).

Each module is one family and registers its corruptions: :mod:`.noise` (gaussian, impulse, shot,
speckle), :mod:`.digital` (compression, interference), :mod:`.weather`, :mod:`.scenes` (whose sound beds
are in :mod:`.beds`) and :mod:`.failures`. ``corrupt(batch, "wind", 3, seed=0)`` applies one.
"""

from __future__ import annotations

from avrobust.corruptions.base import (CORRUPTIONS, MODALITIES, SEVERITIES, Corruption, corrupt, corruption_names,
                                       create_corruption, register_corruption)
from avrobust.registry import import_submodules

import_submodules(__name__)

__all__ = ["CORRUPTIONS", "MODALITIES", "SEVERITIES", "Corruption", "corrupt", "corruption_names",
           "create_corruption", "register_corruption"]
