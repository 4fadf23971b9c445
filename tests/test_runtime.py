"""The tuned allocator keeps freed buffers for speed; release_memory gives them back between jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from avrobust.runtime import caching_allocator, release_memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status here")


@pytest.mark.skipif(not caching_allocator(torch.device("cpu")), reason="the allocator is not tuned (not glibc, or AVROBUST_ALLOCATOR=default)")
def test_freed_heap_memory_goes_back_to_the_system():
    blocks = [torch.ones(16, 1024, 1024) for _ in range(8)]  # 8 x 64 MiB, below the 1 GiB mmap threshold
    blocks.append(torch.ones(1024))  # a small block last, so the heap's top is not free (no automatic trim)
    del blocks[:8]
    kept = _rss_mb()
    assert release_memory()
    assert _rss_mb() < kept - 256  # most of the 512 MiB freed is back with the system
