"""Robust evaluation: run attacks as a cascade with per-sample robust flags.

Every attack runs on every clip the model classifies correctly (clips it already gets wrong count
as not robust), so each attack gets its own robust accuracy; the worst case is the AND of the
per-sample flags over all attacks. Before reporting, every perturbation is checked against its
budget and the valid range; a violation stops the run (it would be a bug in an attack). Under
torchrun each process attacks every W-th batch (the same batches, offsets and generators as one
process) and the per-clip flags are summed across processes, so the results are identical.

Attack success rate (PAPER.md): the share of the clips the model classifies correctly when clean
that the attack makes wrong (targeted: that it turns into the target class).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks.base import Attack
from avrobust.attacks.threat import within_budget
from avrobust.checkpoint import tensor_digest, write_json
from avrobust.console import progress
from avrobust.data import AVDataset
from avrobust.distributed import all_reduce_max, all_reduce_sum, context
from avrobust.evaluation.metrics import check_finite
from avrobust.evaluation.perceptibility import PerceptibilityMeter, max_norm
from avrobust.models.classifier import AVClassifier


class BudgetViolation(RuntimeError):
    """An attack returned a perturbation outside its budget or range (a bug, never expected)."""


def robust_evaluation(model: AVClassifier, dataset: AVDataset, attacks: Sequence[Attack], *,
                      batch_size: int = 64, show_progress: bool = False,
                      indices: torch.Tensor | None = None, progress_file: str | Path | None = None) -> dict[str, Any]:
    """Run ``attacks`` on ``dataset`` (or the clips at ``indices``).

    With ``progress_file`` the state is saved after every batch and a rerun of the same evaluation
    (same model, clips, attacks and batch size) continues where it stopped; the file is removed at the
    end. (Under torchrun the batches are shared instead and no progress file is kept.)

    Returns:
        ``{"n", "clean_correct", "attacks": {name: result}, "worst_case_robust_accuracy"}``.
        Each result holds ``robust_accuracy``, ``attack_success_rate``, ``budget``, ``steps``,
        ``modalities``, ``psnr_db``, ``ssim`` (video), ``snr_db``, ``segmental_snr_db`` (audio; means
        over attacked clips), ``max_norm`` per modality, ``seconds`` and the attack's options.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ctx = context()
    idx = torch.arange(len(dataset)) if indices is None else indices
    n = len(idx)
    clean_ok = torch.zeros(n, dtype=torch.bool)
    if len({a.label for a in attacks}) != len(attacks):
        raise ValueError("attack labels must be unique within one evaluation")
    robust = {a.label: torch.zeros(n, dtype=torch.bool) for a in attacks}
    meters = {a.label: PerceptibilityMeter(a.threat.video.norm, a.threat.audio.norm) for a in attacks}
    seconds = {a.label: 0.0 for a in attacks}
    progress_path = Path(progress_file) if progress_file is not None and not ctx.enabled else None
    key = None if progress_path is None else {
        "model": tensor_digest(model.state_dict()), "indices": idx.tolist(), "batch_size": batch_size,
        "attacks": {a.label: a.describe() for a in attacks}}
    done = 0
    if progress_path is not None and progress_path.exists():
        saved = json.loads(progress_path.read_text())
        if saved.get("key") == key:
            done = int(saved["batches"])
            clean_ok = torch.tensor(saved["clean_ok"], dtype=torch.bool)
            robust = {k: torch.tensor(v, dtype=torch.bool) for k, v in saved["robust"].items()}
            for label, state in saved["meters"].items():
                meters[label].load_state(state)
            seconds = saved["seconds"]
    try:
        pos = 0
        chunks = dataset.batch_indices(batch_size, indices=idx)
        for k, chunk in enumerate(progress(chunks, total=len(chunks), description="attack", enabled=show_progress)):
            sl = slice(pos, pos + len(chunk))
            pos += len(chunk)
            if not ctx.mine(k) or k < done:  # another process's batch, or one finished before a restart
                continue
            batch, labels = dataset.batch(chunk)
            batch, labels = batch.to(device), labels.to(device)
            model.check_batch(batch)
            with torch.no_grad():
                out = model(batch.video, batch.audio)
            check_finite(out, " on clean clips")
            ok = out.logits.argmax(1) == labels
            clean_ok[sl] = ok.cpu()
            if not bool(ok.any()):
                continue
            sub, sub_labels = batch.index(ok), labels[ok]
            for attack in attacks:
                start = time.perf_counter()
                adv = attack(model, sub, sub_labels, generator=attack_generator(attack, pos, device))
                seconds[attack.label] += time.perf_counter() - start
                check_budget(attack, sub, adv)
                with torch.no_grad():
                    adv_out = model(adv.video, adv.audio)
                check_finite(adv_out, f" on {attack.label} examples")
                flags = torch.zeros(batch.size, dtype=torch.bool)
                flags[ok.cpu()] = (adv_out.logits.argmax(1) == sub_labels).cpu()
                robust[attack.label][sl] = flags
                meters[attack.label].update(sub, adv)
            if progress_path is not None:
                write_json(progress_path, {"key": key, "batches": k + 1, "clean_ok": clean_ok.tolist(),
                                           "robust": {a: f.tolist() for a, f in robust.items()},
                                           "meters": {a: m.state() for a, m in meters.items()}, "seconds": seconds})
    finally:
        model.train(was_training)
    if ctx.enabled:  # each clip was handled by one process: summing the flags gathers them exactly
        clean_ok = all_reduce_sum(clean_ok.to(torch.int32)).bool()
        robust = {k: all_reduce_sum(v.to(torch.int32)).bool() for k, v in robust.items()}
        for label in meters:
            meters[label].merge_ranks()
            seconds[label] = all_reduce_max(seconds[label])
    if progress_path is not None:
        progress_path.unlink(missing_ok=True)
    correct = int(clean_ok.sum())
    results: dict[str, Any] = {}
    worst = clean_ok.clone()
    for attack in attacks:
        flags = robust[attack.label]
        worst &= flags
        desc = attack.describe()
        results[attack.label] = {
            "attack": attack.name,
            "robust_accuracy": float(flags.sum()) / max(n, 1),
            "attack_success_rate": float((clean_ok & ~flags).sum()) / max(correct, 1),
            "budget": desc["budget"],
            "steps": desc["steps"],
            "modalities": desc["modalities"],
            "restarts": desc["restarts"],
            "loss": desc["loss"],
            "options": desc["options"],
            **meters[attack.label].summary(),
            "seconds": round(seconds[attack.label], 3),
            "robust_flags": flags.to(torch.int8).tolist(),
        }
    return {"n": n, "clean_correct": correct, "attacks": results,
            "worst_case_robust_accuracy": float(worst.sum()) / max(n, 1) if attacks else None}


def attack_generator(attack: Attack, offset: int, device: torch.device) -> torch.Generator:
    """A per-batch generator seeded by the attack's seed and the batch's end offset: results do not
    depend on which attacks ran before."""
    g = torch.Generator(device=device)
    g.manual_seed(attack.seed * 1_000_003 + offset)
    return g


def check_budget(attack: Attack, clean: Any, adv: Any) -> None:
    """Raise :class:`BudgetViolation` if ``adv`` leaves the attack's budgets, range or modalities."""
    for m in ("video", "audio"):
        x, xa = getattr(clean, m), getattr(adv, m)
        if m not in attack.threat.modalities:
            if not torch.equal(x, xa):
                raise BudgetViolation(f"{attack.name} changed the {m}, which it was not allowed to attack")
            continue
        ok = within_budget(xa, x, attack.threat.budget(m))
        if not bool(ok.all()):
            worst = max_norm(x, xa, attack.threat.budget(m).norm)
            raise BudgetViolation(f"{attack.name} left the {m} budget (eps {attack.threat.budget(m).eps:g}, "
                                  f"measured {worst:g}) or range; this is a bug, please report it")
