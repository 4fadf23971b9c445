"""Seeding for programs (the CLI and the trainer); library attacks take generators instead."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; optionally turn on deterministic algorithms."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        use_deterministic()


def use_deterministic() -> None:
    """Deterministic algorithms only (``--deterministic``): an op without one raises instead of varying."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The torch (and CUDA), numpy and python generator states: tensors for a checkpoint and JSON values."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors |= {f"rng.cuda.{i}": t for i, t in enumerate(torch.cuda.get_rng_state_all())}
    np_state = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    py_state = random.getstate()
    values = {"rng_numpy": [np_state[0], *(int(v) for v in np_state[2:4]), float(np_state[4])],
              "rng_python": [py_state[0], list(py_state[1]), py_state[2]]}
    return tensors, values


def restore_rng(tensors: dict[str, torch.Tensor], values: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (states a checkpoint lacks are left as they are)."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    if "rng.numpy" in tensors and "rng_numpy" in values:
        name, pos, has_gauss, cached = values["rng_numpy"]
        np.random.set_state((name, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    if "rng_python" in values:
        version, internal, gauss = values["rng_python"]
        random.setstate((version, tuple(internal), gauss))
