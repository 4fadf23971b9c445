"""Certified robustness: certifiers registered in :data:`CERTIFIERS` (one module each: :mod:`.smoothing`,
randomized smoothing; :mod:`.subsampling`, MMCert) and :func:`certify_model`, which certifies every clip and reports the certified
accuracy at each radius as a :class:`~avrobust.results.certification.CertificationResult`."""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from avrobust.certification.base import ABSTAIN, CERTIFIERS, Certificate, Certifier, create_certifier, register_certifier
from avrobust.console import progress
from avrobust.data import AVDataset
from avrobust.device import describe
from avrobust.models.classifier import eval_mode
from avrobust.models.interface import AVModel, model_device
from avrobust.registry import import_submodules
from avrobust.results.certification import CertificationResult

import_submodules(__name__)  # every certifier module registers itself


def clip_generator(seed: int, clip: int, device: torch.device) -> torch.Generator:
    """The noise of clip ``clip`` (its index in the dataset): the same whichever clips are certified with it."""
    g = torch.Generator(device=device)
    g.manual_seed(seed * 1_000_003 + clip)
    return g


def certify_model(model: AVModel, dataset: AVDataset, certifier: Certifier, *, indices: torch.Tensor | None = None,
                  radii: Sequence[float] | None = None, seed: int = 0, model_name: str = "", checkpoint: str = "",
                  show_progress: bool = False) -> CertificationResult:
    """Certify every clip of ``dataset`` (or those at ``indices``) and return the certified accuracy at
    ``radii`` (default: the certifier's)."""
    idx = torch.arange(len(dataset)) if indices is None else indices
    device = model_device(model)
    start = time.perf_counter()
    certificates: list[Certificate] = []
    labels: list[int] = []
    with eval_mode(model):
        for i in progress(idx.tolist(), total=len(idx), description="certify", enabled=show_progress):
            batch, y = dataset.batch(torch.tensor([i]))
            batch = batch.to(device)
            certificates.append(certifier.certify_clip(model, batch.video[0], batch.audio[0],
                                                       clip_generator(seed, i, device)))
            labels.append(int(y[0]))
    chosen = list(radii) if radii is not None else certifier.default_radii()
    predictions = [c.label for c in certificates]
    radius = [c.radius for c in certificates]
    right = [p == y for p, y in zip(predictions, labels)]
    n = max(len(idx), 1)
    frontiers = [c.frontier for c in certificates if c.frontier is not None]
    grid = []
    if frontiers and len(frontiers) == len(certificates):
        size = len(frontiers[0])
        grid = [[sum(ok and f[r_v] >= r_a for ok, f in zip(right, frontiers)) / n for r_a in range(size)]
                for r_v in range(size)]
    return CertificationResult(
        model=model_name, checkpoint=checkpoint, data=dataset.spec, split=dataset.split, n=len(idx),
        certifier=certifier.name, options=certifier.options(), radius_units=certifier.radius_units(), radii=chosen,
        certified_accuracy=[sum(ok and r >= x for ok, r in zip(right, radius)) / n for x in chosen],
        clean_accuracy=sum(right) / n, abstained=sum(p == ABSTAIN for p in predictions) / n,
        predictions=predictions, labels=labels, radius=[round(r, 6) for r in radius], seed=seed,
        frontier=[c.frontier for c in certificates if c.frontier is not None], grid=grid,
        seconds=round(time.perf_counter() - start, 3), device=describe(device))


__all__ = ["ABSTAIN", "CERTIFIERS", "Certificate", "Certifier", "certify_model", "create_certifier", "register_certifier"]
