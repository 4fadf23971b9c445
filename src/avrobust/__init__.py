"""avrobust: adversarial robustness of audio-visual classifiers.

Implements Zhang et al., "Rethinking Audio-Visual Adversarial Vulnerability from Temporal and
Modality Perspectives" (ICLR 2025). Inputs are raw: video ``[N, T, 3, H, W]`` in [0, 1] and audio
``[N, T * S]`` mono waveform in [-1, 1]; budgets are always in those units.
"""

from avrobust.errors import AvrobustError
from avrobust.types import AVBatch

__version__ = "0.1.0"
__all__ = ["AVBatch", "AvrobustError", "__version__"]
