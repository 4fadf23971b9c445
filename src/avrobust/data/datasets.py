"""The in-memory dataset every loop iterates (:class:`AVDataset`), saved and loaded as one safetensors
file. Registered datasets build one per split (:mod:`avrobust.data.recipe`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from avrobust.errors import InputError
from avrobust.types import AUDIO_RANGE, VIDEO_RANGE, AVBatch, check_values

SPLITS = ("train", "val", "test")


@dataclass
class AVDataset:
    """Aligned clips held in memory.

    Attributes:
        video: ``[N, T, 3, H, W]`` float32 in [0, 1], or uint8 (value / 255; four times smaller in memory,
            as decoded caches hold it): :meth:`batch` always gives float32 in [0, 1].
        audio: ``[N, L]`` float32 in [-1, 1], ``L = T * samples_per_segment``.
        labels: ``[N]`` int64 class indices.
        class_names: name of each class index.
        fps, sample_rate: timing shared by all clips.
        spec: the dataset spec it was built from; split: its split.
        extras: optional per-clip tensors (ground truth such as event masks), first dim N.
    """

    video: torch.Tensor
    audio: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    fps: float
    sample_rate: int
    spec: str = ""
    split: str = ""
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        AVBatch(self.video[:1], self.audio[:1], self.fps, self.sample_rate)  # shape checks
        if not (len(self.video) == len(self.audio) == len(self.labels)):
            raise InputError("video, audio and labels must have the same number of clips")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise InputError(f"labels must lie in [0, {len(self.class_names)})")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def validate(self) -> AVDataset:
        """Check every clip for NaN/inf and range (see :meth:`AVBatch.validate`; uint8 video is in range by
        construction); returns ``self``."""
        if self.video.dtype != torch.uint8:
            check_values("video", self.video, VIDEO_RANGE)
        check_values("audio", self.audio, AUDIO_RANGE)
        return self

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def frames(self) -> int:
        return int(self.video.shape[1])

    def batch(self, idx: torch.Tensor | slice) -> tuple[AVBatch, torch.Tensor]:
        """The clips at ``idx`` as an :class:`AVBatch` (video float32 in [0, 1]) and their labels."""
        video = self.video[idx]
        if video.dtype == torch.uint8:
            video = video.float().div_(255.0)
        return AVBatch(video, self.audio[idx], self.fps, self.sample_rate), self.labels[idx]

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        indices: torch.Tensor | None = None,
    ) -> Iterator[tuple[AVBatch, torch.Tensor]]:
        """Iterate over ``(batch, labels)``; ``indices`` restricts to a subset (e.g. a DDP shard)."""
        for chunk in self.batch_indices(batch_size, shuffle=shuffle, generator=generator, indices=indices):
            yield self.batch(chunk)

    def batch_indices(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
                      indices: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The clip indices of every batch :meth:`batches` yields, in order, without gathering any clip
        (loops that skip batches, another process's or ones done before a restart, build only theirs)."""
        order = torch.arange(len(self)) if indices is None else indices
        if shuffle:
            order = order[torch.randperm(len(order), generator=generator)]
        return list(order.split(batch_size))

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def save(self, path: str | Path) -> Path:
        """Write to one safetensors file (tensors plus JSON metadata); returns the path."""
        path = Path(path)
        tensors = {"video": self.video, "audio": self.audio, "labels": self.labels}
        tensors |= {f"extras.{k}": v for k, v in self.extras.items()}
        meta = {
            "class_names": self.class_names,
            "fps": self.fps,
            "sample_rate": self.sample_rate,
            "spec": self.spec,
            "split": self.split,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={"avrobust_dataset": json.dumps(meta)})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> AVDataset:
        """Read a file written by :meth:`save`."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise InputError(f"dataset file {path} does not exist")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {})["avrobust_dataset"])
            tensors = load_file(str(path))
        except Exception as err:  # noqa: BLE001 - any decoding failure is a bad file
            raise InputError(f"{path} is not a dataset saved by avrobust ({err})") from None
        extras = {k[len("extras."):]: v for k, v in tensors.items() if k.startswith("extras.")}
        return cls(tensors["video"], tensors["audio"], tensors["labels"], meta["class_names"],
                   meta["fps"], meta["sample_rate"], meta["spec"], meta["split"], extras)
