"""The one training loop: optimiser, LR schedule, seeding, progress, checkpoints, resume, cost.

Every method (standard, mixup, pgd-at, trades, crmt-at, avat) plugs in through :class:`TrainingMethod`.
A run directory holds ``checkpoint.safetensors`` (written atomically after every epoch, with the
model, optimiser, LR schedule, epoch, cost counters and the torch, CUDA, numpy and python RNG
states), ``checkpoint.json`` and ``summary.json``. The curriculum and every method's generators are
functions of (seed, epoch), so a run killed at any point and resumed from its last checkpoint redoes
the interrupted epoch exactly and ends with the same weights, bit for bit on CPU; with
``checkpoint_every`` a checkpoint also holds each process's generators and running sums within an
epoch, and the resumed run continues from that update. Under torchrun the
model is wrapped in DistributedDataParallel and each process trains on its share of every batch.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avrobust.checkpoint import (
    CHECKPOINT_FILE,
    META_FILE,
    read_meta,
    load_checkpoint,
    load_optimizer_state,
    optimizer_state,
    save_checkpoint,
    write_json,
)
from avrobust.console import console, progress
from avrobust.cost import CostMeter
from avrobust.data import AVDataset
from avrobust.defenses.base import TrainingMethod, create_method
from avrobust.distributed import all_reduce_max, all_reduce_sum, barrier, context, gather_objects, is_main, wrap
from avrobust.errors import CheckpointError, ConfigError
from avrobust.evaluation.runner import SCHEMA_VERSION, clean_counts
from avrobust.models.classifier import AVClassifier, ModelConfig
from avrobust.seeding import generator

SUMMARY_FILE = "summary.json"
RUN_FILES = (CHECKPOINT_FILE, META_FILE, SUMMARY_FILE)
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")
CURRICULUM_KEYS = ("epoch", "rho", "mask_ratio", "mask_synchronous", "dropout", "attack_steps")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the loop (the method has its own).

    Attributes:
        epochs: passes over the training split; batch_size: clips per update.
        lr: peak learning rate; weight_decay: decoupled (AdamW) or L2 (SGD) decay.
        optimizer: ``adamw`` or ``sgd`` (momentum 0.9, Nesterov).
        schedule: ``cosine`` (per step, to 0 at the end) or ``constant``.
        seed: shuffling seed (the caller seeds the model's initialisation).
        eval_batch_size: clips per batch when measuring validation accuracy.
        checkpoint_every: also checkpoint every N updates within an epoch (0: after each epoch only);
            a resumed run continues from that update, with the same result as an uninterrupted one.
    """

    epochs: int = 12
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    seed: int = 0
    eval_batch_size: int = 128
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        if self.checkpoint_every < 0:
            raise ConfigError(f"checkpoint_every must be >= 0 (0: once per epoch), got {self.checkpoint_every}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError("batch sizes must be >= 1")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; valid choices: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; valid choices: {', '.join(SCHEDULES)}")


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
    if overwrite and is_main():
        for f in existing:
            (run_dir / f).unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    barrier()  # under torchrun: no process starts before rank 0 has cleared the directory
    return run_dir


