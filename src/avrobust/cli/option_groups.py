"""The CLI's shared option groups: budgets (``--eps-video`` ...) and training settings (``--lr`` ...),
each given to a command as one argument built from the flags."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from avrobust.attacks import ATTACKS
from avrobust.cli import help as texts
from avrobust.errors import ConfigError

DATA_HELP = texts.DATA


def _number(text: Optional[str], flag: str) -> Optional[float]:
    """Read ``0.03``, ``8/255`` or ``None``."""
    if text is None:
        return None
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"{flag} must be a number such as 0.01 or 8/255, got {text!r}") from None


THREAT_OPTIONS: dict[str, tuple[Any, Any]] = {
    "eps_video": (Optional[str], typer.Option(None, help="Video budget in [0,1] units, e.g. 8/255 (default 8/255).")),
    "eps_audio": (Optional[str], typer.Option(None, help="Audio budget in waveform units (default 0.01).")),
    "norm_video": (Optional[str], typer.Option(None, help=texts.NORM)),
    "norm_audio": (Optional[str], typer.Option(None, help=texts.NORM)),
    "step_video": (Optional[str], typer.Option(None, help="Video step size (default: each attack's rule).")),
    "step_audio": (Optional[str], typer.Option(None, help="Audio step size (default: each attack's rule).")),
    "modalities": (str, typer.Option("video,audio", help=texts.MODALITY)),
    "joint_l2": (Optional[str], typer.Option(None, help="CRMT's protocol: one L2 budget over both modalities' "
                                             "perturbations together (replaces --eps-*/--norm-*; "
                                             f"{texts.listing(n for n in ATTACKS if ATTACKS.get(n).joint_capable)} take "
                                             "it; fgsm is then FGM).")),
}

RUN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "data": (str, typer.Option("synth", help=DATA_HELP)),
    "model": (Optional[str], typer.Option(None, help=texts.MODEL + " Or your own: package.module:FACTORY.")),
    "model_file": (Optional[str], typer.Option(None, help="Your own model: PATH.py:FACTORY, a function returning an "
                                               "nn.Module (called with num_classes, sample_rate if it takes them); "
                                               "see examples/own_model.py.")),
    "wrap": (Optional[Path], typer.Option(None, help="How to wrap your model (TOML or YAML: video_layout, inputs, "
                                          "video_mean/std, audio_frontend, logits, heads, features; "
                                          "examples/own_model.toml).")),
    "out": (Path, typer.Option(..., help="Run directory (checkpoint, summary.json).")),
    "epochs": (int, typer.Option(12, min=1)),
    "seed": (int, typer.Option(0, help="Seeds initialisation, shuffling and (adversarial methods) random starts and "
                               "segment sampling.")),
    "width": (Optional[int], typer.Option(None, min=1, help="Encoder width (default 8; 64 is ResNet-18's standard).")),
    "dropout": (Optional[float], typer.Option(None, min=0.0, max=0.99, help="Zoo models: dropout probability in the "
                                               "encoders' features and the fusion (default 0).")),
    "pretrained": (Optional[Path], typer.Option(None, help="Local torchvision/timm ResNet-18 weights (.pth or "
                                                "'.safetensors') for the visual branch of a resnet18-* model.")),
    "pretrained_audio": (Optional[Path], typer.Option(None, help="The same for the audio branch (RGB conv1 "
                                                      "averaged to 1 channel).")),
    "init": (Optional[Path], typer.Option(None, help="Start from the weights of this run directory (the same model "
                                          "and classes): adversarial fine-tuning of a trained model.")),
    "json": (Optional[Path], typer.Option(None, "--json", help="Also write the run summary here.")),
    "overwrite": (bool, typer.Option(False, help="Replace a run already in --out.")),
    "resume": (bool, typer.Option(False, help="Continue the run in --out from its last checkpoint.")),
}

COMPUTE_OPTIONS: dict[str, tuple[Any, Any]] = {
    "device": (Optional[str], typer.Option(None, help=texts.DEVICE)),
    "precision": (str, typer.Option("fp32", help=texts.PRECISION)),
}

TRAIN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "batch_size": (int, typer.Option(32, min=1)),
    "lr": (float, typer.Option(3e-3, help="Peak learning rate.")),
    "weight_decay": (float, typer.Option(1e-4)),
    "optimizer": (str, typer.Option("adamw", help=texts.OPTIMIZER)),
    "schedule": (str, typer.Option("cosine", help=texts.SCHEDULE)),
    "warmup": (float, typer.Option(0.0, min=0.0, help="Epochs (may be fractional) of linear learning-rate warm-up "
                                   "before the schedule (0: none).")),
    "deterministic": (bool, typer.Option(False, help="Deterministic algorithms only (with --seed: repeatable bit "
                                               "for bit).")),
    "checkpoint_every": (int, typer.Option(0, min=0, help="Also checkpoint every N updates within an epoch "
                                           "(0: after each epoch); --resume continues from there exactly.")),
    "robust_val": (int, typer.Option(0, min=0, help="After every epoch, also PGD-10 robust accuracy on the first N "
                                     "validation clips (shows catastrophic overfitting; 0: off).")),
    "trainable_blocks": (Optional[int], typer.Option(None, min=0, help="Pretrained backbones: train only their last N "
                                                     "blocks (0: frozen; default: all).")),
    "backbone_lr": (Optional[float], typer.Option(None, help="Pretrained backbones' learning rate (default: a tenth of --lr).")),
    "fusion_lr": (Optional[float], typer.Option(None, help="Attention fusions' mixing layers' learning rate "
                                                "(bottleneck, xattn; default: --lr).")),
    "workers": (int, typer.Option(0, min=0, help="Processes that prepare the next batches while the model trains "
                                  "(pinned and copied without blocking on a GPU; 0: none).")),
    "compile": (bool, typer.Option(False, "--compile", help="Run the training forward passes through torch.compile "
                                   "(benchmarks/RESULTS.md says where it helps).")),
}


def bundle_options(options: dict[str, tuple[Any, Any]], into: str,
                   build: Callable[[dict[str, Any]], Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator giving a command the ``options`` (name -> (type, typer.Option)); the command receives
    them as one argument ``into``, made by ``build`` from their values."""

    def deco(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            kwargs[into] = build({k: kwargs.pop(k) for k in options})
            command(*args, **kwargs)

        sig = inspect.signature(command)
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
                 for k, (kind, opt) in options.items()]
        wrapper.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != into] + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {k: v for k, v in typing.get_type_hints(command).items() if k != into}
        wrapper.__annotations__.update({p.name: p.annotation for p in extra})
        del wrapper.__wrapped__  # typer must read the new signature, not the wrapped one
        return wrapper

    return deco


