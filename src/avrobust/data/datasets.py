"""Dataset specs (``NAME:key=value,...``) and the in-memory dataset every loop iterates.

Registered datasets: ``synth`` (the embedded synthetic set, :mod:`avrobust.data.synthetic`),
``saved`` (a dataset written by :meth:`AVDataset.save`) and the real video datasets
``kinetics-sounds``, ``music`` and ``folder``, decoded with PyAV (:mod:`avrobust.data.video`) and
cached by ``avrobust prepare`` (:mod:`avrobust.data.cache`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from avrobust.errors import ConfigError, InputError
from avrobust.registry import Registry, check_kwargs
from avrobust.specs import format_spec, parse_spec
from avrobust.types import AVBatch

SPLITS = ("train", "val", "test")
DATASETS: Registry[Callable[..., AVDataset]] = Registry("dataset")


@dataclass
class AVDataset:
    """Aligned clips held in memory.

    Attributes:
        video: ``[N, T, 3, H, W]`` float32 in [0, 1].
        audio: ``[N, L]`` float32 in [-1, 1], ``L = T * samples_per_segment``.
        labels: ``[N]`` int64 class indices.
        class_names: name of each class index.
        fps, sample_rate: timing shared by all clips.
        spec: the dataset spec it was built from; split: its split.
        extras: optional per-clip tensors (ground truth such as event masks), first dim N.
    """

    video: torch.Tensor
    audio: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    fps: float
    sample_rate: int
    spec: str = ""
    split: str = ""
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        AVBatch(self.video[:1], self.audio[:1], self.fps, self.sample_rate)  # shape checks
        if not (len(self.video) == len(self.audio) == len(self.labels)):
            raise InputError("video, audio and labels must have the same number of clips")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise InputError(f"labels must lie in [0, {len(self.class_names)})")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def validate(self) -> AVDataset:
        """Check every clip for NaN/inf and range (see :meth:`AVBatch.validate`); returns ``self``."""
        AVBatch(self.video, self.audio, self.fps, self.sample_rate).validate()
        return self

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def frames(self) -> int:
        return int(self.video.shape[1])

    def batch(self, idx: torch.Tensor | slice) -> tuple[AVBatch, torch.Tensor]:
        """The clips at ``idx`` as an :class:`AVBatch` and their labels."""
        return AVBatch(self.video[idx], self.audio[idx], self.fps, self.sample_rate), self.labels[idx]

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        indices: torch.Tensor | None = None,
    ) -> Iterator[tuple[AVBatch, torch.Tensor]]:
        """Iterate over ``(batch, labels)``; ``indices`` restricts to a subset (e.g. a DDP shard)."""
        for chunk in self.batch_indices(batch_size, shuffle=shuffle, generator=generator, indices=indices):
            yield self.batch(chunk)

    def batch_indices(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
                      indices: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The clip indices of every batch :meth:`batches` yields, in order, without gathering any clip
        (loops that skip batches, another process's or ones done before a restart, build only theirs)."""
        order = torch.arange(len(self)) if indices is None else indices
        if shuffle:
            order = order[torch.randperm(len(order), generator=generator)]
        return list(order.split(batch_size))

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def save(self, path: str | Path) -> Path:
        """Write to one safetensors file (tensors plus JSON metadata); returns the path."""
        path = Path(path)
        tensors = {"video": self.video, "audio": self.audio, "labels": self.labels}
        tensors |= {f"extras.{k}": v for k, v in self.extras.items()}
        meta = {
            "class_names": self.class_names,
            "fps": self.fps,
            "sample_rate": self.sample_rate,
            "spec": self.spec,
            "split": self.split,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={"avrobust_dataset": json.dumps(meta)})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> AVDataset:
        """Read a file written by :meth:`save`."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise InputError(f"dataset file {path} does not exist")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {})["avrobust_dataset"])
            tensors = load_file(str(path))
        except Exception as err:  # noqa: BLE001 - any decoding failure is a bad file
            raise InputError(f"{path} is not a dataset saved by avrobust ({err})") from None
        extras = {k[len("extras."):]: v for k, v in tensors.items() if k.startswith("extras.")}
        return cls(tensors["video"], tensors["audio"], tensors["labels"], meta["class_names"],
                   meta["fps"], meta["sample_rate"], meta["spec"], meta["split"], extras)


def load_dataset(spec: str, split: str) -> AVDataset:
    """Build the ``split`` of the dataset named by ``spec`` (e.g. ``"synth:classes=6"``).

    Raises:
        ConfigError: unknown dataset name, option or split (the message lists valid ones).
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    name, options = parse_spec(spec)
    factory = DATASETS.get(name)
    check_options(factory, options, name)
    dataset = factory(split=split, **options)
    dataset.spec = format_spec(DATASETS.canonical(name), options)
    return dataset.validate()


