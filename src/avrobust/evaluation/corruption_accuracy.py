"""Accuracy under natural corruptions and failing modalities (:mod:`avrobust.corruptions`): every clip under
every corruption, severity and modality (the pair, then each half alone: the pair is made once and each
half taken from it, which is exactly ``corrupt(..., modality=half)``), as exact counts (summed over
processes under torchrun). The corruptions of a batch are seeded by the seed and the batch's first clip,
so a clip gets the same corruption whichever clips share its batch size and order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch

from avrobust.console import progress
from avrobust.corruptions import MODALITIES, corrupt, create_corruption
from avrobust.data import AVDataset
from avrobust.device import autocast, describe, synchronize
from avrobust.distributed import all_reduce_sum, context
from avrobust.models.classifier import eval_mode, float32_outputs
from avrobust.models.interface import AVModel, model_device
from avrobust.results.corruption import CorruptionResult
from avrobust.types import AVBatch


def _correct(model: AVModel, batch: AVBatch, labels: torch.Tensor) -> int:
    return int((float32_outputs(model(batch.video, batch.audio)).logits.argmax(1) == labels).sum())


@torch.no_grad()
def corruption_accuracy(model: AVModel, dataset: AVDataset, names: Sequence[str], *, failures: bool = False,
                        modalities: Sequence[str] = MODALITIES, indices: torch.Tensor | None = None, seed: int = 0,
                        batch_size: int = 64, precision: str = "fp32", noise_dir: str | Path | None = None,
                        show_progress: bool = False, model_name: str = "", checkpoint: str = "") -> CorruptionResult:
    """The accuracy of ``model`` on ``dataset`` (the clips at ``indices``) under each corruption in ``names``
    at each of its severities, on each of ``modalities`` the corruption touches (``both`` always)."""
    idx = torch.arange(len(dataset)) if indices is None else indices
    device = model_device(model)
    chosen = [create_corruption(n, noise_dir) for n in names]
    cells = [(m, c, s) for c in chosen for s in range(1, c.levels + 1) for m in modalities
             if m == "both" or m in c.touches()]
    counts = torch.zeros(len(cells) + 2, dtype=torch.long)  # cells, clean, clips
    ctx = context()
    start = time.perf_counter()
    making = 0.0
    with eval_mode(model), autocast(device, precision):
        chunks = dataset.batch_indices(batch_size, indices=idx)
        for i, chunk in enumerate(progress(chunks, total=len(chunks), description="corruptions", enabled=show_progress)):
            if not ctx.mine(i):
                continue
            batch, labels = dataset.batch(chunk)
            batch, labels = batch.to(device), labels.to(device)
            counts[-2] += _correct(model, batch, labels)
            counts[-1] += len(chunk)
            made: tuple[object, int, AVBatch] | None = None
            for k, (m, c, s) in enumerate(cells):
                if made is None or made[:2] != (c, s):  # the pair once; each half is exactly that half of it
                    began = time.perf_counter()
                    made = (c, s, corrupt(batch, c, s, seed=seed * 1_000_003 + int(chunk[0])))
                    synchronize(device)
                    making += time.perf_counter() - began
                pair = made[2]
                shown = {"both": pair, "video": batch.with_inputs(pair.video, batch.audio),
                         "audio": batch.with_inputs(batch.video, pair.audio)}[m]
                counts[k] += _correct(model, shown, labels)
    all_reduce_sum(counts)
    n = max(float(counts[-1]), 1.0)
    accuracy: dict[str, dict[str, list[float]]] = {}
    for k, (m, c, s) in enumerate(cells):
        accuracy.setdefault(m, {}).setdefault(c.name, []).append(float(counts[k]) / n)
    return CorruptionResult(
        model=model_name, checkpoint=checkpoint, data=dataset.spec, split=dataset.split, n=len(idx),
        failures=failures, accuracy=accuracy, clean_accuracy=float(counts[-2]) / n, seed=seed,
        seconds=round(time.perf_counter() - start, 3), corrupt_seconds=round(making, 3), device=describe(device),
        noise_dir=None if noise_dir is None else str(noise_dir))
