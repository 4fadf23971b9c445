"""Clean evaluation: fused, audio-only (the audio head p_a alone, or the ablation a wrapped model
defines) and visual-only (p_v) accuracy of a model on a dataset split, and the fused model's accuracy
with a modality missing (audio silenced; frames replaced by the clip's mean colour), as exact counts
(summed over processes under torchrun)."""

from __future__ import annotations

import torch

from avrobust.console import progress
from avrobust.data import AVDataset
from avrobust.distributed import all_reduce_sum, context
from avrobust.device import autocast
from avrobust.evaluation.memory import within_memory
from avrobust.evaluation.metrics import Counts, check_finite
from avrobust.models.classifier import AVOutput, LazyOutput, eval_mode, float32_outputs
from avrobust.models.interface import AVModel, model_device
from avrobust.types import AVBatch


@torch.no_grad()
def clean_counts(
    model: AVModel, dataset: AVDataset, batch_size: int = 128, *, show_progress: bool = False,
    indices: torch.Tensor | None = None, precision: str = "fp32", missing: bool = True,
) -> Counts:
    """Count correct fused / audio-only / visual-only predictions (model in eval mode, restored; forward
    passes in ``precision``; a batch that does not fit in memory is run in pieces); with ``missing`` also
    the fused predictions without audio and without video (two more forward passes per batch).

    Under torchrun each process counts its share of the batches and the counts are summed exactly.
    """
    counts = Counts()
    device = model_device(model)
    ctx = context()
    with eval_mode(model), autocast(device, precision):
        chunks = dataset.batch_indices(batch_size, indices=indices)
        for i, chunk in enumerate(progress(chunks, total=len(chunks), description="evaluate", enabled=show_progress)):
            if not ctx.mine(i):
                continue
            batch, labels = dataset.batch(chunk)
            if i == ctx.rank:  # this process's first batch
                model.check_batch(batch)
            batch.validate()
            batch = batch.to(device)
            output = within_memory(lambda m, b=batch: _outputs(m, b, i), model, batch.size)
            counts.update(output, labels.to(device))
            if missing:
                no_audio, no_video = (within_memory(lambda m, v=v, a=a: m(v, a).logits.float(), model, batch.size)
                                      for v, a in without_each(batch))
                counts.update_missing(no_audio, no_video, labels.to(device))
    return Counts.from_tensor(all_reduce_sum(counts.as_tensor())) if ctx.enabled else counts


def _outputs(model: AVModel, batch: AVBatch, i: int) -> AVOutput | LazyOutput:
    """The three kinds of logits of a batch, checked finite (read now, so an out-of-memory error is raised
    here)."""
    output = float32_outputs(model(batch.video, batch.audio))
    check_finite(output, f" on batch {i}")
    return output


def without_each(batch: AVBatch) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``((video, silence), (mean frames, audio))``: the clip without its audio, and without its video (every
    frame replaced by the clip's mean colour, so the frames carry nothing but the average light)."""
    video, audio = batch.video, batch.audio
    return (video, torch.zeros_like(audio)), (video.mean(dim=(1, 3, 4), keepdim=True).expand_as(video), audio)
