"""Process-wide settings that make CPU runs faster: the C allocator's thresholds.

glibc returns large freed blocks to the operating system (``munmap``) and maps them again on the
next allocation, so every forward and backward pass of a model pays page faults for its activation
buffers. Keeping them in the heap makes attacks and training steps faster (benchmarks/RESULTS.md has
the figures), as PyTorch's CPU tuning guide suggests for glibc. The
price: memory freed by a pass stays with the process (for reuse) instead of going back to the
system. The CLI calls :func:`tune_allocator` at start; ``AVROBUST_ALLOCATOR=default`` turns it off. Jobs that
train and evaluate many models in one process (ablations, studies, zoos) call :func:`release_memory`
between them: without it the kept blocks fragment and the process grows run after run (a pretrained
ablation reached 17.8 GB after nine runs and was killed out of memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TUNED = {M_MMAP_THRESHOLD: 1 << 30, M_TRIM_THRESHOLD: 1 << 30}
_tuned = False


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds to 1 GiB; return whether it applied (False elsewhere:
    another C library, or ``AVROBUST_ALLOCATOR=default``)."""
    global _tuned
    if os.environ.get("AVROBUST_ALLOCATOR", "tuned") == "default":
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    _tuned = all(mallopt(option, value) == 1 for option, value in TUNED.items())
    return _tuned


def caching_allocator(device: torch.device) -> bool:
    """Whether freed buffers on ``device`` are kept for reuse (CUDA's caching allocator, or glibc once
    tuned): then one large batched pass beats several small ones (benchmarks/RESULTS.md)."""
    return device.type == "cuda" or _tuned


def release_memory() -> bool:
    """Give the heap's free memory back to the system (glibc ``malloc_trim``) after a job has dropped a
    model and its buffers; return whether it applied (False elsewhere or when the allocator is untuned)."""
    import gc

    gc.collect()
    if not _tuned:
        return False
    try:
        return bool(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
