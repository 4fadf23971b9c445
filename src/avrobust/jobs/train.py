"""``avrobust train``, ``adv-train`` and ``train-zoo``: train zoo models into run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avrobust.attacks.threat import ThreatModel
from avrobust.checkpoint import CHECKPOINT_FILE, check_classes, load_weights as load_run_weights, read_meta
from avrobust.console import console
from avrobust.data import load_dataset
from avrobust.defences import TrainConfig, create_method, method_for, prepare_run_dir, train
from avrobust.defences.runstate import SUMMARY_FILE
from avrobust.distributed import default_device
from avrobust.errors import ConfigError
from avrobust.io import claim_dir
from avrobust.models import ZOO, create_model, list_models
from avrobust.models.custom import build, is_factory, source_of
from avrobust.models.pretrained import describe, load_branch, load_pretrained
from avrobust.results import TrainingResult, ZooEntry, ZooResult, read_result
from avrobust.runtime import release_memory
from avrobust.seeding import seed_everything
from avrobust.specs import parse_spec
from avrobust.weights import load as load_weights


def train_model(
    data: str,
    model: str,
    out: str | Path,
    *,
    epochs: int = 12,
    seed: int = 0,
    method: str = "standard",
    threat: ThreatModel | None = None,
    width: int | None = None,
    dropout: float | None = None,
    overwrite: bool = False,
    resume: bool = False,
    json_path: str | Path | None = None,
    show_progress: bool = True,
    deterministic: bool = False,
    pretrained: str | Path | None = None,
    pretrained_audio: str | Path | None = None,
    init: str | Path | None = None,
    wrap_config: str | Path | None = None,
    **train_options: Any,
) -> TrainingResult:
    """Train zoo model ``model`` on ``data`` into run directory ``out``; return the run summary.

    Args:
        data: dataset spec (``synth:classes=6``); model: zoo name or alias, or a factory of the user's model
            (``PATH.py:FACTORY``, ``package.module:FACTORY``; :mod:`avrobust.models.custom`) wrapped as
            ``wrap_config`` (a TOML or YAML file) says; the run records both, so later commands rebuild it.
        method: training-method spec (``standard:unimodal_weight=0.5``, ``avat:rho=0.4``).
        threat: budgets of the adversarial methods (default :class:`ThreatModel`); refused for others.
        width: encoder width override; dropout: the zoo model's dropout probability in its encoders' features
            and its fusion (default 0; kept in the checkpoint's model configuration); train_options: other :class:`TrainConfig` fields.
        deterministic: deterministic algorithms only (bitwise repeatable on GPU too).
        pretrained, pretrained_audio: local weight files for the visual / audio backbone (a ``resnet18``
            or a pretrained zoo model's; :mod:`avrobust.models.pretrained`). A pretrained zoo model's
            branches otherwise load the weights ``avrobust weights fetch`` converted. The key reports (and
            the weights' provenance) are printed and kept in the checkpoint's metadata and the summary.
        init: a run directory of the same model and classes whose weights the training starts from instead
            (adversarial fine-tuning of a fine-tuned model); recorded in the metadata with its checksum.
    """
    custom = is_factory(model)
    if custom and (width is not None or dropout is not None or pretrained or pretrained_audio):
        raise ConfigError("--width, --dropout, --pretrained and --pretrained-audio apply to zoo models; a model from a factory "
                          "builds and loads its own")
    if wrap_config is not None and not custom:
        raise ConfigError(f"--wrap configures a model from a factory (--model-file); {model!r} is a zoo model")
    if init is not None and (pretrained or pretrained_audio):
        raise ConfigError("--init starts from a whole run's weights; drop --pretrained/--pretrained-audio")
    config = TrainConfig(epochs=epochs, seed=seed, **train_options)
    name = None if custom else ZOO.canonical(model)  # names and specs checked before any data is built
    method_name, method_options = parse_spec(method)
    create_method(method_name, threat, **method_options)
    source = source_of(model, wrap_config) if custom else None
    train_set = load_dataset(data, "train")
    val_set = load_dataset(data, "val")
    seed_everything(seed, deterministic)
    if source is not None:
        net = build(source, train_set.num_classes, train_set.sample_rate)
        net.check_batch(train_set.batch(slice(0, 1))[0])  # a misfit wrapping fails before the run directory exists
        name = net.config.model_class
    else:
        overrides = {k: v for k, v in (("width", width), ("dropout", dropout)) if v is not None}
        net = create_model(name, train_set.num_classes, train_set.sample_rate, **overrides)
    trainer_method = method_for(net, method, threat)
    start = None if resume or init is None else init_weights(net, init, name, train_set)
    reports = [] if resume or init is not None or custom else pretrained_weights(
        net, {"visual": pretrained, "audio": pretrained_audio})
    for report in reports:  # a resumed run's checkpoint holds the weights
        console.print(f"pretrained {describe(report)}")
    run_dir = prepare_run_dir(out, overwrite=overwrite, resume=resume)  # after every check: a failure leaves nothing
    meta = {"model_name": name, **({"pretrained": reports} if reports else {}), **({"init": start} if start else {}),
            **({"model_source": source.to_dict()} if source else {})}
    summary = train(net.to(default_device()), train_set, val_set, config, run_dir, method=trainer_method, meta=meta,
                    resume=resume, show_progress=show_progress)
    summary.run_dir = str(run_dir)
    if json_path:
        summary.write(json_path)
    return summary


def init_weights(net: Any, run_dir: str | Path, name: str, train_set: Any) -> dict[str, Any]:
    """Load the weights of run ``run_dir`` (zoo model ``name``, trained on ``train_set``'s classes) into
    ``net``; return its record (run directory, model, checksum of its tensors)."""
    meta = read_meta(run_dir)
    if meta.get("model_name") != name:
        raise ConfigError(f"--init {run_dir} holds model {meta.get('model_name') or '(unnamed)'}, not {name}; "
                          "start from a run of the same model")
    check_classes(meta, train_set, f"--init {run_dir}")
    load_run_weights(net, run_dir)
    console.print(f"init: the weights of {run_dir}")
    return {"run_dir": str(run_dir), "tensors_sha256": meta.get("tensors_sha256")}


def pretrained_weights(net: Any, files: dict[str, str | Path | None]) -> list[dict[str, Any]]:
    """Load each branch's weights: the user's file for it, else the fetched weights its backbone names
    (:mod:`avrobust.weights`); return the key reports, with the weights' provenance."""
    reports = []
    for branch, path in files.items():
        name = getattr(getattr(net, branch), "weights", None)
        if path is not None:
            reports.append(load_pretrained(net, path, branch))
        elif name is not None:
            tensors, record = load_weights(name)
            report = load_branch(net, branch, tensors, f"{name} ({record.origin}; {record.package}=={record.version})")
            reports.append({**report, "weights": name, "licence": record.licence, "trained_on": record.trained_on,
                            "tensors_sha256": record.tensors_sha256})
    return reports


ZOO_FILE = "zoo.json"


def train_zoo(
    data: str,
    out: str | Path,
    *,
    pattern: str = "*",
    epochs: int = 12,
    seed: int = 0,
    overwrite: bool = False,
    resume: bool = False,
    show_progress: bool = True,
    **train_options: Any,
) -> ZooResult:
    """Train every zoo model matching ``pattern`` into ``out/<name>``, model ``i`` with seed ``seed + i``.

    Each model is an ordinary run directory (``avrobust evaluate``/``transfer`` take it). ``--resume``
    skips finished models and continues interrupted ones; ``overwrite`` replaces existing runs.
    Writes and returns ``out/zoo.json``: ``data``, ``epochs``, ``seed`` and one entry per model with
    ``model``, ``alias``, ``seed``, ``run_dir``, ``train_seconds``, ``val`` (validation metrics).
    """

    out = Path(out)
    names = list_models(pattern)
    if not names:
        raise ConfigError(f"no zoo model matches {pattern!r}; see 'avrobust models'")
    claim_dir(out, ZOO_FILE, "a zoo", overwrite=overwrite, resume=resume)
    entries = []
    for i, name in enumerate(names):
        run_dir, model_seed = out / name, seed + i
        done = (run_dir / SUMMARY_FILE).exists() and read_meta(run_dir).get("epoch") == epochs
        console.rule(f"zoo {i + 1}/{len(names)}: {name} (seed {model_seed})")
        if resume and done:
            summary = read_result(run_dir / SUMMARY_FILE)
            console.print(f"{name}: finished already, kept")
        else:
            summary = train_model(data, name, run_dir, epochs=epochs, seed=model_seed, overwrite=overwrite,
                                  resume=resume and (run_dir / CHECKPOINT_FILE).exists(),
                                  show_progress=show_progress, **train_options)
        release_memory()  # the next model starts from a trimmed heap (many models in one process)
        entries.append(ZooEntry(model=name, alias=ZOO.aliases_of(name)[0], seed=model_seed, run_dir=str(run_dir),
                                train_seconds=round(summary["total_train_seconds"], 1), val=summary["metrics"]))
        zoo = ZooResult(data=data, epochs=epochs, seed=seed, models=entries, complete=len(entries) == len(names),
                        train_seconds=round(sum(e.train_seconds for e in entries), 1))
        zoo.write(out / ZOO_FILE)  # after every model, so an interrupted zoo shows its progress
    return zoo