def check_options(factory: Callable[..., Any], options: dict[str, Any], name: str) -> None:
    """Unknown or missing dataset options as one-line errors."""
    import inspect

    check_kwargs(factory, {**options, "split": "train"}, f"dataset {name!r}")
    params = inspect.signature(factory).parameters
    required = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "split"
                and p.kind is p.POSITIONAL_OR_KEYWORD]
    missing = [n for n in required if n not in options]
    if missing:
        raise ConfigError(f"dataset {name!r} needs {', '.join(f'{n}=...' for n in missing)}; "
                          f"write {name}:{','.join(f'{n}=...' for n in required)}")


@DATASETS.register("synth")
def _synth(split: str, **options: Any) -> AVDataset:
    from avrobust.data import synthetic

    valid = list(synthetic.SynthConfig.__dataclass_fields__)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for dataset 'synth'; "
            f"valid options: {', '.join(valid)}"
        )
    try:
        config = synthetic.SynthConfig(**options)
    except TypeError as err:
        raise ConfigError(f"synth: {err}") from None
    t = synthetic.to_tensors(synthetic.generate(config, split))
    extras = {k: t[k] for k in ("event", "visual_hidden", "audio_hidden")}
    return AVDataset(t["video"], t["audio"], t["labels"], synthetic.class_names(config.classes),
                     config.fps, config.sample_rate, split=split, extras=extras)


@DATASETS.register("digits")
def _digits(split: str, **options: Any) -> AVDataset:
    """Real handwritten digits seen and spoken (:mod:`avrobust.data.digits`), cached after the first build."""
    from avrobust.data import digits

    valid = list(digits.DigitsConfig.__dataclass_fields__)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for dataset 'digits'; valid options: {', '.join(valid)}")
    try:
        config = digits.DigitsConfig(**options)
    except TypeError as err:
        raise ConfigError(f"digits: {err}") from None
    path = digits.cache_path(config, split)
    if path.is_file():
        return AVDataset.load(path)
    t = digits.generate(config, split)
    dataset = AVDataset(t["video"], t["audio"], t["labels"], list(digits.WORDS), config.fps, config.sample_rate,
                        split=split, extras={k: t[k] for k in ("video_missing", "audio_missing")})
    try:
        dataset.save(path)  # atomic: a file there is always complete
    except OSError:
        pass  # a read-only cache only costs the next load a rebuild
    return dataset


@DATASETS.register("saved")
def _saved(split: str, root: str) -> AVDataset:
    """Splits saved by ``avrobust data --out ROOT`` as ``ROOT/<split>.safetensors``."""
    return AVDataset.load(Path(root) / f"{split}.safetensors")


