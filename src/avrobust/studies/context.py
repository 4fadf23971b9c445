"""What every stage of a study uses: its directories, its zoos (trained on first use), its members
and data, and resumable unit files (a unit whose file exists is read back, never recomputed).

A context runs in one of three modes. ``run``: one process computes every unit in turn (training a zoo
model on first use). ``plan``: nothing is computed; every missing unit and untrained zoo model is recorded
as a :class:`Job` (what :mod:`avrobust.studies.executors` hands to a cluster), and a missing unit reads as
:data:`PENDING`. ``job``: as ``plan``, except that the one unit ``target`` is computed (then
:class:`UnitDone` ends the stage). A stage's code is the same in every mode, so a unit computed by a job is
the unit the sequential run computes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from avrobust.attacks import Ensemble
from avrobust.checkpoint import read_meta
from avrobust.console import console
from avrobust.data import AVDataset, load_dataset
from avrobust.defences.runstate import SUMMARY_FILE
from avrobust.errors import ConfigError
from avrobust.evaluation.transfer_matrix import Member, load_members
from avrobust.io import json_text, write_json
from avrobust.models import ZOO
from avrobust.runtime import release_memory
from avrobust.studies.spec import SEED_STRIDE, StudySpec, ZooSpec


class Pending(Exception):
    """A unit this process does not compute is not there yet."""


class UnitDone(Exception):
    """The unit a job was started for is written."""


class _PendingValue:
    """What a missing unit reads as outside ``run`` mode: any use of it raises :class:`Pending`."""

    def _pending(self, *_: Any, **__: Any) -> Any:
        raise Pending

    __getitem__ = __iter__ = __len__ = __contains__ = __bool__ = __getattr__ = _pending  # type: ignore[assignment]


PENDING: Any = _PendingValue()


@dataclass(frozen=True)
class Job:
    """One unit of work a study hands to an executor: train one zoo model (``zoo``, ``alias``, ``seed``) or
    compute one unit file (``stage``, ``path``); ``needs``: names of the jobs it waits for."""

    name: str
    kind: str  # "train" | "unit"
    zoo: str = ""
    alias: str = ""
    seed: int = 0
    stage: str = ""
    path: str = ""
    needs: tuple[str, ...] = ()


@dataclass
class Context:
    """A study being run: ``spec``, ``root`` (zoos under ``root/zoos``, units under ``root/<name>``),
    ``results`` of the stages run so far (by stage name)."""

    spec: StudySpec
    root: Path
    show_progress: bool = False
    train: bool = True
    results: dict[str, Any] = field(default_factory=dict)
    mode: str = "run"  # "run" | "plan" | "job" (module docstring)
    target: Path | None = None  # job mode: the unit to compute
    jobs: dict[str, Job] = field(default_factory=dict)  # plan and job modes: what is missing
    stage_name: str = ""  # plan and job modes: the stage being run
    needs: tuple[str, ...] = ()  # plan mode: the training jobs the current stage's units wait for
    _data: dict[tuple[str, str], AVDataset] = field(default_factory=dict)
    _loaded: dict[Path, Member] = field(default_factory=dict)  # each checkpoint read once per study run

    @property
    def dir(self) -> Path:
        return self.root / self.spec.name

    def dataset(self, split: str = "test", data: str | None = None) -> AVDataset:
        key = (data or self.spec.data, split)
        if key not in self._data:
            self._data[key] = load_dataset(key[0], split)
        return self._data[key]

    def unit(self, path: Path, compute: Callable[[], Any]) -> Any:
        """The JSON at ``path``: read when there, else computed, written and returned (``run`` mode, or the
        target of a job); otherwise recorded as a job and :data:`PENDING`."""
        if path.exists():
            return json.loads(path.read_text())
        if self.mode != "run" and path != self.target:
            name = str(path.relative_to(self.root))
            self.jobs[name] = Job(name, "unit", stage=self.stage_name, path=str(path), needs=self.needs)
            return PENDING
        value = compute()
        write_json(path, value)
        release_memory()
        if self.mode == "job":
            raise UnitDone
        return json.loads(json_text(value))

    def wait_for(self, zoo: ZooSpec, alias: str, k: int) -> str | None:
        """Plan mode: the training job ``alias`` of zoo ``k`` needs before its units can run (recorded), or None
        when it is trained."""
        self.check_zoo(zoo)
        out = self.run_path(zoo, alias, k)
        if self.trained(zoo, out):
            return None
        if not self.train and self.mode == "plan":  # a job only computes its unit; its needs were planned
            raise ConfigError(f"{out} is not trained; run the study without --no-train")
        name = f"train {zoo.name} s{k} {alias}"
        self.jobs[name] = Job(name, "train", zoo=zoo.name, alias=alias, seed=k)
        return name

    # --- zoos -------------------------------------------------------------------------------------
    def zoo(self, name: str) -> ZooSpec:
        if name not in self.spec.zoos:
            raise ConfigError(f"{self.spec.source}: no zoo named {name!r}; defined: {', '.join(self.spec.zoos) or 'none'}")
        return self.spec.zoos[name]

    def run_dir(self, zoo: ZooSpec, alias: str, k: int) -> Path:
        """The run directory of ``alias`` in zoo ``k``, trained (or resumed) unless finished."""
        from avrobust.jobs.train import train_model

        self.check_zoo(zoo)
        out = self.run_path(zoo, alias, k)
        i = zoo.models.index(out.name)
        if self.trained(zoo, out):
            return out
        if not self.train or self.mode == "plan":
            raise ConfigError(f"{out} is not trained; run the study without --no-train")
        options = dict(zoo.train)
        method = options.pop("method", "standard")
        console.print(f"study {self.spec.name}: training {zoo.name} s{k} {zoo.models[i]} (seed {SEED_STRIDE * k + i})")
        train_model(zoo.data, zoo.models[i], out, epochs=zoo.epochs, seed=SEED_STRIDE * k + i, method=method,
                    resume=(out / "checkpoint.json").exists(), overwrite=not (out / "checkpoint.json").exists(),
                    show_progress=self.show_progress, **options)
        release_memory()
        return out

    def check_zoo(self, zoo: ZooSpec) -> None:
        """Refuse a zoo directory trained from another definition of ``zoo``; mark a new one."""
        base = self.root / "zoos" / zoo.name
        marker = base / "spec.json"
        if marker.exists() and json.loads(marker.read_text()) != json.loads(json_text(zoo.describe())):
            raise ConfigError(f"{base} was trained from another definition of zoo {zoo.name!r}; rename the zoo in "
                              f"{self.spec.source} or pass another --root")
        if not marker.exists():
            write_json(marker, zoo.describe())

    def run_path(self, zoo: ZooSpec, alias: str, k: int) -> Path:
        """Where ``alias`` of zoo ``k`` is (or will be) trained."""
        i = [ZOO.canonical(m) for m in zoo.models].index(ZOO.canonical(alias))
        return self.root / "zoos" / zoo.name / f"s{k}" / zoo.models[i]

    @staticmethod
    def trained(zoo: ZooSpec, out: Path) -> bool:
        return (out / SUMMARY_FILE).exists() and read_meta(out).get("epoch") == zoo.epochs

    def refs(self, refs: Sequence[str]) -> list[tuple[ZooSpec, str]]:
        """``ZOO:ALIAS`` and ``ZOO`` references as (zoo, alias) pairs, in the order given."""
        pairs = []
        for ref in refs:
            zname, _, alias = ref.partition(":")
            zoo = self.zoo(zname)
            if alias and ZOO.canonical(alias) not in [ZOO.canonical(m) for m in zoo.models]:
                raise ConfigError(f"{self.spec.source}: {alias!r} is not in zoo {zname!r} ({', '.join(zoo.models)})")
            pairs += [(zoo, alias)] if alias else [(zoo, m) for m in zoo.models]
        return pairs

    def labels(self, refs: Sequence[str]) -> list[tuple[str, str]]:
        """``(ZOO:ALIAS, label)`` of each model ``refs`` name: the alias, ``zoo:alias`` where zoos share one.
        Nothing is loaded or trained: what a stage names its units by."""
        pairs = self.refs(refs)
        clash = len({a for _, a in pairs}) != len(pairs)
        return [(f"{zoo.name}:{alias}", f"{zoo.name}:{alias}" if clash else alias) for zoo, alias in pairs]

    def members(self, refs: Sequence[str], k: int) -> list[Member]:
        """The models named by ``refs`` in zoo ``k``, labelled as :meth:`labels` says (loaded once per study)."""
        out = []
        for (zoo, alias), (_, label) in zip(self.refs(refs), self.labels(refs), strict=True):
            run = self.run_dir(zoo, alias, k)
            if run not in self._loaded:
                (self._loaded[run],) = load_members([run])
            out.append(replace(self._loaded[run], label=label))
        return out


def ensemble_member(members: Sequence[Member]) -> Member:
    """One member averaging the logits of ``members`` (the paper's ensemble surrogate)."""
    return Member("ens(" + "+".join(m.label for m in members) + ")", Ensemble([m.model for m in members]).eval(),
                  tuple(s for m in members for s in m.sources), members[0].meta)