def _make_optimizer(model: AVClassifier, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, nesterov=True,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _make_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def train(
    model: AVClassifier,
    train_set: AVDataset,
    val_set: AVDataset | None,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    method: TrainingMethod | None = None,
    meta: dict[str, Any] | None = None,
    resume: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Train ``model`` in place, checkpoint every epoch, and return the run summary.

    Args:
        model: a freshly built classifier (or the same architecture when resuming).
        train_set, val_set: splits; validation accuracy is measured after every epoch.
        config: loop hyper-parameters; method: defaults to ``standard``.
        run_dir: prepared with :func:`prepare_run_dir`.
        meta: extra checkpoint metadata (``model_name``, ``data_spec``...).
        resume: continue from the checkpoint in ``run_dir`` (same model, data and config).

    Returns:
        The summary written to ``RUN_DIR/summary.json``: ``seconds_per_epoch``, ``epochs``,
        ``forward_passes``, ``backward_passes`` (training only, in clips), ``metrics`` (validation,
        last epoch) and ``history`` (per epoch).
    """
    run_dir = Path(run_dir)
    method = method or create_method("standard")
    meta = {**(meta or {}), "class_names": train_set.class_names, "data_spec": train_set.spec,
            "train_config": asdict(config), "method": method.name, "method_options": method.options()}
    model.check_batch(train_set.batch(slice(0, 1))[0])
    train_set.validate()
    optimizer = _make_optimizer(model, config)
    steps_per_epoch = train_set.num_batches(config.batch_size)
    schedule = _make_schedule(optimizer, config, config.epochs * steps_per_epoch)
    history: list[dict[str, Any]] = []
    forward = backward = 0
    first_epoch, first_step, partial = 0, 0, None
    if resume:
        first_epoch, first_step, partial, history, forward, backward = _restore(run_dir, model, optimizer, schedule, meta)

    device = next(model.parameters()).device
    ctx = context()
    if ctx.enabled and config.batch_size < ctx.world_size:
        raise ConfigError(f"--batch-size {config.batch_size} is smaller than the {ctx.world_size} processes; "
                          "each process needs at least one clip of every batch")
    net = wrap(model)  # DistributedDataParallel under torchrun, else the model itself
    for epoch in range(first_epoch, config.epochs):
        epoch_seed = config.seed * 100_003 + epoch
        logged = method.start_epoch(model, epoch, config.epochs, seed=epoch_seed + 1)
        skip = first_step if epoch == first_epoch else 0  # updates done before a mid-epoch checkpoint
        within = partial[ctx.rank] if skip else None  # this process's state at that checkpoint
        if within is not None:
            method.load_state_dict(within["method"])
            torch.set_rng_state(torch.tensor(within["torch_rng"], dtype=torch.uint8))
        net.train()
        start = time.perf_counter() - (within["seconds"] if within else 0.0)
        loss_sum, seen = (within["loss_sum"], within["seen"]) if within else (0.0, 0)
        # the epoch's full order (the same shuffle as an uninterrupted run), less the updates already done
        chunks = train_set.batch_indices(config.batch_size, shuffle=True, generator=generator(epoch_seed))[skip:]
        with CostMeter(model) as meter:
            if within is not None:
                meter.forward_passes, meter.backward_passes, meter.forward_segments = within["passes"]
            for step, chunk in enumerate(progress(chunks, total=len(chunks), description=f"epoch {epoch + 1}/{config.epochs}",
                                                  enabled=show_progress), start=skip):
                if ctx.enabled:  # every process takes its share of the same global batch
                    if len(chunk) < ctx.world_size:
                        continue  # a last batch too small to split is left out (the same on every process)
                    chunk = chunk[ctx.rank :: ctx.world_size]
                batch, labels = train_set.batch(chunk)
                batch, labels = batch.to(device), labels.to(device)
                loss = method.loss(net, batch, labels)
                if not torch.isfinite(loss):
                    raise ConfigError(f"the training loss became {loss.item()} in epoch {epoch + 1}; lower --lr")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                loss_sum += float(loss.detach()) * labels.numel()
                seen += labels.numel()
                if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < steps_per_epoch:
                    snapshot = {"loss_sum": loss_sum, "seen": seen, "seconds": time.perf_counter() - start,
                                "passes": [meter.forward_passes, meter.backward_passes, meter.forward_segments],
                                "method": method.state_dict(), "torch_rng": torch.get_rng_state().tolist()}
                    _save(run_dir, model, optimizer, schedule, meta, epoch, history, forward, backward,
                          step=step + 1, partial=gather_objects(snapshot))
        seconds = all_reduce_max(time.perf_counter() - start)
        passes = all_reduce_sum(torch.tensor([meter.forward_passes, meter.backward_passes, meter.forward_segments, seen]))
        loss_sum = float(all_reduce_sum(torch.tensor([loss_sum], dtype=torch.float64))[0])
        f_passes, b_passes, f_segments, seen = (int(v) for v in passes)
        forward += f_passes
        backward += b_passes
        record: dict[str, Any] = {"epoch": epoch + 1, "seconds": round(seconds, 3), "loss": loss_sum / max(seen, 1),
                                  "lr": optimizer.param_groups[0]["lr"], "forward_passes": f_passes,
                                  "backward_passes": b_passes, "forward_segments": f_segments, **logged}
        if val_set is not None:
            record.update({f"val_{k}": v for k, v in clean_counts(model, val_set, config.eval_batch_size).metrics().items()
                           if k != "n"})
        history.append(record)
        _save(run_dir, model, optimizer, schedule, meta, epoch + 1, history, forward, backward)
        if show_progress:
            console.print(_epoch_line(record))
    saved_finish = read_meta(run_dir).get("finish") if resume else None
    if saved_finish is not None and first_epoch == config.epochs:
        meta["finish"] = saved_finish  # the weights loaded are those after the final stage
    else:
        finished = method.finish(model, train_set, device)
        if finished:
            if val_set is not None:
                finished.update({f"val_{k}": v for k, v in
                                 clean_counts(model, val_set, config.eval_batch_size).metrics().items() if k != "n"})
            meta["finish"] = finished
            _save(run_dir, model, optimizer, schedule, meta, config.epochs, history, forward, backward)
    summary = _summary(meta, config, history, forward, backward, model)
    write_json(run_dir / SUMMARY_FILE, summary)
    return summary


def _epoch_line(record: dict[str, Any]) -> str:
    parts = [f"epoch {record['epoch']}", f"loss {record['loss']:.3f}", f"{record['seconds']:.1f}s"]
    if "val_clean_accuracy" in record:
        parts.append(f"val acc {record['val_clean_accuracy']:.3f} (audio {record['val_audio_only_accuracy']:.3f}, "
                     f"visual {record['val_visual_only_accuracy']:.3f})")
    return "  ".join(parts)


def _save(run_dir: Path, model: AVClassifier, optimizer: torch.optim.Optimizer,
          schedule: torch.optim.lr_scheduler.LRScheduler, meta: dict[str, Any], epoch: int,
          history: list[dict[str, Any]], forward: int, backward: int, *, step: int = 0,
          partial: list[dict[str, Any]] | None = None) -> None:
    """Checkpoint after ``epoch`` complete epochs and ``step`` updates of the next; ``partial`` holds
    each process's accumulators, method generators and RNG state within that epoch."""
    tensors, optim_meta = optimizer_state(optimizer)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors |= {f"rng.cuda.{i}": t for i, t in enumerate(torch.cuda.get_rng_state_all())}
    np_state = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    py_state = random.getstate()
    metrics = _final_metrics(meta, history)
    save_checkpoint(run_dir, model, {
        **meta, "epoch": epoch, "step": step, "metrics": metrics, "history": history,
        "training_state": {"optimizer": optim_meta, "schedule": schedule.state_dict(), "partial": partial,
                           "forward_passes": forward, "backward_passes": backward,
                           "rng_numpy": [np_state[0], *(int(v) for v in np_state[2:4]), float(np_state[4])],
                           "rng_python": [py_state[0], list(py_state[1]), py_state[2]]},
    }, tensors)


def _restore(run_dir: Path, model: AVClassifier, optimizer: torch.optim.Optimizer,
             schedule: torch.optim.lr_scheduler.LRScheduler,
             meta: dict[str, Any]) -> tuple[int, int, list[dict[str, Any]] | None, list[dict[str, Any]], int, int]:
    ckpt = load_checkpoint(run_dir, with_state=True)
    saved = ckpt.meta
    for key in ("data_spec", "class_names", "method", "model_name"):
        if saved.get(key) != meta.get(key):
            raise CheckpointError(f"cannot resume: the run in {run_dir} has {key} {saved.get(key)!r}, "
                                  f"this command has {meta.get(key)!r}")
    if ModelConfig.from_dict(saved["model_config"]) != model.config:
        raise CheckpointError(f"cannot resume: the run in {run_dir} used another model configuration")
    old, new = saved["train_config"], meta["train_config"]
    changed = sorted(k for k in new if k not in ("epochs", "checkpoint_every") and old.get(k, new[k]) != new[k])
    if changed:
        raise CheckpointError(f"cannot resume: {', '.join(changed)} differ from the run in {run_dir}; "
                              "resume with the original settings")
    if old["epochs"] != new["epochs"] and new["schedule"] != "constant":
        raise CheckpointError(f"cannot resume with --epochs {new['epochs']} (the run planned {old['epochs']}) under "
                              f"the {new['schedule']} schedule; use the original --epochs")
    if "training_state" not in saved:
        raise CheckpointError(f"cannot resume: {run_dir} holds weights only, no training state")
    model.load_state_dict(ckpt.model.state_dict())
    state = saved["training_state"]
    load_optimizer_state(optimizer, ckpt.state, state["optimizer"])
    if old["epochs"] == new["epochs"]:
        schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(ckpt.state["rng.torch"])
    cuda_states = [ckpt.state[k] for k in sorted(ckpt.state) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    if "rng.numpy" in ckpt.state and "rng_numpy" in state:
        name, pos, has_gauss, cached = state["rng_numpy"]
        np.random.set_state((name, ckpt.state["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    if "rng_python" in state:
        version, internal, gauss = state["rng_python"]
        random.setstate((version, tuple(internal), gauss))
    step, partial = int(saved.get("step", 0)), state.get("partial")
    if step and (partial is None or len(partial) != context().world_size):
        raise CheckpointError(f"cannot resume: the run in {run_dir} stopped within an epoch with "
                              f"{len(partial or [])} processes; resume it with as many")
    return (int(saved["epoch"]), step, partial, list(saved["history"]), int(state["forward_passes"]),
            int(state["backward_passes"]))


def _final_metrics(meta: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Validation metrics of the final model: after the method's final stage when it ran one."""
    for source in (meta.get("finish") or {}, history[-1] if history else {}):
        metrics = {k[4:]: v for k, v in source.items() if k.startswith("val_")}
        if metrics:
            return metrics
    return {}


def _summary(meta: dict[str, Any], config: TrainConfig, history: list[dict[str, Any]], forward: int,
             backward: int, model: AVClassifier) -> dict[str, Any]:
    seconds = [h["seconds"] for h in history]
    metrics = _final_metrics(meta, history)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": meta.get("model_name", ""),
        "model_config": model.config.to_dict(),
        "data_spec": meta["data_spec"],
        "method": meta["method"],
        "method_options": meta["method_options"],
        "train_config": asdict(config),
        "epochs": len(history),
        "seconds_per_epoch": sum(seconds) / max(len(seconds), 1),
        "total_train_seconds": sum(seconds),
        "forward_passes": forward,
        "backward_passes": backward,
        "forward_segments": sum(h.get("forward_segments", 0) for h in history),
        "curriculum": [{k: h[k] for k in CURRICULUM_KEYS if k in h} for h in history
                       if any(k in h for k in CURRICULUM_KEYS[1:])],
        "final_stage": meta.get("finish"),
        "metrics": metrics,
        "history": history,
    }
