"""Analysis: how far an audio-only perturbation reaches the visual stream.

Every model of the study (the surrogate and each victim) is attacked white box with the audio alone
(the study's audio budget, the video untouched). Per model it reports the fused ASR and the share of
clips whose *visual* prediction changed: the arg-max of ``visual_logits``, the head that reads the visual
tokens after fusion. Under late fusion (``sum``, ``concat``) that head never sees the sound, so the share
is 0 by construction; under attention fusion (``bottleneck``, ``xattn``) the sound reaches the visual
tokens and the share measures how much. The mean drop of the visual head's probability of the true
class says how far, beyond flips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from avrobust.analysis.base import register_analysis
from avrobust.analysis.study import Study
from avrobust.device import autocast
from avrobust.models.interface import model_device
from avrobust.plotting import bar_plot


def plot(result: dict[str, Any], path: str) -> None:
    r = result["results"]
    models = list(r["per_model"])
    bar_plot(models, {"fused prediction flipped": [r["per_model"][m]["fused_asr"] for m in models],
                      "visual prediction changed": [r["per_model"][m]["visual_changed"] for m in models]},
             path, ylabel="% of clips", title=f"audio-only {r['attack']}: what reaches the visual stream")


def _fusion(model: Any) -> str:
    return str(getattr(getattr(model, "config", None), "fusion", "unknown"))


@register_analysis("audio-reach", plot=plot)
def audio_reach(study: Study, attacks: Sequence[str] | None = None) -> dict[str, Any]:
    """Audio-only white-box attack (PGD, or the first of ``attacks``) on every model: fused ASR and the share
    of clips whose visual prediction (the visual head after fusion) changed.

    Returns ``{"attack", "per_model": {label: {"fusion", "n", "fused_asr", "visual_changed",
    "visual_changed_count", "audio_changed", "visual_true_prob_drop"}}}``: ``fused_asr`` over the clips the
    model classified correctly, the other shares over every clip.
    """
    spec = attacks[0] if attacks else "pgd"
    (attack,) = study.attacks([spec], threat=study.threat.with_modalities("audio"))
    per_model: dict[str, dict[str, Any]] = {}
    for member in (study.surrogate, *study.victims):
        model = member.model.eval()
        device = model_device(model)
        counts = {"n": 0, "correct": 0, "fooled": 0, "visual": 0, "audio": 0, "drop": 0.0}
        for batch, labels, g in study.batches(device):
            with torch.no_grad(), autocast(device, study.precision):
                clean = model(batch.video, batch.audio)
            adv = attack(model, batch, labels, generator=g)
            with torch.no_grad(), autocast(device, study.precision):
                out = model(adv.video, adv.audio)
            right = clean.logits.argmax(1) == labels
            counts["n"] += len(labels)
            counts["correct"] += int(right.sum())
            counts["fooled"] += int((right & (out.logits.argmax(1) != labels)).sum())
            counts["visual"] += int((out.visual_logits.argmax(1) != clean.visual_logits.argmax(1)).sum())
            counts["audio"] += int((out.audio_logits.argmax(1) != clean.audio_logits.argmax(1)).sum())
            p_clean = clean.visual_logits.float().softmax(1).gather(1, labels[:, None])
            p_adv = out.visual_logits.float().softmax(1).gather(1, labels[:, None])
            counts["drop"] += float((p_clean - p_adv).sum())
        counts = study.summed(counts)
        n, drop = counts["n"], counts["drop"]
        per_model[member.label] = {
            "fusion": _fusion(model), "n": n, "correct": counts["correct"],
            "fused_asr": counts["fooled"] / max(counts["correct"], 1),
            "visual_changed": counts["visual"] / n, "visual_changed_count": counts["visual"],
            "audio_changed": counts["audio"] / n, "visual_true_prob_drop": drop / n}
    return {"attack": spec, "budget": study.threat.with_modalities("audio").describe(), "per_model": per_model}
