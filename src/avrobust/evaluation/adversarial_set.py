"""Adversarial sets: craft once on a source model, score any model on them later (torchattacks' ``save``,
TransferAttack's ``--eval``), also models outside PyTorch (ONNX).

``OUT/manifest.json`` records the data (spec, split, clip indices), budgets, the attack specs, the source
model (run directory, name, checksum of its weights), the batch size and, per attack, its shards and
crafting cost; ``OUT/<a>/batch-<k>.safetensors`` hold batch ``k``'s adversarial clips (video float32
``[B, T, 3, H, W]``, audio float32 ``[B, L]``, ``labels``, ``indices``). Crafting runs through the one
engine (:func:`~avrobust.evaluation.engine.attack_and_score`, the source its own victim) and is resumable:
its progress is saved after every batch. Scoring a victim on a set uses the shards as batches, so it
equals the transfer matrix's row for the same pair, attack, clips and batch size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from avrobust.attacks.base import Attack
from avrobust.data import AVDataset
from avrobust.device import autocast, describe
from avrobust.errors import ConfigError
from avrobust.evaluation.engine import Outcome, classify_clips, attack_and_score
from avrobust.evaluation.memory import within_memory
from avrobust.evaluation.transfer_matrix import Member, transfer_row, summarize
from avrobust.evaluation.perceptibility import PerceptibilityMeter
from avrobust.io import check_writable, refuse_run_dir, write_json
from avrobust.models.classifier import eval_mode
from avrobust.models.interface import AVModel, model_device
from avrobust.results import TransferResult
from avrobust.types import AVBatch

MANIFEST = "manifest.json"
FORMAT = "avrobust-adversarial-set"
VERSION = 1


def _settings(source: Member, dataset: AVDataset, attacks: Sequence[Attack], idx: torch.Tensor,
              batch_size: int) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "data": dataset.spec, "split": dataset.split,
            "class_names": list(dataset.class_names), "indices": idx.tolist(), "batch_size": batch_size,
            "source": {"label": source.label, "run_dir": source.sources[0], "model_name": source.meta.get("model_name", ""),
                       "tensors_sha256": source.meta.get("tensors_sha256")},
            "attacks": {a.label: {"dir": f"a{i}", "spec": a.describe()} for i, a in enumerate(attacks)}}


def craft_set(source: Member, dataset: AVDataset, attacks: Sequence[Attack], out: str | Path, *,
              indices: torch.Tensor | None = None, batch_size: int = 64, precision: str = "fp32",
              show_progress: bool = False) -> dict[str, Any]:
    """Craft every attack on ``source`` over ``dataset`` (the clips at ``indices``) into ``out``; return the
    manifest (with the source's white-box ASR and robust accuracy per attack). A directory holding a set of
    other settings is refused; one of the same settings is continued."""
    out = Path(out)
    idx = torch.arange(len(dataset)) if indices is None else indices
    settings = _settings(source, dataset, attacks, idx, batch_size)
    if (out / MANIFEST).exists():
        old = json.loads((out / MANIFEST).read_text())
        kept = {k: old.get(k) for k in settings} | {"attacks": {label: {"dir": a.get("dir"), "spec": a.get("spec")}
                                                             for label, a in (old.get("attacks") or {}).items()}}
        if kept != settings:
            raise ConfigError(f"{out} holds an adversarial set of other settings (data, clips, attacks or source); "
                              "choose another directory or delete it")
        if old.get("complete"):
            return old
    else:
        refuse_run_dir(out, "the adversarial set")
    check_writable(out)
    write_json(out / MANIFEST, {**settings, "complete": False})
    dirs = {label: out / a["dir"] for label, a in settings["attacks"].items()}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    def sink(label: str, k: int, chunk: torch.Tensor, adv: AVBatch, labels: torch.Tensor) -> None:
        save_file({"video": adv.video.detach().float().cpu().contiguous(), "audio": adv.audio.detach().float().cpu().contiguous(),
                   "labels": labels.cpu().contiguous(), "indices": chunk.cpu().contiguous()},
                  str(dirs[label] / f"batch-{k:05d}.safetensors"))

    start = time.perf_counter()
    scores = attack_and_score(source.model, {source.label: source.model}, dataset, attacks, indices=idx,
                              batch_size=batch_size, progress_file=out / "progress.json", show_progress=show_progress,
                              description=f"craft on {source.label}", precision=precision, sink=sink)
    clean = scores.clean[source.label]
    for label, a in settings["attacks"].items():
        outcome = scores.outcomes[label]
        row = transfer_row(source, source, label, clean, outcome)
        a.update({"shards": sorted(p.name for p in dirs[label].glob("batch-*.safetensors")), "seconds": round(outcome.seconds, 3),
                  "perceptibility": outcome.meter.summary(), "white_box_asr": row["attack_success_rate"],
                  "white_box_robust_accuracy": row["robust_accuracy"]})
    manifest = {**settings, "complete": True, "n": scores.n, "clean_accuracy": float(clean.float().mean()),
                "seconds": round(time.perf_counter() - start, 3)}
    write_json(out / MANIFEST, manifest)
    return manifest


def read_set(path: str | Path) -> dict[str, Any]:
    """The manifest of the complete adversarial set in ``path``; one line when it is not one."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise ConfigError(f"{path} holds no adversarial set; craft one with 'avrobust attack --save {path}'")
    manifest = json.loads((path / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{path / MANIFEST} is not an avrobust adversarial set")
    if not manifest.get("complete"):
        raise ConfigError(f"the adversarial set in {path} is unfinished; rerun the 'avrobust attack --save' that "
                          "made it to finish it")
    return manifest


@torch.no_grad()
def score_set(victim: Member, path: str | Path, dataset: AVDataset, *, precision: str = "fp32",
              show_progress: bool = False) -> TransferResult:
    """The transfer rows of ``victim`` on the set in ``path`` (``dataset``: the set's data and split): per
    attack its ASR, robust and clean accuracy, white box when the victim is the set's source."""
    path = Path(path)
    manifest = read_set(path)
    if list(dataset.class_names) != manifest["class_names"] or dataset.spec != manifest["data"]:
        raise ConfigError(f"the set in {path} was crafted on {manifest['data']}; score it on that data")
    start = time.perf_counter()
    idx = torch.tensor(manifest["indices"], dtype=torch.long)
    n, device, model = len(idx), model_device(victim.model), victim.model
    clean = torch.zeros(n, dtype=torch.bool)
    source = Member(manifest["source"]["label"], model, (manifest["source"]["run_dir"],), {})
    rows, crafting = [], []
    right_of: dict[str, torch.Tensor] = {}  # the victim on each batch's clean clips: once, shared by the attacks
    with eval_mode(model), autocast(device, precision):
        for a_label, a in manifest["attacks"].items():
            outcome = Outcome(None, {victim.label: torch.zeros(n, dtype=torch.bool)}, {victim.label: 0.0},  # type: ignore[arg-type]
                              PerceptibilityMeter(a["spec"]["budget"]["video"]["norm"], a["spec"]["budget"]["audio"]["norm"]),
                              a["seconds"])
            pos = 0
            for shard in a["shards"]:
                with safe_open(str(path / a["dir"] / shard), framework="pt") as f:
                    video, audio = f.get_tensor("video"), f.get_tensor("audio")
                    labels, chunk = f.get_tensor("labels"), f.get_tensor("indices")
                batch, _ = dataset.batch(chunk)
                adv = batch.with_inputs(video, audio)
                if not right_of:
                    model.check_batch(batch)
                sl = slice(pos, pos + len(chunk))
                pos += len(chunk)
                if shard not in right_of:
                    right_of[shard] = _predict(model, batch.to(device), " on clean clips")[0].cpu() == labels
                right = right_of[shard]
                pred, cosine = _predict(model, adv.to(device), f" on {a_label} examples")
                clean[sl] = right
                outcome.robust[victim.label][sl] = (pred.cpu() == labels) & right
                outcome.cosine[victim.label] += float(cosine.sum())
            if pos != n:
                raise ConfigError(f"the set in {path} lacks shards of {a_label} ({pos} of {n} clips); craft it again")
            rows.append(transfer_row(source, victim, a_label, clean, outcome))
            crafting.append({"surrogate": source.label, "attack": a_label, "seconds": a["seconds"], **a["perceptibility"]})
    return TransferResult(
        n=n, data=manifest["data"], split=manifest["split"], surrogates={source.label: [manifest["source"]["run_dir"]]},
        victims={victim.label: {"sources": list(victim.sources), "clean_accuracy": float(clean.float().mean())}},
        attacks={k: a["spec"] for k, a in manifest["attacks"].items()}, crafting=crafting, matrix=rows,
        summary=summarize(rows), device=describe(device), precision=precision, seconds=round(time.perf_counter() - start, 3))


def _predict(model: AVModel, clips: AVBatch, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    return within_memory(lambda m: classify_clips(m, clips, where), model, clips.size)
