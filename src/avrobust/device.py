"""Where and in what precision models run: one place for the device and autocast.

The device is, in this order: the one a command chose (``--device``, :func:`choose`), then
``$AVROBUST_DEVICE``, then CUDA when available, then Apple's MPS, then the CPU. A device that is not
there is one line (``--device cuda`` on a machine without CUDA). Under torchrun each process takes
its own GPU (:mod:`avrobust.distributed`).

Precision: ``fp32`` (default), ``bf16`` or ``fp16``. :func:`autocast` runs the forward passes (and
so the backward passes) of a block in the lower precision; everything outside the model's forward
(perturbations, momentum, steps, projections, optimiser state) stays in float32, so budgets are
exact. ``fp16`` training needs a gradient scaler (the trainer makes one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from avrobust.errors import ConfigError

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_CHOSEN: dict[str, str | None] = {"device": None}


def choose(name: str | None) -> None:
    """Make ``name`` (``cpu``, ``cuda``, ``cuda:1``, ``mps`` or ``auto``/None) the device of this process's
    commands; checked at once."""
    _CHOSEN["device"] = None if name in (None, "", "auto") else str(resolve(name))


def chosen() -> str | None:
    """The device a command chose, else ``$AVROBUST_DEVICE`` (None: neither)."""
    return _CHOSEN["device"] or os.environ.get("AVROBUST_DEVICE") or None


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve(name: str | None = None) -> torch.device:
    """The device ``name`` means, checked; None or ``auto``: :func:`chosen`, else CUDA, MPS or the CPU."""
    if name in (None, "", "auto"):
        name = chosen()
        if name is None:
            return torch.device("cuda" if cuda_available() else "mps" if mps_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {name!r}; use cpu, cuda, cuda:N, mps or auto") from None
    if device.type == "cuda":
        if not cuda_available():
            raise ConfigError(f"--device {name}: this machine has no CUDA GPU (or this torch has no CUDA); use "
                              "--device cpu or install a CUDA build of torch")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices "
                              f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    elif device.type == "mps" and not mps_available():
        raise ConfigError(f"--device {name}: MPS (Apple GPU) is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"--device {name}: avrobust runs on cpu, cuda or mps")
    return device


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a one-line error."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def autocast(device: torch.device | str, precision: str = "fp32") -> Iterator[None]:
    """Forward passes in ``precision`` on ``device`` for the block (nothing changes for ``fp32``)."""
    dtype = PRECISIONS[check_precision(precision)]
    if dtype is None:
        yield
        return
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=dtype):
        yield


@dataclass(frozen=True)
class Compute:
    """How a command runs its models besides where (the device is :func:`choose`'s): ``precision``."""

    precision: str = "fp32"

    def __post_init__(self) -> None:
        check_precision(self.precision)


def describe(device: torch.device | str) -> str:
    """The device as results record it: ``cpu``, or ``cuda:0 (NVIDIA H200)``."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


def synchronize(device: torch.device | str) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU), so a timer reads the work's time."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
