"""Checkpoints: one safetensors file per run directory, written atomically.

``RUN_DIR/checkpoint.safetensors`` holds the model weights (``model.*``), optionally the training
state (``optim.*``, ``rng.*``), and JSON metadata in the safetensors header (model config, class
names, data spec, metrics, epoch). ``RUN_DIR/checkpoint.json`` is a readable copy of that metadata.
Nothing is unpickled: loading a checkpoint cannot run code. A SHA-256 of all tensors in the metadata
catches a file changed after writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from safetensors import safe_open
from safetensors.torch import save_file

from avrobust.data import AVDataset
from avrobust.distributed import default_device, is_main
from avrobust.errors import CheckpointError, ConfigError
from avrobust.io import RUN_MARKER, write_json
from avrobust.models.classifier import AVClassifier, ModelConfig

FORMAT_VERSION = 1
CHECKPOINT_FILE = RUN_MARKER
META_FILE = "checkpoint.json"


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the classifier, in eval mode, weights loaded.
        meta: the JSON metadata (``model_config``, ``class_names``, ``data_spec``, ``epoch``, ...).
        state: training-state tensors (``optim.*``, ``rng.*``); empty for a weights-only file.
    """

    model: AVClassifier
    meta: dict[str, Any]
    state: dict[str, torch.Tensor] = field(default_factory=dict)


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of ``tensors`` (sorted by name)."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's state dict into tensors (safetensors) and JSON-able values."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.state.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Inverse of :func:`optimizer_state`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim.state."):
            idx, key = name[len("optim.state."):].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(entry)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    run_dir: str | Path,
    model: AVClassifier,
    meta: dict[str, Any],
    state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``RUN_DIR/checkpoint.safetensors`` (and the JSON copy) atomically.

    The previous checkpoint stays in place until the new file is complete; a failed write (a full
    disk, a read-only directory) raises :class:`CheckpointError` saying so. The metadata holds a
    SHA-256 of all tensors, checked on loading. Only rank 0 of a multi-process run writes.
    """
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT_FILE
    if not is_main():
        return path
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tensors |= {k: v.detach().contiguous().cpu() for k, v in (state or {}).items()}
    meta = {"format_version": FORMAT_VERSION, "model_config": model.config.to_dict(), **meta,
            "tensors_sha256": tensor_digest(tensors)}
    tmp: str | None = None
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=f".{CHECKPOINT_FILE}.", suffix=".tmp")
        os.close(fd)
        save_file(tensors, tmp, metadata={"avrobust": json.dumps(meta)})
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        write_json(run_dir / META_FILE, meta)
    except OSError as err:
        kept = f"the previous checkpoint {path} is intact" if path.exists() else "no checkpoint was written"
        raise CheckpointError(f"could not write the checkpoint in {run_dir} ({_short(err)}); {kept}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return path


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    """The metadata of a checkpoint without loading its tensors."""
    path = _checkpoint_path(run_dir)
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})["avrobust"])
    except Exception as err:  # noqa: BLE001 - any header problem means a bad file
        raise CheckpointError(f"{path} is not a readable avrobust checkpoint ({_short(err)})") from None


def load_checkpoint(run_dir: str | Path, *, with_state: bool = False) -> Checkpoint:
    """Rebuild the model from ``RUN_DIR/checkpoint.safetensors`` and load its weights.

    Raises:
        CheckpointError: missing, truncated or tampered file, weights that do not match the
            architecture named in its metadata, or a wrapped model (see :func:`load_weights`).
    """
    path = _checkpoint_path(run_dir)
    meta = _checked_meta(path)
    if meta["model_config"].get("wrapped") and meta.get("model_source"):  # trained from a factory: rebuild it
        from avrobust.models.custom import rebuild

        model = rebuild(meta, run_dir)
        return load_weights(model, run_dir, with_state=with_state, architecture=model.config.model_class)
    if meta["model_config"].get("wrapped"):
        raise CheckpointError(f"{path} holds a wrapped {meta['model_config'].get('model_class') or 'model'}, which "
                              "avrobust cannot rebuild; build and wrap it, then avrobust.load_weights(model, run_dir)")
    try:
        config = ModelConfig.from_dict(meta["model_config"])
        model = AVClassifier(config)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path} names a model this avrobust cannot build ({_short(err)})") from None
    return load_weights(model, run_dir, with_state=with_state,
                        architecture=f"{config.visual}-{config.fusion}-{config.audio}")


def load_weights(model: nn.Module, run_dir: str | Path, *, with_state: bool = False,
                 architecture: str = "") -> Checkpoint:
    """Load a checkpoint's weights into ``model`` (a classifier or a wrapped model of the same
    architecture), checksum verified; the model is moved to the default device in eval mode."""
    path = _checkpoint_path(run_dir)
    meta = _checked_meta(path)
    digest = meta.get("tensors_sha256")
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():  # the state too when the digest covers it, in the same pass
                if key.startswith("model.") or with_state or digest is not None:
                    tensors[key] = f.get_tensor(key)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path} is truncated or corrupt ({_short(err)})") from None
    if digest is not None and tensor_digest(tensors) != digest:
        raise CheckpointError(f"{path} fails its checksum: the tensors were changed after writing (tampered or "
                              "corrupt); retrain or restore the file")
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    state = {k: v for k, v in tensors.items() if not k.startswith("model.")} if with_state else {}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or unexpected or mismatched:
        details = "; ".join(
            f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
            if keys
        )
        raise CheckpointError(f"{path} does not match its architecture {architecture or type(model).__name__} ({details})")
    model.load_state_dict(weights)
    model.to(default_device()).eval()
    return Checkpoint(model, meta, state)


def _checked_meta(path: Path) -> dict[str, Any]:
    meta = read_meta(path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {meta.get('format_version')}, this avrobust reads {FORMAT_VERSION}"
        )
    return meta


def _checkpoint_path(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT_FILE if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {run_dir}; pass the directory written by 'avrobust train'")
    return path


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


class DataMismatch(CheckpointError, ConfigError):
    """A model trained on other classes than the data has."""


def check_classes(meta: Mapping[str, Any], dataset: AVDataset, who: str = "the checkpoint") -> None:
    """Raise :class:`DataMismatch` if the class names a model was trained on differ from the data's."""
    trained = meta.get("class_names", dataset.class_names)
    if trained != dataset.class_names:
        diff = next((i for i, (a, b) in enumerate(zip(trained, dataset.class_names)) if a != b), None)
        where = f"first difference at index {diff}" if diff is not None else "different class counts"
        raise DataMismatch(f"{who} was trained on {len(trained)} classes and the data has {len(dataset.class_names)} "
                           f"with another mapping ({where}): other classes than {dataset.spec}; use the data it was "
                           "trained on")
