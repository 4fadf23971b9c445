"""Old import paths keep working for a release, each with a DeprecationWarning that names the new one."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = '''
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import avrobust.defenses
    from avrobust.defenses import TrainConfig, create_method
    from avrobust.defenses.sampling import craft_on_segments
    from avrobust.evaluation.runner import clean_counts, evaluate_model
    from avrobust.evaluation.defence import DEFENCE_SUITE, masking_checks
import avrobust.defences, avrobust.defences.sampling
assert TrainConfig is avrobust.defences.TrainConfig and craft_on_segments is avrobust.defences.sampling.craft_on_segments
assert DEFENCE_SUITE[0] == "fgsm" and create_method("standard").name == "standard"
for line in sorted({str(w.message) for w in caught if w.category is DeprecationWarning}):
    print(line)
'''


def test_old_paths_import_the_same_objects_and_warn() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "avrobust.defenses is deprecated: import avrobust.defences instead" in out
    assert "avrobust.evaluation.runner is deprecated" in out and "avrobust.evaluation.defence is deprecated" in out
