"""Several processes through PyTorch's own engine: ``torchrun`` sets the environment, avrobust joins.

Under ``torchrun --nproc_per_node N avrobust ...`` (``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set)
:func:`setup` initialises ``torch.distributed`` (``nccl`` on GPUs, ``gloo`` on CPUs) and every other
part of avrobust asks :func:`context` who it is:

* work is split by **batches**: rank ``r`` of ``W`` takes global batches ``r, r + W, ...`` of the same
  order a single process would use, so a clip meets exactly the same batch, random start and
  generator as in one process (evaluation results are identical);
* counts are all-reduced as integers (never averages of averages);
* training wraps the model in ``DistributedDataParallel`` and splits each global batch across ranks;
* only rank 0 writes files and prints; the others stay quiet.

Without ``torchrun`` (or with ``WORLD_SIZE=1``) everything is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from avrobust.device import chosen, resolve


@dataclass(frozen=True)
class Context:
    """This process's place: ``rank`` of ``world_size`` (``local_rank`` on its machine) and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, k: int) -> bool:
        """Whether global batch ``k`` belongs to this rank."""
        return k % self.world_size == self.rank


_CONTEXT = Context()


def setup() -> Context:
    """Join the process group torchrun describes in the environment (idempotent); return the context."""
    global _CONTEXT
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _CONTEXT
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (chosen() or "cuda").startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    device = f"cuda:{local}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(local)
    _CONTEXT = Context(rank, world, local, device)
    if rank != 0:
        from avrobust.console import console, output

        console.quiet = True
        output.quiet = True
    return _CONTEXT


def teardown() -> None:
    """Leave the process group (end of a command)."""
    global _CONTEXT
    if dist.is_initialized():
        dist.destroy_process_group()
    _CONTEXT = Context()


def context() -> Context:
    """The current context (one process unless :func:`setup` joined a group)."""
    return _CONTEXT


def default_device() -> torch.device:
    """Where models run: this process's device under torchrun (one GPU each), else
    :func:`avrobust.device.resolve` (``--device``, ``$AVROBUST_DEVICE``, CUDA, MPS, the CPU)."""
    if _CONTEXT.enabled:
        return torch.device(_CONTEXT.device)
    return resolve()


def is_main() -> bool:
    """True on rank 0 and in single-process runs: the process that writes files and prints."""
    return _CONTEXT.is_main


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place (integer tensors stay exact); returns ``t``."""
    if _CONTEXT.enabled:
        moved = t.to(_CONTEXT.device)
        dist.all_reduce(moved, op=dist.ReduceOp.SUM)
        t.copy_(moved.to(t.device))
    return t


def all_reduce_max(value: float) -> float:
    """The largest ``value`` over ranks."""
    if not _CONTEXT.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_CONTEXT.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (a list of one in a single process)."""
    if not _CONTEXT.enabled:
        return [obj]
    out: list[Any] = [None] * _CONTEXT.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if _CONTEXT.enabled:
        dist.barrier()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in ``DistributedDataParallel`` when several processes train, else unchanged."""
    if not _CONTEXT.enabled:
        return model
    device_ids = [_CONTEXT.local_rank] if _CONTEXT.device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
