"""CRMT's threat model (Yang et al., ICML 2024): one L2 budget over the concatenated perturbation of both
modalities, ``sqrt(||d_video||^2 + ||d_audio||^2) <= eps``, instead of a budget per modality. An attacker may
then spend the whole budget on the modality that is cheaper to fool. FGM (``fgsm`` under this threat),
``ifgsm`` and ``pgd`` take it (``ThreatModel(joint_l2=eps)``, ``--joint-l2 EPS``); the steepest-ascent step
normalises the gradient jointly, and the projection scales both perturbations together, then clips each
modality to its range (which only moves coordinates towards the clean clip, so the result stays in the ball).
"""

from __future__ import annotations

import torch

from avrobust.attacks.threat import Inputs, ThreatModel, _per_sample, flat_norm


def joint_norm(adv: Inputs, x: Inputs) -> torch.Tensor:
    """Per-clip L2 norm of the perturbation over both modalities, ``[N]``."""
    return torch.sqrt(sum(flat_norm(adv[m] - x[m], "l2") ** 2 for m in ("video", "audio")))


def project_joint(adv: Inputs, x: Inputs, threat: ThreatModel) -> Inputs:
    """``adv`` projected onto the joint L2 ball of radius ``threat.joint_l2`` around ``x``, then each
    modality clipped to its valid range."""
    eps = float(threat.joint_l2)  # type: ignore[arg-type]
    norms = joint_norm(adv, x)
    factor = torch.where(norms > eps, eps / (norms + 1e-12), torch.ones_like(norms))
    out = {}
    for m in ("video", "audio"):
        b = threat.budget(m)
        out[m] = (x[m] + (adv[m] - x[m]) * _per_sample(factor, x[m])).clamp(b.low, b.high)
    return out


def joint_step(adv: Inputs, grads: Inputs, step: float) -> Inputs:
    """One steepest-ascent step of L2 length ``step`` along the gradients of both modalities, normalised
    jointly (a zero gradient stays zero)."""
    peak = torch.stack([flat_norm(grads[m], "linf") for m in ("video", "audio")]).amax(0)
    safe = torch.where(peak > 0, peak, torch.ones_like(peak))  # scaled first: the squares cannot underflow
    scaled = {m: grads[m] / _per_sample(safe, grads[m]) for m in ("video", "audio")}
    norms = torch.sqrt(sum(flat_norm(scaled[m], "l2") ** 2 for m in ("video", "audio")))
    norms = torch.where(norms > 0, norms, torch.ones_like(norms))
    return {m: adv[m] + step * scaled[m] / _per_sample(norms, scaled[m]) for m in ("video", "audio")}


def joint_random_start(x: Inputs, threat: ThreatModel, generator: torch.Generator | None) -> Inputs:
    """A uniformly random point of the joint L2 ball around ``x`` (then clipped to the ranges)."""
    noise = {m: torch.randn(x[m].shape, generator=generator, device=x[m].device, dtype=x[m].dtype) for m in x}
    zero = {m: torch.zeros_like(x[m]) for m in x}
    norms = joint_norm(noise, zero) + 1e-12
    dims = sum(x[m][0].numel() for m in x)
    radius = torch.rand(x["video"].shape[0], generator=generator, device=x["video"].device) ** (1.0 / max(dims, 1))
    radius = radius * float(threat.joint_l2)  # type: ignore[arg-type]
    start = {m: x[m] + noise[m] * _per_sample(radius / norms, x[m]) for m in x}
    return project_joint(start, x, threat)
