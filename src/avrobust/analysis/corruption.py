"""Analysis (a): accuracy under temporal segment masking, synchronous vs asynchronous.

A ratio rho of the T aligned segments is dropped (black frames, silence). Synchronous masking drops
the same segments in both modalities; asynchronous masking draws the audio segments independently,
so one modality can often fill in for the other (PAPER.md, Section 3). ``video-only`` and ``audio-only``
mask one modality and leave the other whole: the paper's Fig. 1 reads "vision is more vulnerable than
audio" from that pair. No attack is involved: this measures how much the models rely on every segment
(temporal redundancy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from avrobust.analysis.study import Study
from avrobust.device import autocast
from avrobust.models.interface import model_device
from avrobust.plotting import line_plot
from avrobust.analysis.base import register_analysis
from avrobust.stats import mean_std
from avrobust.types import segment_masks

DEFAULT_RATIOS = (0.0, 0.125, 0.25, 0.5, 0.75)
MODES = ("synchronous", "asynchronous", "video-only", "audio-only")


def plot(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    line_plot(r["ratios"], r["accuracy"], path, xlabel="masked segment ratio rho", ylabel="accuracy %",
              title=f"accuracy under temporal masking (mean of {len(r['per_model'])} models)")


@register_analysis("masking", aliases=("a",), plot=plot, values="ratios")
@torch.no_grad()
def masking(study: Study, values: Sequence[float] | None = None) -> dict[str, Any]:
    """Fused accuracy of the surrogate and every victim for each ratio and mode.

    Returns ``{"ratios", "accuracy": {mode: [mean over models]}, "accuracy_std", "per_model":
    {model: {mode: [...]}}}``; the same masks (seeded per batch) are shown to every model.
    """
    ratios = [float(v) for v in (values or DEFAULT_RATIOS)]
    models = [study.surrogate, *study.victims]
    per_model: dict[str, dict[str, list[float]]] = {m.label: {mode: [] for mode in MODES} for m in models}
    device = model_device(study.surrogate.model)
    for m in models:
        m.model.eval()
    for mode in MODES:
        for rho in ratios:
            correct = {m.label: 0 for m in models}
            for batch, labels, g in study.batches(device):
                drop_v, drop_a = segment_masks(batch.size, batch.frames, rho, synchronous=mode != "asynchronous",
                                               generator=g, device=device)
                if mode == "video-only":
                    drop_a = torch.zeros_like(drop_a)
                elif mode == "audio-only":
                    drop_v = torch.zeros_like(drop_v)
                masked = batch.mask_segments(drop_v, drop_a)
                for m in models:
                    with autocast(device, study.precision):
                        pred = m.model(masked.video, masked.audio).logits.argmax(1)
                    correct[m.label] += int((pred == labels).sum())
            correct = study.summed(correct)
            for m in models:
                per_model[m.label][mode].append(correct[m.label] / study.n)
    cells = {mode: [mean_std([per_model[m][mode][i] for m in per_model]) for i in range(len(ratios))] for mode in MODES}
    acc = {mode: [c[0] for c in cells[mode]] for mode in MODES}
    std = {mode: [c[1] for c in cells[mode]] for mode in MODES}
    return {"ratios": ratios, "accuracy": acc, "accuracy_std": std, "per_model": per_model}
