"""The one training loop: optimiser, LR schedule, seeding, progress, checkpoints, resume, cost.

Every registered method plugs in through :class:`TrainingMethod`.
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

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from avrobust.checkpoint import read_meta
from avrobust.console import console, progress
from avrobust.cost import CostMeter
from avrobust.data import AVDataset
from avrobust.data.loader import stream
from avrobust.device import autocast, check_precision
from avrobust.defences.base import TrainingMethod, create_method
from avrobust.defences.optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule
from avrobust.defences.runstate import SUMMARY_FILE, TrainState, restore_state, run_summary, save_state
from avrobust.distributed import all_reduce_max, all_reduce_sum, context, gather_objects, wrap
from avrobust.errors import ConfigError
from avrobust.evaluation.clean import clean_counts
from avrobust.io import write_json
from avrobust.models.classifier import AVClassifier
from avrobust.models.finetune import freeze
from avrobust.results import TrainingResult
from avrobust.seeding import generator
from avrobust.types import AVBatch


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the loop (the method has its own).

    Attributes:
        epochs: passes over the training split; batch_size: clips per update.
        lr: peak learning rate; weight_decay: decoupled (AdamW) or L2 (SGD) decay.
        optimizer: ``adamw`` or ``sgd`` (momentum 0.9, Nesterov).
        schedule: ``cosine`` (per step, to 0 at the end) or ``constant``.
        warmup: epochs (may be fractional) over which every group's rate rises linearly from near 0 to its
            peak before the schedule proper starts; 0: none. It keeps a random head's first large gradients
            from rewriting pretrained features.
        seed: shuffling seed (the caller seeds the model's initialisation).
        eval_batch_size: clips per batch when measuring validation accuracy.
        checkpoint_every: also checkpoint every N updates within an epoch (0: after each epoch only);
            a resumed run continues from that update, with the same result as an uninterrupted one.
        robust_val: after every epoch, also PGD-10's robust accuracy on the first N validation clips
            (the method's budgets, else the defaults) as ``val_pgd_robust_accuracy``; 0: off. It shows
            catastrophic overfitting (robustness collapsing within an epoch) when it happens.
        precision: ``fp32``, ``bf16`` or ``fp16``: forward passes (crafting included) under autocast, with a
            gradient scaler for ``fp16``; weights, optimiser state and perturbations stay float32.
        compile: run the training forward passes through :func:`torch.compile`.
        workers: processes that prepare the next batches while the model trains (0: none; see
            :mod:`avrobust.data.loader`).
        trainable_blocks, backbone_lr: fine-tuning of pretrained backbones (:mod:`avrobust.models.finetune`):
            train only their last K blocks (0: frozen; None: all), at their own learning rate (None: a tenth of lr).
        fusion_lr: an attention fusion's mixing layers' learning rate (None: lr, as the heads).
    """

    epochs: int = 12
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    warmup: float = 0.0
    seed: int = 0
    eval_batch_size: int = 128
    checkpoint_every: int = 0
    robust_val: int = 0
    precision: str = "fp32"
    compile: bool = False
    workers: int = 0
    trainable_blocks: int | None = None
    backbone_lr: float | None = None
    fusion_lr: float | None = None

    def __post_init__(self) -> None:
        check_precision(self.precision)
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0, got {self.workers}")
        if self.backbone_lr is not None and not self.backbone_lr > 0:
            raise ConfigError(f"backbone learning rate must be > 0, got {self.backbone_lr}")
        if self.fusion_lr is not None and not self.fusion_lr > 0:
            raise ConfigError(f"fusion learning rate must be > 0, got {self.fusion_lr}")
        if self.robust_val < 0:
            raise ConfigError(f"robust_val must be >= 0 clips (0: off), got {self.robust_val}")
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
        if not 0 <= self.warmup < self.epochs:
            raise ConfigError(f"warmup must be >= 0 epochs and fewer than the {self.epochs} epochs, got {self.warmup}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; valid choices: {', '.join(SCHEDULES)}")


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
) -> TrainingResult:
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
    method = method or create_method("standard")
    meta = {**(meta or {}), "class_names": train_set.class_names, "data_spec": train_set.spec,
            "train_config": asdict(config), "method": method.name, "method_options": method.options()}
    model.check_batch(train_set.batch(slice(0, 1))[0])
    train_set.validate()
    ctx = context()
    if ctx.enabled and config.batch_size < ctx.world_size:
        raise ConfigError(f"--batch-size {config.batch_size} is smaller than the {ctx.world_size} processes; "
                          "each process needs at least one clip of every batch")
    loop = _Loop(model, train_set, val_set, config, Path(run_dir), method, meta, show_progress)
    if resume:
        loop.restore()
    first_epoch = loop.state.epoch
    for epoch in range(first_epoch, config.epochs):
        loop.epoch(epoch)
    saved_finish = read_meta(loop.run_dir).get("finish") if resume else None
    if saved_finish is not None and first_epoch == config.epochs:
        meta["finish"] = saved_finish  # the weights loaded are those after the final stage
    else:
        finished = method.finish(model, train_set, loop.device)
        if finished:
            if val_set is not None:
                finished.update(_validation(model, val_set, config, method))
            meta["finish"] = finished
            loop.save()
    summary = run_summary(meta, config, loop.state, model)
    write_json(loop.run_dir / SUMMARY_FILE, summary)
    return summary