def _build_threat(opts: dict[str, Any]) -> Any:
    from avrobust.attacks import ThreatModel

    numbers = {k: _number(opts[k], "--" + k.replace("_", "-")) for k in ("eps_video", "eps_audio", "step_video", "step_audio")}
    return ThreatModel.build(opts["modalities"], norm_video=opts["norm_video"], norm_audio=opts["norm_audio"],
                             joint_l2=_number(opts["joint_l2"], "--joint-l2"), **numbers)


def _build_compute(opts: dict[str, Any]) -> Any:
    from avrobust.device import Compute, choose

    choose(opts["device"])  # checked now: --device cuda without CUDA is one line
    return Compute(opts["precision"])


threat_options = bundle_options(THREAT_OPTIONS, "threat", _build_threat)
compute_options = bundle_options(COMPUTE_OPTIONS, "compute", _build_compute)
train_options = bundle_options(TRAIN_OPTIONS, "train_options", dict)


def _build_run(opts: dict[str, Any]) -> dict[str, Any]:
    """The run options as :func:`avrobust.jobs.train_model` takes them: ``--model`` or ``--model-file``."""
    model, model_file = opts.pop("model"), opts.pop("model_file")
    if (model is None) == (model_file is None):
        raise ConfigError("give --model (a zoo model, or package.module:FACTORY) or --model-file PATH.py:FACTORY: "
                          "exactly one")
    if model_file is not None and not model_file.rpartition(":")[0].endswith(".py"):
        raise ConfigError(f"--model-file {model_file!r}: give PATH.py:FACTORY (for a module: --model module:FACTORY)")
    opts["wrap_config"] = opts.pop("wrap")
    return {("json_path" if k == "json" else k): v for k, v in opts.items()} | {"model": model or model_file}


run_options = bundle_options(RUN_OPTIONS, "run", _build_run)
