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
from avrobust.models.adapter import ABLATION, mean_frames
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
                counts.update_missing(*_missing_logits(model, batch, output), labels.to(device))
    return Counts.from_tensor(all_reduce_sum(counts.as_tensor())) if ctx.enabled else counts


def _outputs(model: AVModel, batch: AVBatch, i: int) -> AVOutput | LazyOutput:
    """The three kinds of logits of a batch, checked finite (read now, so an out-of-memory error is raised
    here)."""
    output = float32_outputs(model(batch.video, batch.audio))
    check_finite(output, f" on batch {i}")
    return output


def _missing_logits(model: AVModel, batch: AVBatch, output: AVOutput | LazyOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """The fused logits without the audio (silenced) and without the video (:func:`mean_frames`). A model whose
    p_a, p_v are defined by that very ablation (a wrapped model without heads) has them in ``output``
    already: p_v is the clip with the audio silenced, p_a the clip with mean frames; no pass is repeated."""
    if model.unimodal_definition == ABLATION:
        return output.visual_logits, output.audio_logits
    video, audio = batch.video, batch.audio
    return tuple(within_memory(lambda m, v=v, a=a: m(v, a).logits.float(), model, batch.size)  # type: ignore[return-value]
                 for v, a in ((video, torch.zeros_like(audio)), (mean_frames(video), audio)))
