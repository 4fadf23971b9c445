"""Perceptibility of perturbations: video PSNR and SSIM, audio SNR and segmental SNR, max norms.

Every metric is per clip (``[N]``); :class:`PerceptibilityMeter` accumulates them over batches and
reports means. Video is ``[N, T, 3, H, W]`` in [0, 1], audio ``[N, L]`` in [-1, 1].
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from avrobust.attacks.threat import flat_norm
from avrobust.types import AVBatch

MAX_DB = 200.0  # reported when a modality is untouched (zero perturbation)


def psnr_db(clean: torch.Tensor, adv: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-clip PSNR ``10 log10(range^2 / MSE)`` over all pixels of the clip, ``[N]`` (capped at 200)."""
    mse = (adv - clean).flatten(1).square().mean(1)
    return (10 * torch.log10(data_range**2 / mse.clamp_min(1e-30))).clamp(max=MAX_DB)


def snr_db(clean: torch.Tensor, adv: torch.Tensor) -> torch.Tensor:
    """Per-clip SNR ``10 log10(sum x^2 / sum delta^2)`` of the waveform, ``[N]`` (capped at 200)."""
    signal = clean.flatten(1).square().sum(1)
    noise = (adv - clean).flatten(1).square().sum(1)
    return (10 * torch.log10(signal.clamp_min(1e-30) / noise.clamp_min(1e-30))).clamp(max=MAX_DB)


def max_norm(clean: torch.Tensor, adv: torch.Tensor, norm: str) -> float:
    """Largest per-clip perturbation norm in the batch."""
    return float(flat_norm(adv - clean, norm).max()) if clean.numel() else 0.0


def _gaussian_window(size: int, sigma: float, channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(clean: torch.Tensor, adv: torch.Tensor, data_range: float = 1.0, window: int = 11,
         sigma: float = 1.5) -> torch.Tensor:
    """Per-clip SSIM (Wang et al. 2004), ``[N]``: Gaussian window 11 / sigma 1.5 (smaller frames get
    the largest odd window that fits), K1 = 0.01, K2 = 0.03, valid positions only, averaged over
    positions, channels and frames of ``[N, T, C, H, W]`` videos."""
    n, t, c, h, w = clean.shape
    size = min(window, h, w)
    size -= 1 - size % 2
    # float64: E[x^2] - E[x]^2 cancels badly in float32 on flat regions
    k = _gaussian_window(size, sigma, c, torch.float64, clean.device)
    x, y = clean.reshape(n * t, c, h, w).double(), adv.reshape(n * t, c, h, w).double()

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z, k, groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1).view(n, t).mean(1).to(clean.dtype)


SEG_MIN_DB, SEG_MAX_DB = -10.0, 35.0  # the usual clamp of segmental SNR


def segmental_snr_db(clean: torch.Tensor, adv: torch.Tensor, frame: int = 256) -> torch.Tensor:
    """Per-clip segmental SNR, ``[N]``: the mean over non-overlapping ``frame``-sample frames of each
    frame's SNR in dB, every frame clamped to [-10, 35] dB (a trailing partial frame is dropped;
    a clip shorter than one frame is one frame)."""
    n, length = clean.shape
    frame = min(frame, length)
    usable = (length // frame) * frame
    x = clean[:, :usable].reshape(n, -1, frame)
    d = (adv - clean)[:, :usable].reshape(n, -1, frame)
    db = 10 * torch.log10(x.square().sum(-1).clamp_min(1e-30) / d.square().sum(-1).clamp_min(1e-30))
    return db.clamp(SEG_MIN_DB, SEG_MAX_DB).mean(1)


class PerceptibilityMeter:
    """Accumulate per-clip perceptibility over batches; :meth:`summary` gives the means and max norms."""

    def __init__(self, video_norm: str = "linf", audio_norm: str = "linf") -> None:
        self.norms = {"video": video_norm, "audio": audio_norm}
        self.values: dict[str, list[torch.Tensor]] = {k: [] for k in ("psnr_db", "ssim", "snr_db", "segmental_snr_db")}
        self.max_norm = {"video": 0.0, "audio": 0.0}

    @torch.no_grad()
    def update(self, clean: AVBatch, adv: AVBatch) -> None:
        self.values["psnr_db"].append(psnr_db(clean.video, adv.video).cpu())
        self.values["ssim"].append(ssim(clean.video, adv.video).cpu())
        self.values["snr_db"].append(snr_db(clean.audio, adv.audio).cpu())
        self.values["segmental_snr_db"].append(segmental_snr_db(clean.audio, adv.audio).cpu())
        for m in ("video", "audio"):
            self.max_norm[m] = max(self.max_norm[m], max_norm(getattr(clean, m), getattr(adv, m), self.norms[m]))

    def state(self) -> dict[str, Any]:
        """JSON-ready accumulated values (for resumable evaluations)."""
        return {"values": {k: torch.cat(v).tolist() if v else [] for k, v in self.values.items()},
                "max_norm": dict(self.max_norm)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.values = {k: [torch.tensor(v, dtype=torch.float32)] if v else [] for k, v in state["values"].items()}
        self.max_norm = dict(state["max_norm"])

    def merge_ranks(self) -> None:
        """Under torchrun: gather every process's per-clip values and maximum norms (a no-op alone)."""
        from avrobust.distributed import all_reduce_max, gather_objects

        for k in self.values:
            parts = gather_objects(torch.cat(self.values[k]) if self.values[k] else torch.empty(0))
            self.values[k] = [p for p in parts if len(p)]
        self.max_norm = {m: all_reduce_max(v) for m, v in self.max_norm.items()}

    def summary(self) -> dict[str, float | None | dict[str, float]]:
        """``psnr_db``, ``ssim``, ``snr_db``, ``segmental_snr_db`` (means over finite values; None if
        no clip) and ``max_norm`` per modality."""
        out: dict[str, float | None | dict[str, float]] = {}
        for k, vs in self.values.items():
            x = torch.cat(vs) if vs else torch.empty(0)
            x = x[torch.isfinite(x)].double()  # float64: the mean does not depend on the order of clips
            out[k] = float(x.mean()) if len(x) else None
        out["max_norm"] = dict(self.max_norm)
        return out
