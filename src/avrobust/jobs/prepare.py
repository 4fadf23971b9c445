"""``avrobust prepare`` (decode a real video dataset once into a cache) and ``avrobust data`` (save the
splits of any dataset spec)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from avrobust.console import warn
from avrobust.data import DATASETS, SPLITS, load_dataset, parse_data_spec
from avrobust.data.cache import prepare as prepare_cache
from avrobust.errors import ConfigError
from avrobust.io import claim_files
from avrobust.specs import parse_spec


def decoded_datasets() -> list[str]:
    """The registered datasets decoded from video files (what ``prepare`` takes)."""
    return [n for n in DATASETS if DATASETS.get(n).decoded]


def prepare(data: str, out: str | Path, *, workers: int = 1, strict: bool = False) -> dict[str, Any]:
    """Decode the clips of a real dataset spec into the cache ``out`` (idempotent, resumable, bad files
    skipped unless ``strict``); return the manifest with ``name``, ``classes``, ``missing``,
    ``per_split`` and ``seconds`` added. The spec's own ``workers`` and ``strict`` win when given."""
    recipe, options, _ = parse_data_spec(data)
    if not recipe.decoded:
        raise ConfigError(f"'prepare' decodes video datasets ({', '.join(decoded_datasets())}), not {recipe.name!r}")
    items, class_names, missing = recipe.items(options)
    given = parse_spec(data)[1]
    workers = options.workers if "workers" in given else workers
    strict = options.strict if "strict" in given else strict
    if missing:
        warn(f"{len(missing)} annotated clips of {recipe.name} are not under root (first: {missing[0]}); they are left out")
    start = time.perf_counter()
    manifest = prepare_cache(items, class_names, Path(out), options.decode_config(), source=data, workers=workers,
                             strict=strict)
    per_split = {s: sum(e["split"] == s and e["status"] == "ok" for e in manifest["entries"]) for s in SPLITS}
    if not sum(per_split.values()):
        bad = [e for e in manifest["entries"] if e["status"] != "ok"]
        first = f" (first: {bad[0]['reason']})" if bad else ""
        raise ConfigError(f"nothing under {recipe.name}'s root decoded: {len(bad)} file(s) skipped{first}; every reason "
                          f"is in {Path(out) / 'manifest.json'}; check the files play (e.g. in ffprobe) and the root")
    return {**manifest, "name": recipe.name, "classes": len(class_names), "missing": len(missing),
            "per_split": per_split, "seconds": time.perf_counter() - start}


def save_splits(spec: str, out: str | Path, *, overwrite: bool = False) -> dict[str, int]:
    """Write every split of ``spec`` to ``out/<split>.safetensors`` (load later with ``saved:root=OUT``);
    return the clips per split."""
    out = Path(out)
    claim_files([out / f"{s}.safetensors" for s in SPLITS], overwrite=overwrite)
    counts = {}
    for split in SPLITS:
        dataset = load_dataset(spec, split)
        dataset.save(out / f"{split}.safetensors")
        counts[split] = len(dataset)
    return counts
