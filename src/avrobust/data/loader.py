"""Batches on their way to the device: a :class:`torch.utils.data.DataLoader` over a dataset's batches.

With ``workers > 0`` worker processes gather and convert the next batches (uint8 video to float) while
the model works, ``prefetch`` batches ahead each; for a CUDA device the batches are pinned and copied
without blocking, so the copy overlaps the previous batch's compute. With no workers on the CPU it is
the plain loop. Either way the batches, their order and their contents are the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from avrobust.data.datasets import AVDataset
from avrobust.errors import ConfigError
from avrobust.types import AVBatch


class _Batches(Dataset):
    """Item ``k``: the clips of chunk ``k`` as ``(video, audio, labels)`` tensors."""

    def __init__(self, dataset: AVDataset, chunks: Sequence[torch.Tensor]) -> None:
        self.dataset, self.chunks = dataset, list(chunks)

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, labels = self.dataset.batch(self.chunks[k])
        return batch.video, batch.audio, labels


def stream(dataset: AVDataset, chunks: Sequence[torch.Tensor], device: torch.device | str, *, workers: int = 0,
           prefetch: int = 2) -> Iterator[tuple[AVBatch, torch.Tensor]]:
    """``(batch, labels)`` of every chunk of clip indices, in order, on ``device`` (see the module docstring)."""
    if workers < 0 or prefetch < 1:
        raise ConfigError(f"workers must be >= 0 and prefetch >= 1, got {workers} and {prefetch}")
    device = torch.device(device)
    if workers == 0 and device.type == "cpu":
        for chunk in chunks:
            yield dataset.batch(chunk)
        return
    loader = DataLoader(_Batches(dataset, chunks), batch_size=None, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda", prefetch_factor=prefetch if workers else None)
    for video, audio, labels in loader:
        batch = AVBatch(video.to(device, non_blocking=True), audio.to(device, non_blocking=True), dataset.fps,
                        dataset.sample_rate)
        yield batch, labels.to(device, non_blocking=True)
