"""Export adversarial examples people can watch and hear (``avrobust export``).

For each clip ``i`` of the first ``n``:

* ``clip_<i>.mp4``: H.264 video at the clip's frame rate, frames side by side
  ``clean | adversarial | perturbation x amplify`` (perturbation shown around mid-grey), upscaled
  with nearest neighbours, under a caption with the true label and both predictions; its audio track
  is the adversarial waveform (AAC).
* ``clip_<i>_clean.wav``, ``clip_<i>_adv.wav``: 16-bit PCM mono.
* ``clip_<i>_logmel.png``: log-mel spectrograms (the model's own front end) of both waveforms.

``index.json`` lists every clip with its label, predictions, PSNR / SNR and file names.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import load_checkpoint, write_json
from avrobust.data import load_dataset
from avrobust.errors import ConfigError
from avrobust.evaluation.perceptibility import psnr_db, snr_db
from avrobust.evaluation.robust import attack_generator, check_budget
from avrobust.evaluation.runner import check_classes

CAPTION_PX = 28


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono waveform in [-1, 1] as 16-bit PCM."""
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())


def _panel_frames(clean: torch.Tensor, adv: torch.Tensor, amplify: float, caption: str) -> np.ndarray:
    """``[T, H', W', 3]`` uint8: caption strip over clean | adv | amplified perturbation, even sizes."""
    from PIL import Image, ImageDraw

    delta = (0.5 + amplify * (adv - clean)).clamp(0, 1)
    row = torch.cat([clean, adv, delta], dim=-1)  # [T, 3, H, 3W]
    t, _, h, w = row.shape
    scale = max(1, -(-128 // h))
    frames = (row.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = h * scale + CAPTION_PX, w * scale
    height, width = height + height % 2, width + width % 2
    out = np.zeros((t, height, width, 3), dtype=np.uint8)
    strip = Image.new("RGB", (width, CAPTION_PX), "black")
    draw = ImageDraw.Draw(strip)
    draw.text((4, 2), caption, fill="white")
    draw.text((4, 15), "clean | adversarial | perturbation x%g" % amplify, fill=(180, 180, 180))
    out[:, :CAPTION_PX] = np.asarray(strip)
    out[:, CAPTION_PX:CAPTION_PX + h * scale, : w * scale] = frames
    return out


def write_mp4(path: Path, frames: np.ndarray, fps: float, audio: np.ndarray, sample_rate: int) -> None:
    """H.264 video ``[T, H, W, 3]`` uint8 at ``fps`` with a mono AAC track."""
    import fractions

    import av

    with av.open(str(path), "w") as container:
        rate = fractions.Fraction(fps).limit_denominator(1000)
        vstream = container.add_stream("libx264", rate=rate)
        vstream.width, vstream.height, vstream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        astream = container.add_stream("aac", rate=int(sample_rate))
        astream.layout = "mono"
        for frame in frames:
            for packet in vstream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        samples = np.clip(audio, -1, 1).astype(np.float32)[None]
        aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        aframe.sample_rate = int(sample_rate)
        for packet in astream.encode(aframe):
            container.mux(packet)
        for packet in astream.encode():
            container.mux(packet)


def _spectrograms(path: Path, model: Any, clean: torch.Tensor, adv: torch.Tensor, segments: int, title: str) -> None:
    from avrobust.plotting import pyplot, save_figure

    plt = pyplot()
    with torch.no_grad():
        mels = [model.frontend(x[None], segments)[0, 0].T.numpy() for x in (clean, adv)]  # [n_mels, frames]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    for ax, mel, name in zip(axes, mels, ("clean", "adversarial")):
        ax.imshow(mel, origin="lower", aspect="auto", cmap="magma")
        ax.set_title(f"{name} log-mel", fontsize=9)
        ax.set_xlabel("frame")
    axes[0].set_ylabel("mel band")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def export_examples(checkpoint: str | Path, out: str | Path, *, attack: str = "pgd", data: str | None = None,
                    split: str = "test", n: int = 4, threat: ThreatModel | None = None, steps: int | None = None,
                    seed: int = 0, amplify: float = 10.0, overwrite: bool = False) -> dict[str, Any]:
    """Attack the first ``n`` clips of ``split`` and write the files described in the module docstring."""
    out = Path(out)
    if n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")
    if (out / "index.json").exists() and not overwrite:
        raise ConfigError(f"{out} already holds exported examples; pass --overwrite or choose another --out")
    attacks = build_attacks([attack], threat, steps=steps, seed=seed)
    if len(attacks) != 1:
        raise ConfigError(f"export takes one attack, got {len(attacks)} in {attack!r}")
    (atk,) = attacks
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.model.eval()
    dataset = load_dataset(data or ckpt.meta.get("data_spec", "synth"), split)
    check_classes(ckpt.meta, dataset)
    batch, labels = dataset.batch(torch.arange(min(n, len(dataset))))
    model.check_batch(batch)
    adv = atk(model, batch, labels, generator=attack_generator(atk, batch.size, torch.device("cpu")))
    check_budget(atk, batch, adv)
    with torch.no_grad():
        clean_pred = model(batch.video, batch.audio).logits.argmax(1)
        adv_pred = model(adv.video, adv.audio).logits.argmax(1)
    names = dataset.class_names
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    psnr, snr = psnr_db(batch.video, adv.video), snr_db(batch.audio, adv.audio)
    for i in range(batch.size):
        stem = f"clip_{i:03d}"
        caption = f"true {names[labels[i]]}  clean {names[clean_pred[i]]}  adv {names[adv_pred[i]]}"
        frames = _panel_frames(batch.video[i], adv.video[i], amplify, caption)
        write_mp4(out / f"{stem}.mp4", frames, batch.fps, adv.audio[i].numpy(), batch.sample_rate)
        write_wav(out / f"{stem}_clean.wav", batch.audio[i].numpy(), batch.sample_rate)
        write_wav(out / f"{stem}_adv.wav", adv.audio[i].numpy(), batch.sample_rate)
        _spectrograms(out / f"{stem}_logmel.png", model, batch.audio[i], adv.audio[i], batch.frames, caption)
        clips.append({"clip": i, "label": names[labels[i]], "clean_prediction": names[clean_pred[i]],
                      "adversarial_prediction": names[adv_pred[i]], "psnr_db": float(psnr[i]), "snr_db": float(snr[i]),
                      "files": [f"{stem}.mp4", f"{stem}_clean.wav", f"{stem}_adv.wav", f"{stem}_logmel.png"]})
    index = {"schema_version": 1, "checkpoint": str(checkpoint), "data": dataset.spec, "split": split,
             "attack": atk.describe(), "amplify": amplify, "fps": batch.fps, "sample_rate": batch.sample_rate,
             "clips": clips}
    write_json(out / "index.json", index)
    return index
