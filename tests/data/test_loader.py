"""The data path: batches through worker processes are the batches of the plain loop, and training with
workers gives the weights of training without."""

from __future__ import annotations

import pytest
import torch

from avrobust.data import AVDataset, load_dataset
from avrobust.data.loader import stream
from avrobust.errors import ConfigError


def test_workers_give_the_same_batches_in_the_same_order(tiny_spec) -> None:
    data = load_dataset(tiny_spec, "train")
    u8 = AVDataset((data.video * 255).round().to(torch.uint8), data.audio, data.labels, data.class_names, data.fps,
                   data.sample_rate)
    chunks = list(torch.randperm(len(u8), generator=torch.Generator().manual_seed(0)).split(5))
    plain = list(stream(u8, chunks, "cpu"))
    workers = list(stream(u8, chunks, "cpu", workers=2, prefetch=3))
    assert len(plain) == len(workers) == len(chunks)
    for (a, ya), (b, yb) in zip(plain, workers):
        assert torch.equal(a.video, b.video) and torch.equal(a.audio, b.audio) and torch.equal(ya, yb)
        assert a.video.dtype == torch.float32 and 0 <= float(a.video.min()) and float(a.video.max()) <= 1
    with pytest.raises(ConfigError, match="workers must be >= 0"):
        list(stream(u8, chunks, "cpu", workers=-1))


@pytest.mark.slow
def test_training_with_workers_gives_the_same_weights(tmp_path, tiny_spec) -> None:
    from avrobust.checkpoint import load_checkpoint
    from avrobust.jobs import train_model

    for workers in (0, 2):
        train_model(tiny_spec, "AsV", tmp_path / f"w{workers}", epochs=1, batch_size=8, workers=workers,
                    show_progress=False)
    a, b = (load_checkpoint(tmp_path / f"w{w}").model.state_dict() for w in (0, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
