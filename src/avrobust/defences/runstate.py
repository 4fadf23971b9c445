"""A training run's state on disk: the run directory, :class:`TrainState` checkpoints and the summary.

A run directory holds ``checkpoint.safetensors`` (model, optimiser, LR schedule, RNG states and the
:class:`TrainState`, written atomically), ``checkpoint.json`` and ``summary.json``. Resuming checks
that the run was made with the same data, model, method and settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from avrobust.checkpoint import (
    CHECKPOINT_FILE,
    META_FILE,
    load_weights,
    load_optimizer_state,
    optimizer_state,
    read_meta,
    save_checkpoint,
)
from avrobust.distributed import barrier, context, is_main
from avrobust.errors import CheckpointError, ConfigError
from avrobust.io import check_writable
from avrobust.models.classifier import AVClassifier
from avrobust.results import TrainingResult
from avrobust.device import describe
from avrobust.seeding import capture_rng, restore_rng

SUMMARY_FILE = "summary.json"
RUN_FILES = (CHECKPOINT_FILE, META_FILE, SUMMARY_FILE)
CURRICULUM_KEYS = ("epoch", "rho", "mask_ratio", "mask_synchronous", "dropout", "attack_steps")
Schedule = torch.optim.lr_scheduler.LRScheduler


@dataclass
class TrainState:
    """Where a run stands.

    Attributes:
        epoch: complete epochs; step: updates done in the next epoch (a mid-epoch checkpoint);
        partial: at a mid-epoch checkpoint, each process's running sums, method generators and RNG state;
        history: one record per complete epoch; forward, backward: training passes so far, in clips;
        scaler: the fp16 gradient scaler's state (None in other precisions).
    """

    epoch: int = 0
    step: int = 0
    partial: list[dict[str, Any]] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    forward: int = 0
    backward: int = 0
    scaler: dict[str, Any] | None = None


def prepare_run_dir(run_dir: str | Path, *, overwrite: bool = False, resume: bool = False) -> Path:
    """Refuse to reuse a run directory unless ``overwrite`` or ``resume``; with ``overwrite``
    only the files avrobust writes are removed (anything else there is kept)."""
    run_dir = Path(run_dir)
    if overwrite and resume:
        raise ConfigError("choose one of --overwrite and --resume")
    existing = [f for f in RUN_FILES if (run_dir / f).exists()]
    if existing and not (overwrite or resume):
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it or --overwrite to replace it")
    if resume and not (run_dir / CHECKPOINT_FILE).exists():
        raise CheckpointError(f"nothing to resume: {run_dir / CHECKPOINT_FILE} does not exist")
    check_writable(run_dir)
    if overwrite and is_main():
        for f in existing:
            (run_dir / f).unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    barrier()  # under torchrun: no process starts before rank 0 has cleared the directory
    return run_dir


def save_state(run_dir: Path, model: AVClassifier, optimizer: torch.optim.Optimizer, schedule: Schedule,
               meta: dict[str, Any], state: TrainState) -> None:
    """Checkpoint the model with the optimiser, schedule, RNG states and ``state``."""
    tensors, optim_meta = optimizer_state(optimizer)
    rng_tensors, rng_values = capture_rng()
    save_checkpoint(run_dir, model, {
        **meta, "epoch": state.epoch, "step": state.step, "metrics": final_metrics(meta, state.history),
        "history": state.history,
        "training_state": {"optimizer": optim_meta, "schedule": schedule.state_dict(), "partial": state.partial,
                           "forward_passes": state.forward, "backward_passes": state.backward,
                           "scaler": state.scaler, **rng_values},
    }, tensors | rng_tensors)


def restore_state(run_dir: Path, model: AVClassifier, optimizer: torch.optim.Optimizer, schedule: Schedule,
                  meta: dict[str, Any]) -> TrainState:
    """Load a run's checkpoint into the model, optimiser, schedule and RNGs; refuse other settings."""
    saved = read_meta(run_dir)
    for key in ("data_spec", "class_names", "method", "model_name"):
        if saved.get(key) != meta.get(key):
            raise CheckpointError(f"cannot resume: the run in {run_dir} has {key} {saved.get(key)!r}, "
                                  f"this command has {meta.get(key)!r}")
    if saved["model_config"] != json.loads(json.dumps(model.config.to_dict())):
        raise CheckpointError(f"cannot resume: the run in {run_dir} used another model configuration")
    old, new = saved["train_config"], meta["train_config"]
    changed = sorted(k for k in new if k not in ("epochs", "checkpoint_every", "compile", "workers") and old.get(k, new[k]) != new[k])
    if changed:
        raise CheckpointError(f"cannot resume: {', '.join(changed)} differ from the run in {run_dir}; "
                              "resume with the original settings")
    if old["epochs"] != new["epochs"] and (new["schedule"] != "constant" or new["warmup"]):
        raise CheckpointError(f"cannot resume with --epochs {new['epochs']} (the run planned {old['epochs']}) under "
                              f"the {new['schedule']} schedule{' with warm-up' if new['warmup'] else ''}; "
                              "use the original --epochs")
    if "training_state" not in saved:
        raise CheckpointError(f"cannot resume: {run_dir} holds weights only, no training state")
    ckpt = load_weights(model, run_dir, with_state=True)
    model.train()
    values = saved["training_state"]
    load_optimizer_state(optimizer, ckpt.state, values["optimizer"])
    if old["epochs"] == new["epochs"]:
        schedule.load_state_dict(values["schedule"])
    restore_rng(ckpt.state, values)
    step, partial = int(saved.get("step", 0)), values.get("partial")
    if step and (partial is None or len(partial) != context().world_size):
        raise CheckpointError(f"cannot resume: the run in {run_dir} stopped within an epoch with "
                              f"{len(partial or [])} processes; resume it with as many")
    return TrainState(int(saved["epoch"]), step, partial, list(saved["history"]), int(values["forward_passes"]),
                      int(values["backward_passes"]), values.get("scaler"))


def final_metrics(meta: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Validation metrics of the final model: after the method's final stage when it ran one."""
    for source in (meta.get("finish") or {}, history[-1] if history else {}):
        metrics = {k[4:]: v for k, v in source.items() if k.startswith("val_")}
        if metrics:
            return metrics
    return {}


def run_summary(meta: dict[str, Any], config: Any, state: TrainState, model: AVClassifier) -> TrainingResult:
    """The run's ``summary.json``."""
    history = state.history
    seconds = [h["seconds"] for h in history]
    return TrainingResult(
        model=meta.get("model_name", ""), model_config=model.config.to_dict(), data_spec=meta["data_spec"],
        method=meta["method"], method_options=meta["method_options"], train_config=asdict(config),
        epochs=len(history), seconds_per_epoch=sum(seconds) / max(len(seconds), 1), total_train_seconds=sum(seconds),
        device=describe(next(model.parameters()).device),
        forward_passes=state.forward, backward_passes=state.backward,
        forward_segments=sum(h.get("forward_segments", 0) for h in history),
        curriculum=[{k: h[k] for k in CURRICULUM_KEYS if k in h} for h in history
                    if any(k in h for k in CURRICULUM_KEYS[1:])],
        final_stage=meta.get("finish"), metrics=final_metrics(meta, history), history=history,
        pretrained=meta.get("pretrained", []))