def _validation(model: AVClassifier, val_set: AVDataset, config: TrainConfig, method: TrainingMethod) -> dict[str, float]:
    counts = clean_counts(model, val_set, config.eval_batch_size, precision=config.precision, missing=False)
    record = {f"val_{k}": v for k, v in counts.metrics().items() if k != "n"}
    if config.robust_val:
        from avrobust.attacks import create_attack
        from avrobust.evaluation.cascade import run_cascade

        attack = create_attack("pgd", getattr(method, "threat", None), steps=10)
        ran = run_cascade(model, val_set, [attack], batch_size=config.eval_batch_size,
                          indices=torch.arange(min(config.robust_val, len(val_set))), precision=config.precision)
        record["val_pgd_robust_accuracy"] = ran.attacks[attack.label].robust_accuracy
    return record


class _Loop:
    """One run's moving parts; :meth:`epoch` trains one epoch and checkpoints it."""

    def __init__(self, model: AVClassifier, train_set: AVDataset, val_set: AVDataset | None, config: TrainConfig,
                 run_dir: Path, method: TrainingMethod, meta: dict[str, Any], show_progress: bool) -> None:
        self.model, self.train_set, self.val_set, self.config = model, train_set, val_set, config
        self.run_dir, self.method, self.meta, self.show_progress = run_dir, method, meta, show_progress
        freeze(model, config.trainable_blocks)
        self.optimizer = make_optimizer(model, config.optimizer, config.lr, config.weight_decay, config.backbone_lr,
                                        config.fusion_lr)
        self.steps_per_epoch = train_set.num_batches(config.batch_size)
        # a method may update the weights several times per batch (free-at's replays)
        per_epoch = self.steps_per_epoch * method.replays
        self.schedule = make_schedule(self.optimizer, config.schedule, config.epochs * per_epoch,
                                      round(config.warmup * per_epoch))
        self.state = TrainState()
        self.device = next(model.parameters()).device
        self.net = wrap(model)  # DistributedDataParallel under torchrun, else the model itself
        if config.compile:
            self.net = torch.compile(self.net)
        self.scaler = torch.amp.GradScaler(self.device.type) if config.precision == "fp16" else None

    def save(self) -> None:
        self.state.scaler = None if self.scaler is None else self.scaler.state_dict()
        save_state(self.run_dir, self.model, self.optimizer, self.schedule, self.meta, self.state)

    def restore(self) -> None:
        self.state = restore_state(self.run_dir, self.model, self.optimizer, self.schedule, self.meta)
        if self.scaler is not None and self.state.scaler:
            self.scaler.load_state_dict(self.state.scaler)

    def epoch(self, epoch: int) -> None:
        config, ctx, state = self.config, context(), self.state
        epoch_seed = config.seed * 100_003 + epoch
        logged = self.method.start_epoch(self.model, epoch, config.epochs, seed=epoch_seed + 1)
        skip = state.step if epoch == state.epoch else 0  # updates done before a mid-epoch checkpoint
        within = state.partial[ctx.rank] if skip else None  # this process's state at that checkpoint
        if within is not None:
            self.method.load_state_dict(within["method"])
            torch.set_rng_state(torch.tensor(within["torch_rng"], dtype=torch.uint8))
        self.net.train()
        start = time.perf_counter() - (within["seconds"] if within else 0.0)
        loss_sum, seen = (within["loss_sum"], within["seen"]) if within else (0.0, 0)
        # the epoch's full order (the same shuffle as an uninterrupted run), less the updates already done
        chunks = self.train_set.batch_indices(config.batch_size, shuffle=True, generator=generator(epoch_seed))[skip:]
        with CostMeter(self.model) as meter:
            if within is not None:
                meter.forward_passes, meter.backward_passes, meter.forward_segments = within["passes"]
            # every process takes its share of the same global batch; a last batch too small to split is left out
            work = [(step, chunk[ctx.rank :: ctx.world_size] if ctx.enabled else chunk)
                    for step, chunk in enumerate(chunks, start=skip) if not (ctx.enabled and len(chunk) < ctx.world_size)]
            batches = stream(self.train_set, [c for _, c in work], self.device, workers=config.workers)
            for (step, chunk), (batch, labels) in progress(zip(work, batches), total=len(work), enabled=self.show_progress,
                                                           description=f"epoch {epoch + 1}/{config.epochs}"):
                loss_sum, seen = self._update(chunk, batch, labels, epoch, loss_sum, seen)
                if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 \
                        and step + 1 < self.steps_per_epoch:
                    snapshot = {"loss_sum": loss_sum, "seen": seen, "seconds": time.perf_counter() - start,
                                "passes": [meter.forward_passes, meter.backward_passes, meter.forward_segments],
                                "method": self.method.state_dict(), "torch_rng": torch.get_rng_state().tolist()}
                    state.epoch, state.step, state.partial = epoch, step + 1, gather_objects(snapshot)
                    self.save()
        seconds = all_reduce_max(time.perf_counter() - start)
        passes = all_reduce_sum(torch.tensor([meter.forward_passes, meter.backward_passes, meter.forward_segments, seen]))
        loss_sum = float(all_reduce_sum(torch.tensor([loss_sum], dtype=torch.float64))[0])
        f_passes, b_passes, f_segments, seen = (int(v) for v in passes)
        record: dict[str, Any] = {"epoch": epoch + 1, "seconds": round(seconds, 3), "loss": loss_sum / max(seen, 1),
                                  "lr": self.optimizer.param_groups[0]["lr"], "forward_passes": f_passes,
                                  "backward_passes": b_passes, "forward_segments": f_segments, **logged}
        if self.val_set is not None:
            record.update(_validation(self.model, self.val_set, config, self.method))
        state.history.append(record)
        state.forward, state.backward = state.forward + f_passes, state.backward + b_passes
        state.epoch, state.step, state.partial = epoch + 1, 0, None
        self.save()
        if self.show_progress:
            console.print(_epoch_line(record))

    def _update(self, chunk: torch.Tensor, batch: AVBatch, labels: torch.Tensor, epoch: int, loss_sum: float,
                seen: int) -> tuple[float, int]:
        batch, labels = batch.to(self.device), labels.to(self.device)
        self.method.clip_ids = chunk
        total = 0.0
        for _ in range(self.method.replays):
            with autocast(self.device, self.config.precision):
                loss = self.method.loss(self.net, batch, labels)
            if not torch.isfinite(loss):
                raise ConfigError(f"the training loss became {loss.item()} in epoch {epoch + 1}; lower --lr")
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is None:
                loss.backward()
                self.optimizer.step()
            else:  # fp16: scale the loss so small gradients survive; steps with inf/nan gradients are skipped
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            self.schedule.step()
            total += float(loss.detach())
        return loss_sum + total / self.method.replays * labels.numel(), seen + labels.numel()


def _epoch_line(record: dict[str, Any]) -> str:
    parts = [f"epoch {record['epoch']}", f"loss {record['loss']:.3f}", f"{record['seconds']:.1f}s"]
    if "val_clean_accuracy" in record:
        parts.append(f"val acc {record['val_clean_accuracy']:.3f} (audio {record['val_audio_only_accuracy']:.3f}, "
                     f"visual {record['val_visual_only_accuracy']:.3f})")
    return "  ".join(parts)
