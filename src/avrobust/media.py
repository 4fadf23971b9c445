"""Media people can watch and hear: WAV files, side-by-side MP4 panels with sound, log-mel pictures."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

CAPTION_PX = 28


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono waveform in [-1, 1] as 16-bit PCM."""
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())


def panel_frames(clean: torch.Tensor, adv: torch.Tensor, amplify: float, caption: str,
                 changed: str = "adversarial") -> np.ndarray:
    """``[T, H', W', 3]`` uint8: caption strip over clean | adv | amplified perturbation, even sizes
    (``changed`` names the middle panel: ``adversarial``, ``corrupted``)."""
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
    draw.text((4, 15), f"clean | {changed} | difference x{amplify:g}", fill=(180, 180, 180))
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


def logmels(model: Any, waveforms: tuple[torch.Tensor, ...], segments: int) -> list[np.ndarray]:
    """The model's log-mel of each waveform ``[L]``, as ``[n_mels, frames]`` pictures; for a wrapped model
    (whose front end, if any, is the user's) a 64-band log-mel of the waveform at the model's rate."""
    config = getattr(model, "config", None)
    if getattr(model, "frontend", None) is None or (hasattr(config, "to_dict") and config.to_dict().get("wrapped")):
        import librosa

        rate = int(getattr(config, "sample_rate", 16000))
        return [np.log(librosa.feature.melspectrogram(y=x.detach().cpu().float().numpy(), sr=rate, n_fft=512,
                                                      hop_length=128, n_mels=64) + 1e-6) for x in waveforms]
    device = next(iter(model.frontend.buffers()), torch.empty(0)).device
    with torch.no_grad():
        return [model.frontend(x[None].float().to(device), segments)[0, 0].T.cpu().numpy() for x in waveforms]


def spectrograms(path: Path, model: Any, clean: torch.Tensor, adv: torch.Tensor, segments: int, title: str) -> None:
    from avrobust.plotting import pyplot, save_figure

    plt = pyplot()
    mels = logmels(model, (clean, adv), segments)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    for ax, mel, name in zip(axes, mels, ("clean", "adversarial")):
        ax.imshow(mel, origin="lower", aspect="auto", cmap="magma")
        ax.set_title(f"{name} log-mel", fontsize=9)
        ax.set_xlabel("frame")
    axes[0].set_ylabel("mel band")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def example_panel(path: Path, model: Any, clean: tuple[torch.Tensor, torch.Tensor], adv: tuple[torch.Tensor, torch.Tensor],
                  amplify: float, title: str) -> Path:
    """One adversarial example at a glance: the middle frame clean and adversarial, the perturbation
    amplified ``amplify`` times around grey, and the clean and adversarial log-mel (one clip:
    video ``[T, 3, H, W]``, audio ``[L]``)."""
    from avrobust.plotting import pyplot, save_figure

    plt = pyplot()
    (video, audio), (adv_video, adv_audio) = clean, adv
    t = video.shape[0] // 2
    frames = [video[t], adv_video[t], (0.5 + amplify * (adv_video[t] - video[t])).clamp(0, 1)]
    mels = logmels(model, (audio, adv_audio), video.shape[0])
    fig, axes = plt.subplots(1, 5, figsize=(12, 2.6), gridspec_kw={"width_ratios": [1, 1, 1, 1.6, 1.6]})
    names = ["clean frame", "adversarial frame", f"perturbation x{amplify:g}", "clean log-mel", "adversarial log-mel"]
    for ax, image, name in zip(axes, [*frames, *mels], names):
        if image.ndim == 3:
            ax.imshow(image.permute(1, 2, 0).float().numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.imshow(image, origin="lower", aspect="auto", cmap="magma")
            ax.set_xlabel("frame", fontsize=7)
            ax.tick_params(labelsize=6)
        ax.set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
