"""Clean evaluation: fused, audio-only (the audio head p_a alone, or the ablation a wrapped model
defines) and visual-only (p_v) accuracy of a model on a dataset split, as exact counts (summed over processes under torchrun)."""

from __future__ import annotations

import time

import torch

from avrobust.console import progress
from avrobust.data import AVDataset
from avrobust.distributed import all_reduce_sum, context
from avrobust.evaluation.metrics import Counts, check_finite
from avrobust.models.classifier import AVClassifier, eval_mode
from avrobust.results import EvaluationResult


@torch.no_grad()
def clean_counts(
    model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *, show_progress: bool = False,
    indices: torch.Tensor | None = None,
) -> Counts:
    """Count correct fused / audio-only / visual-only predictions (model in eval mode, restored).

    Under torchrun each process counts its share of the batches and the counts are summed exactly.
    """
    counts = Counts()
    device = next(model.parameters()).device
    ctx = context()
    with eval_mode(model):
        chunks = dataset.batch_indices(batch_size, indices=indices)
        for i, chunk in enumerate(progress(chunks, total=len(chunks), description="evaluate", enabled=show_progress)):
            if not ctx.mine(i):
                continue
            batch, labels = dataset.batch(chunk)
            if i == ctx.rank:  # this process's first batch
                model.check_batch(batch)
            batch.validate()
            batch = batch.to(device)
            output = model(batch.video, batch.audio)
            check_finite(output, f" on batch {i}")
            counts.update(output, labels.to(device))
    return Counts.from_tensor(all_reduce_sum(counts.as_tensor())) if ctx.enabled else counts


def evaluate_model(model: AVClassifier, dataset: AVDataset, batch_size: int = 128, *,
                   indices: torch.Tensor | None = None, show_progress: bool = False) -> EvaluationResult:
    """Clean metrics of ``model`` on ``dataset`` (or the clips at ``indices``)."""
    start = time.perf_counter()
    metrics = clean_counts(model, dataset, batch_size, indices=indices, show_progress=show_progress).metrics()
    return EvaluationResult(split=dataset.split, data=dataset.spec, **metrics,
                            unimodal=getattr(model, "unimodal_definition", None),
                            seconds=round(time.perf_counter() - start, 3))
