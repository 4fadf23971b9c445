"""avrobust: adversarial robustness of audio-visual classifiers.

Implements Zhang et al., "Rethinking Audio-Visual Adversarial Vulnerability from Temporal and
Modality Perspectives" (ICLR 2025). Inputs are raw: video ``[N, T, 3, H, W]`` in [0, 1] and audio
``[N, T * S]`` mono waveform in [-1, 1]; budgets are always in those units.

The Python API (imported on first use, so ``import avrobust`` stays light), one verb per job
(:mod:`avrobust.api`): :func:`train`, :func:`evaluate`, :func:`attack`, :func:`transfer`, :func:`benchmark`, :func:`certify`,
:func:`study` and :func:`report`, on run directories and models alike; :func:`corrupt` applies a natural
corruption or a failing modality to a batch; :func:`wrap` any PyTorch
audio-visual model first; :func:`create_model` builds a zoo model, :func:`load_weights` reloads a trained
wrapped model.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from avrobust.errors import AvrobustError
from avrobust.types import AVBatch
from avrobust.version import __version__

_LAZY = {
    "wrap": "avrobust.models.adapter", "WrappedModel": "avrobust.models.adapter",
    "train": "avrobust.api", "evaluate": "avrobust.api", "attack": "avrobust.api", "transfer": "avrobust.api",
    "benchmark": "avrobust.api", "certify": "avrobust.api", "study": "avrobust.api", "report": "avrobust.api",
    "as_dataset": "avrobust.api", "corrupt": "avrobust.corruptions", "create_model": "avrobust.models.model_zoo", "load_weights": "avrobust.checkpoint",
    "load_checkpoint": "avrobust.checkpoint", "ThreatModel": "avrobust.attacks.threat",
    "Budget": "avrobust.attacks.threat", "AVDataset": "avrobust.data.datasets", "LogMel": "avrobust.models.frontend",
}
__all__ = ["AVBatch", "AvrobustError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'avrobust' has no attribute {name!r}")
