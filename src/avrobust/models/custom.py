"""Your own model from the shell: a factory (``PATH.py:FACTORY`` or ``package.module:FACTORY``) and a wrap
configuration file (TOML or YAML) make a :class:`~avrobust.models.adapter.WrappedModel`.

The factory is called with the keyword arguments it accepts among ``num_classes`` and ``sample_rate``
(from the data) plus the configuration's ``args`` table, and returns an ``nn.Module``. Every other key
of the configuration is an argument of :func:`avrobust.wrap` (``video_layout``, ``inputs``,
``video_mean``, ``video_std``, ``logits``, ``audio_head``, ``visual_head``, ``audio_features``,
``visual_features``, ``*_feature_layout``), and ``audio_frontend`` names avrobust's front end with its
options (``"logmel:n_mels=64,hop_length=160"``; the sample rate is the data's).

A run directory trained from a factory records a :class:`ModelSource` (the factory, the SHA-256 of its
source file, the configuration), so every later command rebuilds the model from it; a source file that
changed or vanished since is refused with one line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from torch import nn

from avrobust.errors import ConfigError
from avrobust.models.adapter import WrappedModel, wrap
from avrobust.models.frontend import LogMel
from avrobust.specs import parse_spec

#: Keys of a wrap configuration file besides ``args`` and ``audio_frontend``: :func:`wrap`'s arguments.
WRAP_KEYS = ("video_layout", "inputs", "video_mean", "video_std", "logits", "audio_head", "visual_head",
             "audio_features", "visual_features", "audio_feature_layout", "visual_feature_layout")
FRONTENDS = {"logmel": LogMel}
FACTORY_HELP = "PATH.py:FACTORY (a file) or package.module:FACTORY (an importable module)"


@dataclass(frozen=True)
class ModelSource:
    """Where a user's model comes from: ``factory`` (an absolute ``PATH.py:NAME`` or ``module:NAME``),
    ``sha256`` of its source file, and ``config`` (the wrap configuration, as read)."""

    factory: str
    sha256: str
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelSource":
        return cls(d["factory"], d["sha256"], dict(d.get("config") or {}))


def is_factory(text: str) -> bool:
    """Whether ``text`` names a factory (``something:NAME``) rather than a zoo model."""
    return ":" in str(text) and not str(text).startswith(":")


def read_wrap_config(path: str | Path | None) -> dict[str, Any]:
    """The wrap configuration in ``path`` (``.toml``, ``.yaml``/``.yml``), checked key by key; ``{}`` for None."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"wrap configuration {path} does not exist; pass a TOML or YAML file (examples/)")
    try:
        if path.suffix == ".toml":
            config = tomllib.loads(path.read_text())
        elif path.suffix in (".yaml", ".yml"):
            config = yaml.safe_load(path.read_text()) or {}
        else:
            raise ConfigError(f"wrap configuration {path}: use a .toml or .yaml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"wrap configuration {path} is not valid: {str(err).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"wrap configuration {path} must hold keys and values, got a {type(config).__name__}")
    unknown = sorted(set(config) - set(WRAP_KEYS) - {"args", "audio_frontend"})
    if unknown:
        raise ConfigError(f"wrap configuration {path}: unknown key(s) {', '.join(unknown)}; valid: "
                          f"{', '.join((*WRAP_KEYS, 'args', 'audio_frontend'))}")
    return config


def _locate(factory: str) -> tuple[Path, Callable[[], Any]]:
    """The source file of ``factory`` and a loader of its module."""
    where, _, name = factory.rpartition(":")
    if not name.isidentifier():
        raise ConfigError(f"model factory {factory!r}: give {FACTORY_HELP}")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist; give {FACTORY_HELP}")

        def load() -> Any:
            spec = importlib.util.spec_from_file_location(f"avrobust_user_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            return module
        return path, load
    try:
        spec = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ConfigError(f"module {where!r} cannot be imported; give {FACTORY_HELP} (is it on PYTHONPATH?)")
    return Path(spec.origin), lambda: importlib.import_module(where)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_of(factory: str, wrap_config: str | Path | None = None) -> ModelSource:
    """The :class:`ModelSource` of ``factory`` (a file path made absolute) and its configuration file."""
    where, _, name = str(factory).rpartition(":")
    if where.endswith(".py"):
        factory = f"{Path(where).resolve()}:{name}"
    path, _ = _locate(factory)
    return ModelSource(factory, file_sha256(path), read_wrap_config(wrap_config))


def build(source: ModelSource, num_classes: int, sample_rate: int, *, check_source: bool = False) -> WrappedModel:
    """Call the factory and wrap its model. ``check_source``: refuse a source file whose SHA-256 is not the
    recorded one (a run rebuilding the model it was trained as)."""
    path, load = _locate(source.factory)
    if check_source and file_sha256(path) != source.sha256:
        raise ConfigError(f"{path} changed since this run was trained (sha256 {source.sha256[:12]}..., now "
                          f"{file_sha256(path)[:12]}...); restore that file or train a new run")
    name = source.factory.rpartition(":")[2]
    try:
        module = load()
    except Exception as err:  # noqa: BLE001 - the user's file failed to import
        raise ConfigError(f"importing {path} failed ({type(err).__name__}: {str(err).splitlines()[0][:160]})") from None
    make = getattr(module, name, None)
    if not callable(make):
        raise ConfigError(f"{path} defines no callable {name!r}; give {FACTORY_HELP}")
    config = dict(source.config)
    given = {"num_classes": num_classes, "sample_rate": sample_rate}
    try:
        params = inspect.signature(make).parameters
        takes_all = any(p.kind == p.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in given.items() if takes_all or k in params} | dict(config.pop("args", {}) or {})
        model = make(**kwargs)
    except Exception as err:  # noqa: BLE001 - the user's factory failed
        raise ConfigError(f"{name}() from {path} failed ({type(err).__name__}: {str(err).splitlines()[0][:160]}); "
                          "it is called with the keywords it takes among num_classes, sample_rate, and the "
                          "configuration's args") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{name}() from {path} returned a {type(model).__name__}, not a torch nn.Module")
    frontend = _frontend(config.pop("audio_frontend", None), sample_rate)
    for key in ("video_mean", "video_std", "inputs"):
        if isinstance(config.get(key), list):
            config[key] = tuple(config[key])
    return wrap(model, num_classes=num_classes, sample_rate=sample_rate, audio_frontend=frontend, **config)


def _frontend(spec: str | None, sample_rate: int) -> nn.Module | None:
    if not spec:
        return None
    name, options = parse_spec(str(spec))
    if name not in FRONTENDS:
        raise ConfigError(f"audio_frontend {spec!r}: unknown front end; valid: {', '.join(FRONTENDS)} "
                          "(or none: the model takes the waveform)")
    try:
        return FRONTENDS[name](sample_rate=sample_rate, **options)
    except TypeError as err:
        raise ConfigError(f"audio_frontend {spec!r}: {err}") from None


def rebuild(meta: dict[str, Any], where: str | Path) -> WrappedModel:
    """The wrapped model a checkpoint's metadata (``model_source``) was trained as, source file checked."""
    source = ModelSource.from_dict(meta["model_source"])
    path = source.factory.rpartition(":")[0]
    if path.endswith(".py") and not Path(path).is_file():
        raise ConfigError(f"{where} was trained from {path}, which no longer exists; restore it (sha256 "
                          f"{source.sha256[:12]}...) to use this run")
    cfg = meta["model_config"]
    return build(source, int(cfg["num_classes"]), int(cfg["sample_rate"]), check_source=True)