def _real(split: str, name: str, found: tuple[list[Any], list[str], list[str]], *, cache: str | None,
          frames: int, size: int, sample_rate: int, seconds: float, workers: int, strict: bool) -> AVDataset:
    """Decode (or read from ``cache``) the ``split`` of a real dataset; see :mod:`avrobust.data.cache`."""
    import tempfile

    from avrobust.console import warn
    from avrobust.data.cache import load_split, prepare
    from avrobust.data.video import DecodeConfig

    items, class_names, missing = found
    if missing:
        warn(f"{len(missing)} annotated clips of {name} are not under root (first: {missing[0]}); they are left out")
    config = DecodeConfig(frames=frames, size=size, sample_rate=sample_rate, seconds=seconds)
    if cache is None:
        with tempfile.TemporaryDirectory(prefix="avrobust-decode-") as tmp:
            prepare(items, class_names, tmp, config, source=name, splits=(split,), workers=workers, strict=strict)
            video, audio, labels, _ = load_split(tmp, split)
    else:
        prepare(items, class_names, cache, config, source=name, workers=workers, strict=strict)
        video, audio, labels, _ = load_split(cache, split)
    return AVDataset(video, audio, labels, list(class_names), config.fps, sample_rate, split=split)


REAL_OPTIONS = ("cache", "frames", "size", "sample_rate", "seconds", "workers", "strict")


@DATASETS.register("kinetics-sounds", aliases=("ks",))
def _kinetics_sounds(split: str, root: str, annotations: str, classes: str | None = None, cache: str | None = None,
                     frames: int = 8, size: int = 64, sample_rate: int = 16000, seconds: float = 2.0,
                     workers: int = 1, strict: bool = False) -> AVDataset:
    """Kinetics-Sounds: a Kinetics CSV and the downloaded clips (see :func:`avrobust.data.sources.kinetics_sounds`)."""
    from avrobust.data import sources

    return _real(split, "kinetics-sounds", sources.kinetics_sounds(root, annotations, classes), cache=cache,
                 frames=frames, size=size, sample_rate=sample_rate, seconds=seconds, workers=workers, strict=strict)


@DATASETS.register("music")
def _music(split: str, root: str, annotations: str, cache: str | None = None, frames: int = 8, size: int = 64,
           sample_rate: int = 16000, seconds: float = 2.0, workers: int = 1, strict: bool = False) -> AVDataset:
    """MIT MUSIC solo videos: the ids JSON and the downloaded videos."""
    from avrobust.data import sources

    return _real(split, "music", sources.music(root, annotations), cache=cache, frames=frames, size=size,
                 sample_rate=sample_rate, seconds=seconds, workers=workers, strict=strict)


@DATASETS.register("folder")
def _folder(split: str, root: str, csv: str | None = None, cache: str | None = None, frames: int = 8, size: int = 64,
            sample_rate: int = 16000, seconds: float = 2.0, workers: int = 1, strict: bool = False) -> AVDataset:
    """Any folder of videos: ROOT/<class>/<clip> or a CSV of path,label[,split]."""
    from avrobust.data import sources

    return _real(split, "folder", sources.folder(root, csv), cache=cache, frames=frames, size=size,
                 sample_rate=sample_rate, seconds=seconds, workers=workers, strict=strict)


def dataset_items(spec: str) -> tuple[str, list[Any], list[str], list[str], dict[str, Any]]:
    """For ``avrobust prepare``: ``(name, items, class_names, missing, decode options)`` of a real dataset spec."""
    from avrobust.data import sources

    name, options = parse_spec(spec)
    name = DATASETS.canonical(name)
    check_options(DATASETS.get(name), options, name)
    decode = {k: options.pop(k) for k in REAL_OPTIONS if k in options}
    if name == "kinetics-sounds":
        found = sources.kinetics_sounds(options["root"], options["annotations"], options.get("classes"))
    elif name == "music":
        found = sources.music(options["root"], options["annotations"])
    elif name == "folder":
        found = sources.folder(options["root"], options.get("csv"))
    else:
        raise ConfigError(f"'prepare' decodes real video datasets (kinetics-sounds, music, folder), not {name!r}")
    return (name, *found, decode)
