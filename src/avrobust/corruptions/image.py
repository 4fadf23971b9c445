"""Frame operations the visual corruptions are made of, batched in torch on the clips' device.

Every function takes frames ``[N, T, C, H, W]`` (or a layer ``[N, 1, H, W]``) in [0, 1] and keeps the
shape. Spatial sizes of ImageNet-C's recipes are given for 224-pixel frames; :func:`px` scales them to
the frames at hand, so a corruption covers the same share of a 32-pixel frame as of a 224-pixel one.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

#: ImageNet-C's frame side: its recipes' pixel sizes are for frames this wide
REFERENCE_SIDE = 224


def px(size: float, side: int) -> float:
    """A length of ``size`` pixels at 224 px, scaled to frames ``side`` pixels wide."""
    return size * side / REFERENCE_SIDE


def uniform(g: torch.Generator, n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
    """``n`` draws from U(lo, hi) ``[N]``."""
    return lo + (hi - lo) * torch.rand(n, generator=g, device=device)


def _depthwise(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve every channel of clip ``i`` with ``kernels[i]`` (``[N, k, k]``, odd k), reflect-padded."""
    n, t, c, h, w = x.shape
    k = kernels.shape[-1]
    flat = x.permute(1, 0, 2, 3, 4).reshape(t, n * c, h, w)
    weight = kernels.repeat_interleave(c, dim=0)[:, None]
    pad = k // 2
    mode = "reflect" if pad < min(h, w) else "replicate"
    out = F.conv2d(F.pad(flat, (pad, pad, pad, pad), mode=mode), weight, groups=n * c)
    return out.reshape(t, n, c, h, w).permute(1, 0, 2, 3, 4)


def gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    """A normalised 2-D Gaussian kernel ``[k, k]`` (k = 2 * ceil(3 sigma) + 1)."""
    r = max(1, math.ceil(3 * sigma))
    x = torch.arange(-r, r + 1, device=device, dtype=torch.float32)
    g = torch.exp(-x**2 / (2 * max(sigma, 1e-3) ** 2))
    k = g[:, None] * g[None, :]
    return k / k.sum()


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of every frame with ``sigma`` pixels (of these frames)."""
    if sigma <= 0:
        return x
    kernel = gaussian_kernel(sigma, x.device)
    return _depthwise(x, kernel.expand(x.shape[0], *kernel.shape))


def motion_kernels(length: float, sigma: float, angles: torch.Tensor) -> torch.Tensor:
    """Motion-blur kernels ``[N, k, k]``: a line of ``length`` pixels at ``angles`` (degrees, one per clip),
    weighted by a Gaussian of ``sigma`` pixels along it from its start (ImageMagick's motion blur, which
    ImageNet-C uses: the image smeared behind the motion)."""
    r = max(1, math.ceil(length))
    k = 2 * r + 1
    steps = torch.linspace(0, length, 4 * r + 1, device=angles.device)
    weights = torch.exp(-steps**2 / (2 * max(sigma, 1e-3) ** 2))
    rad = angles[:, None] * math.pi / 180
    xs = (r + steps[None] * torch.cos(rad)).round().long().clamp(0, k - 1)
    ys = (r + steps[None] * torch.sin(rad)).round().long().clamp(0, k - 1)
    out = torch.zeros(len(angles), k * k, device=angles.device)
    out.scatter_add_(1, ys * k + xs, weights.expand_as(xs).contiguous())
    return (out / out.sum(1, keepdim=True)).view(-1, k, k)


def motion_blur(x: torch.Tensor, length: float, sigma: float, angles: torch.Tensor) -> torch.Tensor:
    """Blur clip ``i``'s frames along ``angles[i]`` degrees (the same direction through a clip)."""
    if length < 0.5:
        return x
    return _depthwise(x, motion_kernels(length, sigma, angles))


def zoom(layer: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom a layer ``[..., H, W]`` by ``factor`` >= 1 about its centre, cropped back to ``H x W``."""
    h, w = layer.shape[-2:]
    flat = layer.reshape(-1, 1, h, w)
    big = F.interpolate(flat, size=(max(h, round(h * factor)), max(w, round(w * factor))), mode="bilinear",
                        align_corners=False)
    top, left = (big.shape[-2] - h) // 2, (big.shape[-1] - w) // 2
    return big[..., top:top + h, left:left + w].reshape(layer.shape)


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate clip ``i``'s frames by ``degrees[i]`` about the centre; corners outside the frame are black."""
    n, t, c, h, w = x.shape
    rad = degrees * math.pi / 180
    cos, sin = torch.cos(rad), torch.sin(rad)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
    theta = theta.repeat_interleave(t, dim=0)
    flat = x.reshape(n * t, c, h, w)
    grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
    return F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(x.shape)


def gray(x: torch.Tensor) -> torch.Tensor:
    """Luma ``[N, T, 1, H, W]`` (ITU-R 601 weights, as OpenCV's RGB2GRAY)."""
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
    return (x * w[:, None, None]).sum(2, keepdim=True)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Every frame through a JPEG encoder and decoder at ``quality`` (Pillow, on the CPU)."""
    from PIL import Image

    frames = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
    out = np.empty_like(frames)
    for idx in np.ndindex(*frames.shape[:2]):
        buffer = io.BytesIO()
        Image.fromarray(frames[idx]).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        out[idx] = np.asarray(Image.open(buffer).convert("RGB"))
    return torch.from_numpy(out).to(x.device).permute(0, 1, 4, 2, 3).to(x.dtype) / 255


def brighten(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Add ``amount`` to HSV value, keeping hue and saturation: RGB scaled by the new value over the old
    (black becomes grey at ``amount``)."""
    value = x.max(2, keepdim=True).values
    new = (value + amount).clamp(max=1.0)
    scaled = x * new / value.clamp(min=1e-6)
    return torch.where(value > 1e-6, scaled, new.expand_as(x)).clamp(0, 1)
