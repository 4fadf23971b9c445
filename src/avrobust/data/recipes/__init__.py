"""The registered datasets, one module each (see :mod:`avrobust.data.recipe`): ``synth``, ``digits``,
``saved``, and the decoded video datasets ``kinetics-sounds``, ``music``, ``folder``, ``crema-d``, ``ave`` and
``vggsound``."""

from avrobust.registry import import_submodules

import_submodules(__name__)  # every recipe module registers itself
