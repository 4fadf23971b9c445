"""Typed library functions behind the CLI commands (the CLI only parses and prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avrobust.checkpoint import write_json
from avrobust.data import load_dataset
from avrobust.defenses import TrainConfig, create_method, prepare_run_dir, train
from avrobust.models import ZOO, create_model
from avrobust.seeding import seed_everything
from avrobust.specs import parse_spec


def train_model(
    data: str,
    model: str,
    out: str | Path,
    *,
    epochs: int = 12,
    seed: int = 0,
    method: str = "standard",
    width: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    json_path: str | Path | None = None,
    show_progress: bool = True,
    **train_options: Any,
) -> dict[str, Any]:
    """Train zoo model ``model`` on ``data`` into run directory ``out``; return the run summary.

    Args:
        data: dataset spec (``synth:classes=6``); model: zoo name or alias.
        method: training-method spec (``standard:unimodal_weight=0.5``).
        width: encoder width override; train_options: other :class:`TrainConfig` fields.
    """
    name = ZOO.canonical(model)
    method_name, method_options = parse_spec(method)
    trainer_method = create_method(method_name, **method_options)
    config = TrainConfig(epochs=epochs, seed=seed, **train_options)
    train_set = load_dataset(data, "train")
    val_set = load_dataset(data, "val")
    run_dir = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    seed_everything(seed)
    overrides = {} if width is None else {"width": width}
    net = create_model(name, train_set.num_classes, train_set.sample_rate, **overrides)
    summary = train(net, train_set, val_set, config, run_dir, method=trainer_method,
                    meta={"model_name": name}, resume=resume, show_progress=show_progress)
    summary["run_dir"] = str(run_dir)
    if json_path:
        write_json(json_path, summary)
    return summary
