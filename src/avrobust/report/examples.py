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
from avrobust.errors import AvrobustError
from avrobust.evaluation.engine import attack_generator, check_budget
from avrobust.evaluation.perceptibility import psnr_db, snr_db
from avrobust.media import example_panel, write_wav
from avrobust.report.data import load_split
from avrobust.report.render import Section
from avrobust.report.summary import model_name, strongest
from avrobust.results import EvaluationResult


def examples_section(path: Path, r: EvaluationResult, figures: Path, n: int = 2, amplify: float = 10.0,
                     datasets: dict[tuple[str, str], AVDataset] | None = None) -> Section | None:
    """A section of ``n`` examples, or ``None`` when the evaluation has no attack, checkpoint or data spec.
    ``datasets`` keeps the splits already loaded for this report (evaluations often share one)."""
    top = strongest(r)
    if n < 1 or top is None or not r.checkpoint or not r.data or r.attacks[top[0]].transfer:
        return None
    entry = r.attacks[top[0]]
    b = entry.budget
    threat = ThreatModel.build(tuple(entry.modalities), eps_video=b["video"]["eps"], norm_video=b["video"]["norm"],
                               eps_audio=b["audio"]["eps"], norm_audio=b["audio"]["norm"])
    try:
        ckpt = load_checkpoint(r.checkpoint)
        dataset = load_split({} if datasets is None else datasets, r.data, r.split)
    except AvrobustError:  # moved or deleted since: the report says so instead of failing
        return Section(f"Adversarial examples: {model_name(path, r)}", [
            f"No examples: the checkpoint {r.checkpoint} or the data `{r.data}` cannot be loaded here."], group="White box")
    (attack,) = build_attacks([entry.attack], threat, steps=entry.steps, seed=0)
    model = ckpt.model.eval()
    batch, labels = dataset.batch(torch.arange(min(len(dataset), 64)))
    with torch.no_grad():
        right = model(batch.video, batch.audio).logits.argmax(1) == labels
    idx = torch.nonzero(right).flatten()[:n]
    if len(idx) == 0:
        return None
    batch, labels = batch.index(idx), labels[idx]
    adv = attack(model, batch, labels, generator=attack_generator(attack, batch.size, torch.device("cpu")))
    check_budget(attack, batch, adv)
    with torch.no_grad():
        pred = model(adv.video, adv.audio).logits.argmax(1)
    names, stem = dataset.class_names, f"{path.stem}-example"
    psnr, snr = psnr_db(batch.video, adv.video), snr_db(batch.audio, adv.audio)
    sec = Section(f"Adversarial examples: {model_name(path, r)}", [
        f"{entry.attack} ({entry.steps} steps, budgets as evaluated) on the first {len(idx)} test clips the model gets "
        f"right; the perturbation is amplified {amplify:g} times around grey. Audio: clean, then adversarial."],
        group="White box")
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
