"""avrobust's Python API: one verb per job, the same engine as the command line (which calls
:mod:`avrobust.jobs`, its plumbing): :func:`train`, :func:`evaluate`, :func:`attack`, :func:`transfer`,
:func:`benchmark`, :func:`certify`, :func:`study` and :func:`report`, all reachable as ``avrobust.<verb>``.

``model`` is an avrobust classifier (:func:`avrobust.create_model`), a model wrapped with
:func:`avrobust.wrap`, or a run directory (:func:`train` also takes a zoo model's name).
``data`` is a dataset spec (``"synth"``), an :class:`~avrobust.data.AVDataset`, or any iterable of
``(video, audio, label)`` batches (a PyTorch ``DataLoader``): video ``[N, T, 3, H, W]`` (or
``video_layout="NCTHW"``) in [0, 1] (uint8 is divided by 255), audio ``[N, L]`` in [-1, 1], labels
``[N]``; the batches are gathered in memory once.

Example::

    import avrobust
    net = avrobust.wrap(my_model, num_classes=10, sample_rate=16000, video_layout="NCTHW")
    result = avrobust.evaluate(net, loader, attacks=["pgd", "tma"])
    print(result["attacks"]["pgd"]["robust_accuracy"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn

from avrobust.attacks import ThreatModel, build_attacks, default_attacks
from avrobust.checkpoint import load_checkpoint
from avrobust.data import AVDataset, load_dataset
from avrobust.defences import TrainConfig, method_for, prepare_run_dir
from avrobust.defences import train as train_loop
from avrobust.device import check_precision, resolve
from avrobust.errors import ConfigError, InputError
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.model_card import THREATS, run_benchmark
from avrobust.evaluation.transfer_matrix import Member, transfer_matrix
from avrobust.jobs.common import first_clips
from avrobust.models.adapter import WrappedModel
from avrobust.models.interface import AVModel, model_device
from avrobust.models.model_zoo import ZOO
from avrobust.results import BenchmarkResult, EvaluationResult, TrainingResult, TransferResult
from avrobust.results.certification import CertificationResult
from avrobust.seeding import seed_everything

Batch = Union[tuple[torch.Tensor, torch.Tensor, torch.Tensor], Mapping[str, torch.Tensor]]
DataLike = Union[str, AVDataset, Iterable[Batch]]
ModelLike = Union[nn.Module, str, Path]


def evaluate(model: ModelLike, data: DataLike, *, attacks: Sequence[str] = ("pgd",), threat: ThreatModel | None = None,
             steps: int | None = None, restarts: int | None = None, seed: int = 0, split: str = "test",
             limit: int | None = None, batch_size: int = 64, video_layout: str = "NTCHW",
             show_progress: bool = False, device: str | None = None, precision: str = "fp32") -> EvaluationResult:
    """Clean, audio-only and visual-only accuracy, then every attack white box (robust accuracy, ASR,
    perceptibility, per-clip flags) and the worst case.

    Args:
        attacks: attack specs (``"pgd"``, ``"tma:lambda1=2"``); empty: clean metrics only.
        threat: budgets and attacked modalities (default: video 8/255, audio 0.01, L-inf, both).
        steps: steps of every attack that takes them; restarts too (None: each attack's default).
        seed: the seed of every attack's random draws.
        split: the split of a dataset spec; ``limit``: the first ``limit`` clips only.
        device: move the model there first (``"cuda"``, ``"cuda:1"``, ``"cpu"``, ``"auto"``); None: it stays
            on the device of its parameters (a run directory loads to the default device).
        precision: ``fp32``, ``bf16`` or ``fp16`` forward passes (perturbations stay float32).
    """
    plan = EvaluationPlan(tuple(attacks), threat, steps, restarts, seed, precision=precision)
    net = classifier(model, device)
    dataset = as_dataset(data, split, model=net, video_layout=video_layout)
    return evaluate_classifier(net, dataset, plan, batch_size=batch_size, indices=first_clips(dataset, limit),
                               show_progress=show_progress)


def benchmark(model: ModelLike, data: DataLike, *, protocol: str = "standard", threats: Sequence[str] | None = None,
              twin: ModelLike | None = None, seed: int = 0, split: str = "test", limit: int | None = None,
              batch_size: int = 64, video_layout: str = "NTCHW", show_progress: bool = False, device: str | None = None,
              precision: str = "fp32", name: str = "", corruptions: str | Sequence[str] = (), failures: bool = False,
              certify: Sequence[str] = (), reference: BenchmarkResult | None = None,
              noise_dir: str | Path | None = None) -> BenchmarkResult:
    """The standard robustness benchmark (:mod:`avrobust.evaluation.model_card`): per threat model the
    cascade APGD-CE, APGD-T, Square on the clips still robust, with EOT for a randomised model, and the
    gradient-masking flags; returns the model card (``.write(path)`` it; ``avrobust report`` and
    ``avrobust leaderboard`` read it).

    Args:
        protocol: ``standard`` (AutoAttack's settings) or ``quick``; threats: the threat models (default all:
            ``linf-video`` ... ``l2-both``; ``[]`` with another section: none); twin: an undefended model of the
            same task whose transferred attack enters the worst case and the flags; name: the model's name on
            the card; corruptions: ``"all"`` or names (a corruption section, ``avrobust.corruptions``);
            failures: a failing-modality section; certify: certifier specs (``"mmcert:k_video=2"``), a
            certified section each; reference: a card with a corruption section (mCE against it);
            noise_dir: recordings for the sound beds.
    """
    from avrobust.corruptions import corruption_names
    from avrobust.jobs.certify import certifier_from_spec

    names = corruption_names(corruptions) if corruptions else []
    certifiers = [certifier_from_spec(spec) for spec in certify]
    if reference is not None and reference.corruptions is None:
        raise ConfigError("the reference card has no corruption section; benchmark the reference with corruptions='all'")
    net = classifier(model, device)
    dataset = as_dataset(data, split, model=net, video_layout=video_layout)
    twin_net = None if twin is None else classifier(twin, str(model_device(net)))
    extra = bool(names) or failures or bool(certifiers)
    chosen = tuple(threats) if threats is not None and (threats or extra) else THREATS
    return run_benchmark(net, dataset, protocol, threats=chosen, indices=first_clips(dataset, limit),
                         seed=seed, twin=twin_net, batch_size=batch_size, precision=check_precision(precision),
                         show_progress=show_progress, model_name=name or type(net).__name__,
                         checkpoint=str(model) if isinstance(model, (str, Path)) else "",
                         twin_name=None if twin is None else (str(twin) if isinstance(twin, (str, Path)) else "twin"),
                         corruptions=names, failures=failures, certifiers=certifiers,
                         reference=None if reference is None else reference.corruptions,
                         reference_name=reference.name() if reference is not None else "", noise_dir=noise_dir)


def transfer(source: ModelLike | Sequence[ModelLike], victims: Mapping[str, ModelLike] | Sequence[ModelLike],
             data: DataLike, *, attacks: Sequence[str] | None = None, threat: ThreatModel | None = None,
             steps: int | None = 10, seed: int = 0, split: str = "test", limit: int | None = None,
             batch_size: int = 64, video_layout: str = "NTCHW", show_progress: bool = False,
             device: str | None = None, precision: str = "fp32") -> TransferResult:
    """Craft every attack on ``source`` (a model, or several: one row each) and test on every victim
    (``label -> model``, or a list labelled ``victim0``...; the source itself may be one: white box).
    ``device``, ``precision``: as :func:`evaluate`."""
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    named = dict(victims) if isinstance(victims, Mapping) else {f"victim{i}": v for i, v in enumerate(victims)}
    first: dict[Any, str] = {}  # one source name per distinct model, so a source among the victims is white box
    members = []
    pairs = [(f"source{i}" if len(sources) > 1 else "source", m) for i, m in enumerate(sources)] + list(named.items())
    for label, m in pairs:
        key = id(m) if isinstance(m, nn.Module) else str(Path(m).resolve())
        members.append(Member(label, classifier(m, device), (first.setdefault(key, label),), {}))
    dataset = as_dataset(data, split, model=members[0].model, video_layout=video_layout)
    for member in members:
        _check_classes(member.model, dataset)
    attack_list = build_attacks(list(attacks) if attacks else default_attacks("transfer"), threat, steps=steps, seed=seed)
    return transfer_matrix(members[:len(sources)], members[len(sources):], dataset, attack_list,
                           indices=first_clips(dataset, limit), batch_size=batch_size, show_progress=show_progress,
                           precision=check_precision(precision))


def train(model: ModelLike, data: DataLike, out: str | Path, *, method: str = "standard",
          epochs: int = 10, threat: ThreatModel | None = None, seed: int = 0,
          val_data: DataLike | None = None, video_layout: str = "NTCHW", overwrite: bool = False,
          resume: bool = False, show_progress: bool = False, device: str | None = None,
          **train_options: Any) -> TrainingResult:
    """Train ``model`` with a training method (``standard``, ``pgd-at``, ``trades``, ``avat``...) into run
    directory ``out`` (checkpoint every epoch; reload a wrapped model's weights with
    :func:`avrobust.load_weights`). With a dataset spec the validation split is its ``val``. ``model``: a
    classifier (trained in place) or a zoo model's name or alias (``"AsV"``; built for ``data``, which must
    then be a dataset spec), as ``avrobust train --model``.

    A wrapped model without unimodal heads trains on the fused logits only (``unimodal_weight=0``
    unless the method spec sets it): its ablation-defined p_a, p_v are for measuring, not for training.
    ``train_options``: :class:`~avrobust.defences.TrainConfig` fields (``batch_size``, ``lr``, ``precision``...);
    ``device``: as :func:`evaluate`.
    """
    if isinstance(model, str) and model in ZOO:
        if not isinstance(data, str):
            raise ConfigError(f"training the zoo model {model!r} needs a dataset spec as data (\"synth\", \"digits\"...)")
        from avrobust.jobs.train import train_model

        return train_model(data, model, out, epochs=epochs, seed=seed, method=method, threat=threat,
                           overwrite=overwrite, resume=resume, **train_options)
    net = classifier(model, device)
    trainer_method = method_for(net, method, threat)
    config = TrainConfig(epochs=epochs, seed=seed, **train_options)
    train_set = as_dataset(data, "train", model=net, video_layout=video_layout)
    val_set = as_dataset(val_data, "val", model=net, video_layout=video_layout) if val_data is not None else \
        load_dataset(data, "val") if isinstance(data, str) else None
    run_dir = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    seed_everything(seed)
    model_name = net.config.model_class if isinstance(net, WrappedModel) else ""
    return train_loop(net, train_set, val_set, config, run_dir, method=trainer_method, meta={"model_name": model_name},
                 resume=resume, show_progress=show_progress)


def attack(model: ModelLike, data: DataLike, out: str | Path, *, attacks: Sequence[str] = ("pgd",),
           threat: ThreatModel | None = None, steps: int | None = None, seed: int = 0, split: str = "test",
           limit: int | None = None, batch_size: int = 64, video_layout: str = "NTCHW", show_progress: bool = False,
           device: str | None = None, precision: str = "fp32") -> dict[str, Any]:
    """Craft every attack on ``model`` once and save the adversarial clips in ``out`` (safetensors shards and
    a manifest; resumable), as ``avrobust attack --save``; :func:`avrobust.evaluate`'s command line scores
    any model on them later (``avrobust evaluate --adversarial OUT``). Returns the manifest."""
    from avrobust.evaluation.adversarial_set import craft_set

    net = classifier(model, device)
    dataset = as_dataset(data, split, model=net, video_layout=video_layout)
    label = Path(model).name if isinstance(model, (str, Path)) else type(net).__name__
    source = Member(label, net, (str(model) if isinstance(model, (str, Path)) else label,), {})
    return craft_set(source, dataset, build_attacks(list(attacks), threat, steps=steps, seed=seed), out,
                     indices=first_clips(dataset, limit), batch_size=batch_size, precision=check_precision(precision),
                     show_progress=show_progress)


def certify(model: ModelLike, data: DataLike, *, certifier: str = "smoothing", radii: Sequence[float] | None = None,
            seed: int = 0, split: str = "test", limit: int | None = None, video_layout: str = "NTCHW",
            show_progress: bool = False, device: str | None = None) -> CertificationResult:
    """Certified accuracy of ``model`` under a certifier spec (``"smoothing:sigma_video=0.25,n=1000"``,
    ``"mmcert:k_video=1,k_audio=1"``; ``avrobust certifiers`` lists them):
    per clip the certified class or an abstention and its radius, and the certified accuracy at ``radii``
    (default: the certifier's), as ``avrobust certify``."""
    from avrobust.certification import certify_model
    from avrobust.jobs.certify import certifier_from_spec

    chosen = certifier_from_spec(certifier)
    net = classifier(model, device)
    dataset = as_dataset(data, split, model=net, video_layout=video_layout)
    return certify_model(net, dataset, chosen, indices=first_clips(dataset, limit), radii=radii, seed=seed,
                         model_name=type(net).__name__, checkpoint=str(model) if isinstance(model, (str, Path)) else "",
                         show_progress=show_progress)


def study(path: str | Path, root: str | Path = "runs/studies", *, stages: Sequence[str] = (),
          show_progress: bool = False) -> dict[str, Any]:
    """Run a study file (zoos, stages, seeds; ``benchmarks/studies/*.toml``) under ``root``, resuming the units
    already computed there, and write its JSON and Markdown tables; returns the study's results."""
    from avrobust.studies import run_study

    return run_study(path, root, stages=stages, show_progress=show_progress)


def report(paths: Sequence[str | Path], out: str | Path, *, title: str = "avrobust report", overwrite: bool = False,
           examples: int = 2) -> dict[str, Any]:
    """Markdown and self-contained HTML from result files or the directories holding them (``avrobust report``)."""
    from avrobust.report import build_report

    return build_report(paths, out, title=title, overwrite=overwrite, examples=examples)


def classifier(model: ModelLike, device: str | None = None) -> AVModel:
    """An avrobust classifier (:class:`~avrobust.models.interface.AVModel`) from a classifier, a wrapped
    model or a run directory, moved to ``device`` when one is given."""
    if isinstance(model, (str, Path)):
        net = load_checkpoint(model).model
    elif isinstance(model, AVModel):
        net = model
    else:
        net = None
    if net is not None:
        return net.to(resolve(device)) if device is not None else net  # type: ignore[attr-defined]
    raise ConfigError(f"a {type(model).__name__} is not an avrobust classifier; wrap it first: "
                      "avrobust.wrap(model, num_classes=K, sample_rate=HZ, ...) (see docs/own-model.md)")


def as_dataset(data: DataLike, split: str = "test", *, model: nn.Module | None = None, sample_rate: int | None = None,
               fps: float | None = None, class_names: Sequence[str] | None = None,
               video_layout: str = "NTCHW") -> AVDataset:
    """``data`` as an :class:`AVDataset` (see the module docstring); ``sample_rate`` and the class count
    default to ``model``'s, ``fps`` to ``sample_rate / samples per frame``."""
    if isinstance(data, str):
        dataset = load_dataset(data, split)
    elif isinstance(data, AVDataset):
        dataset = data
    else:
        dataset = _gather(data, split, model, sample_rate, fps, class_names, video_layout)
    if model is not None:
        _check_classes(model, dataset)
    return dataset


def _gather(data: Iterable[Batch], split: str, model: nn.Module | None, sample_rate: int | None, fps: float | None,
            class_names: Sequence[str] | None, video_layout: str) -> AVDataset:
    if not isinstance(data, Iterable):
        raise ConfigError(f"data must be a dataset spec, an AVDataset or an iterable of (video, audio, label) "
                          f"batches, got {type(data).__name__}")
    if video_layout not in ("NTCHW", "NCTHW"):
        raise ConfigError(f"video_layout={video_layout!r}: use 'NTCHW' or 'NCTHW'")
    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for i, item in enumerate(data):
        if isinstance(item, Mapping):
            item = (item.get("video"), item.get("audio"), item.get("label", item.get("labels")))
        if not isinstance(item, (tuple, list)) or len(item) != 3 or any(x is None for x in item):
            raise InputError(f"batch {i} is not (video, audio, label); yield three tensors per batch")
        video, audio, label = (torch.as_tensor(x) for x in item)
        if video.dim() != 5:
            raise InputError(f"batch {i}: video must be 5-D {video_layout}, got shape {tuple(video.shape)}")
        video = video.float() / 255 if video.dtype == torch.uint8 else video.float()
        parts.append((video.permute(0, 2, 1, 3, 4) if video_layout == "NCTHW" else video, audio.float(), label.long()))
    if not parts:
        raise InputError("data yielded no batches")
    video, audio, labels = (torch.cat([p[k] for p in parts]).contiguous() for k in range(3))
    rate = sample_rate or (model.config.sample_rate if model is not None else None)
    if rate is None:
        raise ConfigError("give sample_rate (or a model) to read batches of raw clips")
    k = len(class_names) if class_names is not None else model.config.num_classes if model is not None \
        else int(labels.max()) + 1
    if audio.dim() != 2 or audio.shape[1] % video.shape[1]:
        raise InputError(f"audio must be [N, L] with L a multiple of the {video.shape[1]} frames, got {tuple(audio.shape)}")
    frame_rate = fps or rate / (audio.shape[1] // video.shape[1])
    dataset = AVDataset(video, audio, labels, list(class_names or [str(c) for c in range(k)]), frame_rate, rate,
                        spec="", split=split)
    return dataset.validate()


def _check_classes(model: nn.Module, dataset: AVDataset) -> None:
    if model.config.num_classes != dataset.num_classes:
        raise ConfigError(f"the model has {model.config.num_classes} classes and the data {dataset.num_classes}; "
                          "use matching data or num_classes")
