"""The preprocessing cache: decode real clips once into sharded safetensors files with a manifest.

``OUT/manifest.json`` records the decoding parameters, the class names and, per source file, its
size and modification time, label, split, and where its clip lies (shard and row) or why it was
skipped. Shards (``OUT/<split>-<k>-<digest>.safetensors``: video uint8 ``[n, T, 3, S, S]``, audio
float32 ``[n, L]``, labels int64) hold up to ``shard_size`` clips of one split in sorted source order;
the digest names the sources' fingerprints, so a shard is never overwritten in place.

:func:`prepare` is idempotent (a shard whose sources are unchanged is kept as it is), resumable
(the manifest and each shard are written atomically, one shard at a time, so an interrupted run
keeps every finished shard), parallel (``workers`` decoding threads) and safe against bad files:
each is skipped with one warning and counted (``strict`` stops at the first instead), and a clip
already cached is kept when its source has become unreadable.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from avrobust.console import console, progress_bar, warn
from avrobust.data.sources import Item
from avrobust.data.decode import DecodeConfig, DecodeError, decode_clip
from avrobust.errors import ConfigError, InputError
from avrobust.io import write_json

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1  # the cache format (results have their own version, avrobust.record)
MAX_WARNINGS = 20


def fingerprint(item: Item) -> dict[str, Any]:
    """What identifies a source's content: path, size, modification time, the part used."""
    try:
        st = os.stat(item.path)
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime = None, None
    out = {"source": item.path, "size": size, "mtime_ns": mtime, "start": item.start, "end": item.end}
    if item.audio is not None:  # only then, so caches written before separate audio files stay valid
        try:
            st = os.stat(item.audio)
            out["audio"] = {"source": item.audio, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        except OSError:
            out["audio"] = {"source": item.audio, "size": None, "mtime_ns": None}
    return out


def _decode(args: tuple[Item, DecodeConfig]) -> tuple[np.ndarray, np.ndarray] | str:
    """Worker: the clip as (uint8 video, float32 audio), or the one-line reason it failed."""
    item, config = args
    try:
        video, audio = decode_clip(item.path, config, start=item.start, end=item.end, audio_path=item.audio)
    except DecodeError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - a decoder crash on one file must not end the run
        return f"{item.path}: cannot be decoded ({type(err).__name__}: {err})"
    return (video * 255).round().clamp(0, 255).to(torch.uint8).numpy(), audio.numpy()


def _read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise InputError(f"{path} is not valid JSON; delete the cache directory and prepare again") from None


def _old_clip(out: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """A clip stored by an earlier run (or None if its shard is gone)."""
    path = out / entry["shard"]
    if not path.exists():
        return None
    with safe_open(str(path), framework="np") as f:
        row = entry["row"]
        return f.get_slice("video")[row : row + 1][0], f.get_slice("audio")[row : row + 1][0]


def prepare(items: Sequence[Item], class_names: Sequence[str], out: str | Path, config: DecodeConfig, *,
            source: str = "", splits: Sequence[str] = ("train", "val", "test"), workers: int = 1,
            strict: bool = False, shard_size: int = 256, show_progress: bool = True) -> dict[str, Any]:
    """Decode ``items`` of ``splits`` into ``out``; returns the manifest (see the module docstring).

    Raises:
        ConfigError: the cache holds clips decoded with other parameters or classes.
        DecodeError: with ``strict``, the first bad file (finished shards are kept).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(out)
    if previous is not None and (previous["decode"] != config.describe() or previous["class_names"] != list(class_names)):
        raise ConfigError(f"the cache in {out} was prepared with other decoding options or classes "
                          f"({previous['decode']}); use the same options or another cache directory")
    entries: dict[str, dict[str, Any]] = {e["source"]: e for e in (previous or {}).get("entries", [])}
    class_index = {c: i for i, c in enumerate(class_names)}
    todo = sorted((i for i in items if i.split in splits and i.label in class_index), key=lambda i: (i.split, i.path))
    counts = {"decoded": 0, "kept": 0, "skipped": 0}
    # threads: FFmpeg decodes without the GIL (1.8x with 2 on 2 cores), and nothing is forked from a
    # process running torch (a forked pool crashed there; a spawned one spent 2 s per worker importing torch)
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    decode = functools.partial(pool.map if pool else map, _decode)
    try:
        with progress_bar(len(todo), "prepare", enabled=show_progress) as advance:
            for split in splits:
                split_items = [i for i in todo if i.split == split]
                for k in range(0, len(split_items), shard_size):
                    group = split_items[k : k + shard_size]
                    prints = [fingerprint(i) for i in group]
                    digest = hashlib.sha1(json.dumps(prints, sort_keys=True).encode()).hexdigest()[:10]
                    shard = f"{split}-{k // shard_size:05d}-{digest}.safetensors"
                    prior = [entries.get(i.path) for i in group]
                    if all(e is not None and e["fingerprint"] == p and e["shard"] in (shard, None)
                           for e, p in zip(prior, prints)) and ((out / shard).exists() or
                                                                all(e["status"] != "ok" for e in prior)):
                        counts["kept"] += sum(e["status"] == "ok" for e in prior)
                    else:
                        entries.update(_write_shard(out, shard, group, prints, prior, config, class_index, decode,
                                                    counts, strict))
                        _write_manifest(out, config, class_names, source, entries)
                    for _ in group:
                        advance()
    finally:
        if pool is not None:
            pool.shutdown()
    if counts["skipped"] > MAX_WARNINGS:
        warn(f"... and {counts['skipped'] - MAX_WARNINGS} more bad files (all listed in {out / MANIFEST})")
    manifest = _write_manifest(out, config, class_names, source, entries)
    used = {e["shard"] for e in entries.values() if e["status"] == "ok"}
    for stale in out.glob("*-[0-9][0-9][0-9][0-9][0-9]-*.safetensors"):
        if stale.name not in used:  # replaced shards, their clips copied into new ones
            stale.unlink()
    manifest["counts"] = counts
    if show_progress:
        console.print(f"prepare: {counts['decoded']} decoded, {counts['kept']} unchanged, "
                      f"{counts['skipped']} skipped (bad files) -> {out}")
    return manifest


def _write_shard(out: Path, shard: str, group: Sequence[Item], prints: list[dict[str, Any]],
                 prior: list[dict[str, Any] | None], config: DecodeConfig, class_index: dict[str, int],
                 decode: Callable[[Iterable[tuple[Item, DecodeConfig]]], Iterable[Any]], counts: dict[str, int],
                 strict: bool) -> dict[str, dict[str, Any]]:
    """Build ``out/shard`` from ``group`` (fingerprints ``prints``, earlier manifest entries ``prior``):
    clips cached earlier with the same fingerprint are copied, the rest decoded (``decode`` maps
    :func:`_decode` over jobs); bad files are counted and warned about (or raised with ``strict``).
    Returns the group's new manifest entries by source."""
    reuse = {i.path: _old_clip(out, e) for i, e, p in zip(group, prior, prints)
             if e is not None and e["status"] == "ok" and e["fingerprint"] == p}
    fresh = [i for i in group if reuse.get(i.path) is None]
    decoded = dict(zip((i.path for i in fresh), decode([(i, config) for i in fresh])))
    videos, audios, labels, new_entries = [], [], [], {}
    for item, fp, old in zip(group, prints, prior):
        result = reuse.get(item.path) or decoded[item.path]
        cached = item.path in reuse
        if isinstance(result, str) and old is not None and old["status"] == "ok" and fp["size"] is None:
            kept = _old_clip(out, old)  # the source is gone: keep what was cached
            if kept is not None:
                warn(f"{result}; kept the clip cached earlier")
                result, fp, cached = kept, old["fingerprint"], True
        entry = {"source": item.path, "fingerprint": fp, "label": item.label, "split": item.split}
        if isinstance(result, str):
            if strict:
                raise DecodeError(f"{result} (--strict stops at the first bad file; drop it to skip them)")
            counts["skipped"] += 1
            if counts["skipped"] <= MAX_WARNINGS:
                warn(f"skipped {result}")
            new_entries[item.path] = {**entry, "status": "skipped", "reason": result, "shard": None}
            continue
        counts["kept" if cached else "decoded"] += 1
        new_entries[item.path] = {**entry, "status": "ok", "shard": shard, "row": len(videos)}
        videos.append(result[0])
        audios.append(result[1])
        labels.append(class_index[item.label])
    if videos:
        tmp = out / (shard + ".tmp")
        save_file({"video": torch.from_numpy(np.stack(videos)), "audio": torch.from_numpy(np.stack(audios)),
                   "labels": torch.tensor(labels, dtype=torch.int64)}, str(tmp))
        tmp.replace(out / shard)
    return new_entries


def _write_manifest(out: Path, config: DecodeConfig, class_names: Sequence[str], source: str,
                    entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    manifest = {"schema_version": MANIFEST_VERSION, "source": source, "decode": config.describe(),
                "class_names": list(class_names), "fps": config.fps, "sample_rate": config.sample_rate,
                "entries": sorted(entries.values(), key=lambda e: e["source"])}
    write_json(out / MANIFEST, manifest)
    return manifest


def load_split(out: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Video ``[N, T, 3, S, S]`` uint8 (value / 255, as decoded), audio ``[N, L]``, labels ``[N]`` of one
    split of a prepared cache, in source order, and its manifest."""
    out = Path(out)
    manifest = _read_manifest(out)
    if manifest is None:
        raise ConfigError(f"{out} holds no prepared cache; run 'avrobust prepare --data SPEC --out {out}'")
    ok = [e for e in manifest["entries"] if e["split"] == split and e["status"] == "ok"]
    if not ok:
        raise InputError(f"the cache in {out} holds no {split} clips; check the dataset's splits and files")
    videos, audios, labels = [], [], []
    for shard in sorted({e["shard"] for e in ok}):
        with safe_open(str(out / shard), framework="pt") as f:
            rows = sorted(e["row"] for e in ok if e["shard"] == shard)
            v, a, y = f.get_tensor("video"), f.get_tensor("audio"), f.get_tensor("labels")
            videos.append(v[rows])
            audios.append(a[rows])
            labels.append(y[rows])
    return torch.cat(videos), torch.cat(audios), torch.cat(labels), manifest
