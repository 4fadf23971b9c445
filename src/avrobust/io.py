"""Files avrobust writes: atomically (a reader never sees half a file), under torchrun only on rank 0,
and never over what a user has without ``--overwrite`` (:func:`claim_files`, :func:`claim_dir`)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avrobust.distributed import is_main
from avrobust.errors import ConfigError


def cache_root() -> Path:
    """Where avrobust keeps what it builds or fetches once (generated datasets, converted weights):
    ``$AVROBUST_CACHE`` or ``~/.cache/avrobust``."""
    return Path(os.environ.get("AVROBUST_CACHE") or Path.home() / ".cache" / "avrobust")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    In a multi-process run only rank 0 writes; the call does nothing on the others.
    """
    path = Path(path)
    if not is_main():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # the mode an ordinary open() gives, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_text(data: Any, indent: int | None = 2) -> str:
    """``data`` as JSON; tensors (per-clip flags) as lists, bools as 0/1."""
    return json.dumps(data, indent=indent, sort_keys=False, default=_tensor_list)


def _tensor_list(obj: Any) -> Any:
    import torch

    if isinstance(obj, torch.Tensor):
        return (obj.to(torch.int8) if obj.dtype == torch.bool else obj).tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_json(path: str | Path, data: Any) -> Path:
    """Atomically write ``data`` as indented JSON (see :func:`json_text`); returns the path."""
    return write_text(path, json_text(data) + "\n")


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text; returns the path."""
    return atomic_write_bytes(path, text.encode())


RUN_MARKER = "checkpoint.safetensors"  # a training run's checkpoint file (avrobust.checkpoint.CHECKPOINT_FILE is this)


def refuse_run_dir(out: Path, what: str) -> None:
    """Refuse a training run's directory as the output of ``what``, so the run's files stay as they are."""
    if (out / RUN_MARKER).exists():
        raise ConfigError(f"{out} is a training run; write {what} to a directory of its own (e.g. {out / 'out'} or "
                          "another --out), so the run's files stay as they are")


def check_writable(directory: str | Path) -> None:
    """Refuse, in one line, an output directory this process cannot create or write into, before any work
    is done; whatever the probe created is removed again."""
    directory = Path(directory)
    created = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"cannot write to {directory}: {probe} is a file, not a directory; choose another path")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".avrobust-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to {directory}: {(exc.strerror or str(exc)).lower()}; choose a directory "
                          "you can write to") from None
    finally:
        for d in created:  # deepest first
            try:
                d.rmdir()
            except OSError:
                break


def claim_files(paths: Sequence[Path], *, overwrite: bool) -> None:
    """Refuse to replace existing output files unless ``overwrite``, and outputs that cannot be written."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        raise ConfigError(f"{', '.join(existing)} already exist; pass --overwrite to replace them or choose another path")
    for parent in dict.fromkeys(Path(p).parent for p in paths):
        check_writable(parent)


def claim_dir(out: Path, marker: str, what: str, *, overwrite: bool, resume: bool | None = None) -> None:
    """Refuse a directory that already holds ``what`` (its ``marker`` file) unless ``overwrite``, or
    ``resume`` for jobs that can continue (``resume=None``: the job cannot)."""
    if overwrite and resume:
        raise ConfigError("choose one of --overwrite and --resume")
    if (out / marker).exists() and not (overwrite or resume):
        how = "pass --resume to finish it or --overwrite to replace it" if resume is not None else \
            "pass --overwrite to replace it or choose another --out"
        raise ConfigError(f"{out} already holds {what}; {how}")
    refuse_run_dir(out, what)
    check_writable(out)
