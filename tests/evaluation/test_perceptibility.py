"""SSIM and segmental SNR against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.evaluation.perceptibility import PerceptibilityMeter, segmental_snr_db, ssim
from avrobust.types import AVBatch


def test_ssim_of_identical_videos_is_one() -> None:
    x = torch.rand(2, 3, 3, 16, 16)
    assert ssim(x, x).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)


@given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0))
@settings(max_examples=25, deadline=None)
def test_ssim_of_flat_frames_matches_the_formula(a: float, b: float) -> None:
    """Constant frames have zero variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)."""
    x, y = torch.full((1, 2, 3, 12, 12), a, dtype=torch.float64), torch.full((1, 2, 3, 12, 12), b, dtype=torch.float64)
    c1 = 0.01**2
    assert ssim(x, y).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), abs=1e-9)


def test_ssim_falls_with_noise_and_fits_small_frames() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 2, 3, 8, 8, generator=g)  # smaller than the 11-pixel window
    weak = (x + 0.01 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    strong = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert 1.0 > ssim(x, weak).item() > ssim(x, strong).item()


def test_segmental_snr_of_a_scaled_copy() -> None:
    """delta = 0.1 x in every frame gives 20 dB in every frame, hence 20 dB."""
    x = torch.sin(torch.arange(1024.0) / 7)[None]
    assert segmental_snr_db(x, 1.1 * x).item() == pytest.approx(20.0, abs=1e-3)


def test_segmental_snr_clamps_each_frame() -> None:
    """One untouched frame (clamped to 35 dB) and one frame with delta = x (0 dB): mean 17.5 dB."""
    x = torch.ones(1, 512)
    adv = x.clone()
    adv[:, 256:] *= 2
    assert segmental_snr_db(x, adv).item() == pytest.approx(17.5)
    silent = torch.zeros(1, 256)
    assert segmental_snr_db(silent, silent + 0.1).item() == pytest.approx(-10.0)


def test_meter_reports_means_and_norms() -> None:
    video, audio = torch.full((2, 2, 3, 12, 12), 0.5), torch.sin(torch.arange(512.0))[None].repeat(2, 1)
    clean = AVBatch(video, audio, fps=4.0, sample_rate=1024)
    adv = AVBatch(video + 0.1, audio * 1.1, fps=4.0, sample_rate=1024)
    meter = PerceptibilityMeter()
    meter.update(clean, adv)
    s = meter.summary()
    assert s["psnr_db"] == pytest.approx(20.0, abs=1e-3) and s["segmental_snr_db"] == pytest.approx(20.0, abs=1e-3)
    assert s["ssim"] == pytest.approx((2 * 0.5 * 0.6 + 1e-4) / (0.25 + 0.36 + 1e-4), abs=1e-5)
    assert s["max_norm"]["video"] == pytest.approx(0.1, abs=1e-6)
    assert not math.isnan(s["snr_db"])
    assert PerceptibilityMeter().summary()["ssim"] is None
