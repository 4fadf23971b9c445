"""``avrobust attack --save`` and ``avrobust evaluate --adversarial``: craft an adversarial set once, score
run directories or ONNX models on it later (:mod:`avrobust.evaluation.adversarial_set`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.checkpoint import check_classes
from avrobust.data import load_dataset
from avrobust.device import check_precision
from avrobust.errors import ConfigError
from avrobust.evaluation.adversarial_set import craft_set, read_set, score_set
from avrobust.evaluation.transfer_matrix import Member, load_members
from avrobust.jobs.common import first_clips, run_data
from avrobust.jobs.transfer_runs import write_transfer
from avrobust.results import TransferResult


def attack_and_save(checkpoint: str | Path, out: str | Path, *, attacks: Sequence[str], data: str | None = None,
                    split: str = "test", limit: int | None = None, steps: int | None = None, seed: int = 0,
                    batch_size: int = 64, threat: ThreatModel | None = None, precision: str = "fp32",
                    show_progress: bool = True) -> dict[str, Any]:
    """Craft ``attacks`` on the run in ``checkpoint`` (its data unless ``data``) and save the set in ``out``;
    return its manifest."""
    (source,) = load_members([checkpoint])
    dataset = run_data(source.meta, data, split, f"the model {source.label}")
    attack_list = build_attacks(attacks, threat, steps=steps, seed=seed)
    return craft_set(source, dataset, attack_list, out, indices=first_clips(dataset, limit), batch_size=batch_size,
                     precision=check_precision(precision), show_progress=show_progress)


def evaluate_adversarial(adversarial: str | Path, *, checkpoint: str | Path | None = None, onnx: str | Path | None = None,
                         json_path: str | Path | None = None, precision: str = "fp32",
                         show_progress: bool = False) -> TransferResult:
    """Score the run in ``checkpoint`` or the ONNX model ``onnx`` on the set in ``adversarial``; with
    ``json_path`` write the result as ``avrobust transfer`` does (JSON, Markdown, heatmap)."""
    if (checkpoint is None) == (onnx is None):
        raise ConfigError("--adversarial scores one model: give --checkpoint RUN or --onnx FILE")
    manifest = read_set(adversarial)
    dataset = load_dataset(manifest["data"], manifest["split"])
    if checkpoint is not None:
        (victim,) = load_members([checkpoint])
        check_classes(victim.meta, dataset, f"{victim.label} ({checkpoint})")
    else:
        from avrobust.models.onnx_model import load_onnx

        model = load_onnx(onnx, dataset.num_classes, dataset.sample_rate)  # type: ignore[arg-type]
        victim = Member(Path(onnx).stem, model, (str(Path(onnx).resolve()),), {})  # type: ignore[arg-type]
    result = score_set(victim, adversarial, dataset, precision=check_precision(precision), show_progress=show_progress)
    if json_path is not None:
        write_transfer(result, json_path)
    return result
