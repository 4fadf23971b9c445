"""A study as data: a TOML file naming its zoos, seeds and stages (``benchmarks/studies/*.toml``).

Layout of a study file::

    name = "pretrained-transfer"            # the study's directory under the root
    title = "Headline transfer, pretrained regime (issue 30)"
    data = "digits:size=64,sample_rate=16000"
    seeds = [0, 1, 2]                       # zoo k = models trained with seed 8k + i; attack seed k
    output = "benchmarks/results/issue30-pretrained-transfer"   # writes .json and .md

    [zoos.pretrained]                       # trained once per seed under ROOT/zoos/pretrained/s<k>/<alias>
    models = ["PMsY", "PEcY"]
    epochs = 3
    train = { backbone_lr = 3e-4 }          # any TrainConfig field

    [executor]                              # optional: how --executor runs it (avrobust.studies.executors)
    kind = "slurm"                          # inline (one process, the default) | local | slurm | ray
    partition = "gpu"
    gpus_per_unit = 1
    time_limit = 120                        # minutes per job
    max_parallel = 16

    [[stage]]                               # one entry per stage, run in order
    kind = "transfer"                       # a registered stage kind (avrobust.studies.stages)
    name = "x1"
    ...                                     # the kind's own keys

Zoo members are named ``ZOO:ALIAS`` (one model) or ``ZOO`` (all of that zoo's models).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avrobust.errors import ConfigError
from avrobust.registry import Registry

SEED_STRIDE = 8  # zoo k trains its model i with seed 8k + i, as `train-zoo --seed 8k` did in earlier studies


@dataclass(frozen=True)
class ZooSpec:
    """Models trained once per seed: ``models`` (zoo names or aliases), ``epochs``, ``data`` and
    ``train`` (TrainConfig fields such as ``backbone_lr``; ``method`` for a training method)."""

    name: str
    models: tuple[str, ...]
    epochs: int
    data: str
    train: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"models": list(self.models), "epochs": self.epochs, "data": self.data, "train": dict(self.train)}


@dataclass(frozen=True)
class StageSpec:
    """One stage: its registered ``kind``, a ``name`` unique in the study, and the kind's options."""

    kind: str
    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class StudySpec:
    """A parsed study file (see the module docstring)."""

    name: str
    title: str
    data: str
    seeds: tuple[int, ...]
    zoos: dict[str, ZooSpec]
    stages: tuple[StageSpec, ...]
    output: Path
    source: Path
    executor: dict[str, Any] = field(default_factory=dict)  # the [executor] table (studies.executors)


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: the key {key!r} is missing")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ConfigError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def parse_study(path: str | Path, kinds: Registry[Any]) -> StudySpec:
    """Read and check a study file against the stage ``kinds``; every problem is one :class:`ConfigError`
    line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such study file; the studies are under benchmarks/studies/")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    where = str(path)
    known = {"name", "title", "data", "seeds", "zoos", "stage", "output", "executor"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    data = _need(raw, "data", str, where)
    seeds = tuple(_need(raw, "seeds", list, where))
    if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ConfigError(f"{where}: seeds must be a non-empty list of integers >= 0")
    zoos = {}
    for zname, z in raw.get("zoos", {}).items():
        zwhere = f"{where} [zoos.{zname}]"
        models = tuple(_need(z, "models", list, zwhere))
        extra = sorted(set(z) - {"models", "epochs", "data", "train"})
        if extra:
            raise ConfigError(f"{zwhere}: unknown key(s) {', '.join(extra)}; valid: data, epochs, models, train")
        zoos[zname] = ZooSpec(zname, models, int(_need(z, "epochs", int, zwhere)), z.get("data", data), dict(z.get("train", {})))
    stages = []
    for i, s in enumerate(raw.get("stage", [])):
        swhere = f"{where} [[stage]] {i + 1}"
        kind = _need(s, "kind", str, swhere)
        if kind not in kinds:
            raise ConfigError(f"{swhere}: unknown stage kind {kind!r}; valid: {', '.join(kinds.names())}")
        name = s.get("name", kind)
        options = {k: v for k, v in s.items() if k not in ("kind", "name")}
        stages.append(StageSpec(kinds.canonical(kind), name, options))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: stage names must be unique, got {', '.join(names)} (give each a 'name')")
    if not stages:
        raise ConfigError(f"{where}: a study needs at least one [[stage]]")
    name = raw.get("name", path.stem)
    return StudySpec(name=name, title=raw.get("title", name), data=data, seeds=seeds, zoos=zoos, stages=tuple(stages),
                     output=Path(raw.get("output", f"benchmarks/results/{name}")), source=path,
                     executor=dict(_need(raw, "executor", dict, where)) if "executor" in raw else {})
