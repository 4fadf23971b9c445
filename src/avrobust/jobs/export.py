"""``avrobust export``: adversarial examples people can watch and hear.

For each clip ``i`` of the first ``n``:

* ``clip_<i>.mp4``: H.264 video at the clip's frame rate, frames side by side
  ``clean | adversarial | perturbation x amplify`` (perturbation shown around mid-grey), upscaled
  with nearest neighbours, under a caption with the true label and both predictions; its audio track
  is the adversarial waveform (AAC).
* ``clip_<i>_clean.wav``, ``clip_<i>_adv.wav``: 16-bit PCM mono.
* ``clip_<i>_logmel.png``: log-mel spectrograms (the model's own front end) of both waveforms.

``index.json`` lists every clip with its label, predictions, PSNR / SNR and file names.

With ``corruption="NAME:S"`` the clips are corrupted instead of attacked (a natural corruption or a
failing modality of :mod:`avrobust.corruptions` at severity S, on both streams): the middle panel and the
sound are the corrupted ones (``clip_<i>_corrupted.wav``), the difference shown at gain 1 by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import load_checkpoint
from avrobust.corruptions import corrupt, create_corruption
from avrobust.corruptions.base import check_severity
from avrobust.device import autocast
from avrobust.errors import ConfigError
from avrobust.evaluation.engine import attack_generator, check_budget
from avrobust.evaluation.perceptibility import psnr_db, snr_db
from avrobust.io import claim_dir, write_json
from avrobust.jobs.common import run_data
from avrobust.media import panel_frames, spectrograms, write_mp4, write_wav
from avrobust.models.interface import model_device


def export_examples(checkpoint: str | Path, out: str | Path, *, attack: str = "pgd", data: str | None = None,
                    split: str = "test", n: int = 4, threat: ThreatModel | None = None, steps: int | None = None,
                    seed: int = 0, amplify: float | None = None, overwrite: bool = False,
                    precision: str = "fp32", corruption: str | None = None) -> dict[str, Any]:
    """Attack (or with ``corruption``, corrupt) the first ``n`` clips of ``split`` (forward passes in
    ``precision``) and write the files described in the module docstring."""
    out = Path(out)
    if n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")
    claim_dir(out, "index.json", "exported examples", overwrite=overwrite)
    chosen = None if corruption is None else parse_corruption(corruption)
    atk = None
    if chosen is None:
        attacks = build_attacks([attack], threat, steps=steps, seed=seed)
        if len(attacks) != 1:
            raise ConfigError(f"export takes one attack, got {len(attacks)} in {attack!r}")
        (atk,) = attacks
    gain = amplify if amplify is not None else (10.0 if chosen is None else 1.0)
    tag, changed = ("adv", "adversarial") if chosen is None else ("corrupted", "corrupted")
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.model.eval()
    dataset = run_data(ckpt.meta, data, split)
    batch, labels = dataset.batch(torch.arange(min(n, len(dataset))))
    model.check_batch(batch)
    device = model_device(model)
    with autocast(device, precision):
        on = batch.to(device)
        if atk is not None:
            adv = atk(model, on, labels.to(device), generator=attack_generator(atk, batch.size, device))
            check_budget(atk, on, adv)
        else:
            assert chosen is not None
            adv = corrupt(on, chosen[0], chosen[1], seed=seed)
        with torch.no_grad():
            clean_pred = model(on.video, on.audio).logits.argmax(1).cpu()
            adv_pred = model(adv.video, adv.audio).logits.argmax(1).cpu()
    adv = adv.to("cpu")
    names = dataset.class_names
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    psnr, snr = psnr_db(batch.video, adv.video), snr_db(batch.audio, adv.audio)
    for i in range(batch.size):
        stem = f"clip_{i:03d}"
        caption = f"true {names[labels[i]]}  clean {names[clean_pred[i]]}  {tag} {names[adv_pred[i]]}"
        frames = panel_frames(batch.video[i], adv.video[i], gain, caption, changed)
        write_mp4(out / f"{stem}.mp4", frames, batch.fps, adv.audio[i].numpy(), batch.sample_rate)
        write_wav(out / f"{stem}_clean.wav", batch.audio[i].numpy(), batch.sample_rate)
        write_wav(out / f"{stem}_{tag}.wav", adv.audio[i].numpy(), batch.sample_rate)
        spectrograms(out / f"{stem}_logmel.png", model, batch.audio[i], adv.audio[i], batch.frames, caption)
        clips.append({"clip": i, "label": names[labels[i]], "clean_prediction": names[clean_pred[i]],
                      f"{changed}_prediction": names[adv_pred[i]], "psnr_db": float(psnr[i]), "snr_db": float(snr[i]),
                      "files": [f"{stem}.mp4", f"{stem}_clean.wav", f"{stem}_{tag}.wav", f"{stem}_logmel.png"]})
    what = ({"attack": atk.describe()} if atk is not None
            else {"corruption": {"name": chosen[0], "severity": chosen[1], "seed": seed}})  # type: ignore[index]
    index = {"schema_version": 1, "checkpoint": str(checkpoint), "data": dataset.spec, "split": split,
             **what, "amplify": gain, "fps": batch.fps, "sample_rate": batch.sample_rate, "clips": clips}
    write_json(out / "index.json", index)
    return index


def parse_corruption(text: str) -> tuple[str, int]:
    """``"wind:3"`` -> ``("wind", 3)``, checked against the registry (one line otherwise)."""
    name, _, severity = text.partition(":")
    if not severity.isdigit():
        raise ConfigError(f"--corruption wants NAME:SEVERITY such as wind:3, got {text!r} ('avrobust corruptions' "
                          "lists the names)")
    chosen = create_corruption(name)
    check_severity(chosen, int(severity))
    return chosen.name, int(severity)
