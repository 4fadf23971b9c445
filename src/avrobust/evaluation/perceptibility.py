"""Perceptibility of perturbations: video PSNR and audio SNR in dB, and measured max norms."""

from __future__ import annotations

import torch

from avrobust.attacks.threat import flat_norm

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
