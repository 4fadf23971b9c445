"""Adversarial examples people can see and hear, per evaluated model.

For an evaluation whose checkpoint and data are still there, the report crafts its strongest attack
(same budgets and steps, the attack's other options at their defaults) on the first clips the model
gets right, and shows each as a picture (frame, adversarial frame, amplified perturbation, both
log-mels, with the label and both predictions) with the clean and adversarial audio as WAV.
"""

from __future__ import annotations

from pathlib import Path

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import load_checkpoint
from avrobust.data import AVDataset
from avrobust.device import autocast
from avrobust.errors import AvrobustError
from avrobust.evaluation.engine import attack_generator, check_budget
from avrobust.evaluation.perceptibility import psnr_db, snr_db
from avrobust.media import example_panel, write_wav
from avrobust.report.data import load_split
from avrobust.results import ExampleRequest, Section


def examples_section(req: ExampleRequest, figures: Path, n: int = 2, amplify: float = 10.0,
                     datasets: dict[tuple[str, str], AVDataset] | None = None, precision: str = "fp32") -> Section | None:
    """A section of ``n`` examples of ``req``, or None when ``n`` is 0 or the model gets no clip right.
    ``datasets`` keeps the splits already loaded for this report (evaluations often share one)."""
    if n < 1:
        return None
    b = req.budget
    threat = ThreatModel.build(req.modalities, eps_video=b["video"]["eps"], norm_video=b["video"]["norm"],
                               eps_audio=b["audio"]["eps"], norm_audio=b["audio"]["norm"])
    try:
        ckpt = load_checkpoint(req.checkpoint)
        dataset = load_split({} if datasets is None else datasets, req.data, req.split)
    except AvrobustError:  # moved or deleted since: the report says so instead of failing
        return Section(req.title, [f"No examples: the checkpoint {req.checkpoint} or the data `{req.data}` cannot be "
                                   "loaded here."], group=req.group)
    (attack,) = build_attacks([req.attack], threat, steps=req.steps, seed=0)
    model = ckpt.model.eval()
    device = next(model.parameters()).device
    batch, labels = dataset.batch(torch.arange(min(len(dataset), 64)))
    batch, labels = batch.to(device), labels.to(device)
    with autocast(device, precision):
        with torch.no_grad():
            right = model(batch.video, batch.audio).logits.argmax(1) == labels
        idx = torch.nonzero(right).flatten()[:n]
        if len(idx) == 0:
            return None
        batch, labels = batch.index(idx), labels[idx]
        adv = attack(model, batch, labels, generator=attack_generator(attack, batch.size, device))
        check_budget(attack, batch, adv)
        with torch.no_grad():
            pred = model(adv.video, adv.audio).logits.argmax(1)
    batch, adv, labels, pred = batch.to("cpu"), adv.to("cpu"), labels.cpu(), pred.cpu()
    names, stem = dataset.class_names, req.name
    psnr, snr = psnr_db(batch.video, adv.video), snr_db(batch.audio, adv.audio)
    sec = Section(req.title, [
        f"{req.attack} ({req.steps} steps, budgets as evaluated) on the first {len(idx)} test clips the model gets "
        f"right; the perturbation is amplified {amplify:g} times around grey. Audio: clean, then adversarial."],
        group=req.group)
    for i in range(batch.size):
        title = (f"label {names[labels[i]]}: clean prediction {names[labels[i]]}, adversarial {names[pred[i]]} "
                 f"(PSNR {float(psnr[i]):.1f} dB, SNR {float(snr[i]):.1f} dB)")
        sec.notes.append(f"Clip {i + 1}: {title}.")
        sec.figures.append(example_panel(figures / f"{stem}-{i}.png", model, (batch.video[i], batch.audio[i]),
                                         (adv.video[i], adv.audio[i]), amplify, title))
        for kind, audio in (("clean", batch.audio[i]), ("adversarial", adv.audio[i])):
            wav = figures / f"{stem}-{i}-{kind}.wav"
            write_wav(wav, audio.numpy(), batch.sample_rate)
            sec.audio.append((f"clip {i + 1} {kind} audio ({names[labels[i]]})", wav))
    return sec
