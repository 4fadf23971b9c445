"""Why resampling the segments at every attack step weakens avat (issue 18); run by hand.

Crafts on the first 64 training clips of ``synth:clips_per_class=40`` against a trained run, with TMA and
with I-FGSM (5 steps, rho 0.25, seed 0): on one sample of segments (avat's crafting), resampled at every
step (``resample=true``) and on every segment; prints the cross-entropy and accuracy each reaches and the
perturbation's mean size as a share of the budget, mean |delta| / eps, per modality.

    python benchmarks/resample_diagnostic.py RUN_DIR      # e.g. an ablation's runs/sampling-s0
"""
import sys

import torch
from avrobust.checkpoint import load_checkpoint
from avrobust.data import load_dataset
from avrobust.defences import create_method
from avrobust.defences.sampling import craft_on_segments, craft_resampled
from avrobust.seeding import generator

run = sys.argv[1]
ck = load_checkpoint(run)
model = ck.model.eval()
data = load_dataset("synth:clips_per_class=40", "train")
batch, labels = data.batch(torch.arange(64))
for attack in ("tma", "ifgsm"):
    m = create_method("avat", attack=attack, rho=0.25, steps=5)
    m.start_epoch(model, 0, 1, seed=0)
    once = craft_on_segments(lambda b, init=None: m.craft(model, b, labels, 5, init), batch, 0.25, m.threat,
                             generator(0))
    res = craft_resampled(lambda b, s: m.craft_step(model, b, labels, 5, s), batch, 5, 0.25, m.threat, generator(0))
    full = m.craft(model, batch, labels, 5)
    for name, adv in (("clean", batch), ("once", once), ("resampled", res), ("every segment", full)):
        with torch.no_grad():
            out = model(adv.video, adv.audio)
            loss = torch.nn.functional.cross_entropy(out.logits, labels).item()
            acc = (out.logits.argmax(1) == labels).float().mean().item()
        fill_v = ((adv.video - batch.video).abs() / m.threat.video.eps).mean().item()
        fill_a = ((adv.audio - batch.audio).abs() / m.threat.audio.eps).mean().item()
        print(f"{attack:5s} {name:14s} loss {loss:.3f} acc {acc:.3f} "
              f"mean|dv|/eps {fill_v:.3f} mean|da|/eps {fill_a:.3f}")
