"""What every stage of a study uses: its directories, its zoos (trained on first use), its members
and data, and resumable unit files (a unit whose file exists is read back, never recomputed)."""

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


@dataclass
class Context:
    """A study being run: ``spec``, ``root`` (zoos under ``root/zoos``, units under ``root/<name>``),
    ``results`` of the stages run so far (by stage name)."""

    spec: StudySpec
    root: Path
    show_progress: bool = False
    train: bool = True
    results: dict[str, Any] = field(default_factory=dict)
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
        """The JSON at ``path``: read when there, else computed, written and returned."""
        if path.exists():
            return json.loads(path.read_text())
        value = compute()
        write_json(path, value)
        release_memory()
        return json.loads(json_text(value))

    # --- zoos -------------------------------------------------------------------------------------
    def zoo(self, name: str) -> ZooSpec:
        if name not in self.spec.zoos:
            raise ConfigError(f"{self.spec.source}: no zoo named {name!r}; defined: {', '.join(self.spec.zoos) or 'none'}")
        return self.spec.zoos[name]

    def run_dir(self, zoo: ZooSpec, alias: str, k: int) -> Path:
        """The run directory of ``alias`` in zoo ``k``, trained (or resumed) unless finished."""
        from avrobust.jobs.train import train_model

        base = self.root / "zoos" / zoo.name
        marker = base / "spec.json"
        if marker.exists() and json.loads(marker.read_text()) != json.loads(json_text(zoo.describe())):
            raise ConfigError(f"{base} was trained from another definition of zoo {zoo.name!r}; rename the zoo in "
                              f"{self.spec.source} or pass another --root")
        if not marker.exists():
            write_json(marker, zoo.describe())
        i = [ZOO.canonical(m) for m in zoo.models].index(ZOO.canonical(alias))
        out = base / f"s{k}" / zoo.models[i]
        if (out / SUMMARY_FILE).exists() and read_meta(out).get("epoch") == zoo.epochs:
            return out
        if not self.train:
            raise ConfigError(f"{out} is not trained; run the study without --no-train")
        options = dict(zoo.train)
        method = options.pop("method", "standard")
        console.print(f"study {self.spec.name}: training {zoo.name} s{k} {zoo.models[i]} (seed {SEED_STRIDE * k + i})")
        train_model(zoo.data, zoo.models[i], out, epochs=zoo.epochs, seed=SEED_STRIDE * k + i, method=method,
                    resume=(out / "checkpoint.json").exists(), overwrite=not (out / "checkpoint.json").exists(),
                    show_progress=self.show_progress, **options)
        release_memory()
        return out

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

    def members(self, refs: Sequence[str], k: int) -> list[Member]:
        """The models named by ``refs`` in zoo ``k``, labelled by alias (``zoo:alias`` where zoos share one)."""
        pairs = self.refs(refs)
        clash = len({a for _, a in pairs}) != len(pairs)
        out = []
        for zoo, alias in pairs:
            run = self.run_dir(zoo, alias, k)
            if run not in self._loaded:
                (self._loaded[run],) = load_members([run])
            out.append(replace(self._loaded[run], label=f"{zoo.name}:{alias}" if clash else alias))
        return out


def ensemble_member(members: Sequence[Member]) -> Member:
    """One member averaging the logits of ``members`` (the paper's ensemble surrogate)."""
    return Member("ens(" + "+".join(m.label for m in members) + ")", Ensemble([m.model for m in members]).eval(),
                  tuple(s for m in members for s in m.sources), members[0].meta)
