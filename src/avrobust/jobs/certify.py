"""``avrobust certify``: a run's certified accuracy under a registered certifier (:mod:`avrobust.certification`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.certification import certify_model, create_certifier
from avrobust.certification.base import Certifier
from avrobust.checkpoint import load_checkpoint
from avrobust.io import claim_files
from avrobust.jobs.common import first_clips, run_data
from avrobust.results.certification import CertificationResult
from avrobust.specs import parse_spec


def certifier_from_spec(spec: str) -> Certifier:
    """``"smoothing:sigma_video=0.25,n=1000"`` -> the certifier (one line for an unknown name or option)."""
    name, options = parse_spec(spec)
    return create_certifier(name, **options)


def certify_checkpoint(run_dir: str | Path, json_path: str | Path, *, certifier: str = "smoothing",
                       data: str | None = None, split: str = "test", limit: int | None = None,
                       radii: Sequence[float] | None = None, seed: int = 0, overwrite: bool = False,
                       show_progress: bool = False) -> CertificationResult:
    """Certify the model in ``run_dir`` on ``split`` of ``data`` (default: its training data) and write the
    result to ``json_path`` (refused when the file exists, unless ``overwrite``)."""
    json_path = Path(json_path)
    claim_files([json_path], overwrite=overwrite)
    chosen = certifier_from_spec(certifier)  # checked before anything loads
    ckpt = load_checkpoint(run_dir)
    dataset = run_data(ckpt.meta, data, split)
    result = certify_model(ckpt.model, dataset, chosen, indices=first_clips(dataset, limit), radii=radii, seed=seed,
                           model_name=ckpt.meta.get("model_name", "") or Path(run_dir).name, checkpoint=str(run_dir),
                           show_progress=show_progress)
    result.write(json_path)
    return result
