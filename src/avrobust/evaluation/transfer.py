"""Transfer matrices: craft on each surrogate, test on each victim.

Every attack crafts adversarial clips on a surrogate (white box, true labels, all clips) and each
victim classifies them. Per (surrogate, victim, attack) the row holds the victim's
``attack_success_rate`` (the share of the clips the victim gets right when clean that the
adversarial clips make wrong, PAPER.md), ``robust_accuracy`` (the victim's accuracy on the
adversarial clips), ``clean_accuracy`` and ``white_box`` (the victim is the surrogate or one of its
ensemble members). Black-box summaries average over the rows with ``white_box`` false only.

The crafted clips are never stored: each batch is crafted once per (surrogate, attack) and shown to
every victim at once, so a matrix costs one attack run per surrogate and attack.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avrobust.attacks.base import Attack
from avrobust.attacks.ensemble import Ensemble
from avrobust.attacks.temporal_modality import modality_agreement
from avrobust.checkpoint import load_checkpoint
from avrobust.console import progress_bar
from avrobust.data import AVDataset
from avrobust.errors import ConfigError
from avrobust.evaluation.metrics import check_finite
from avrobust.distributed import all_reduce_max, all_reduce_sum, context
from avrobust.evaluation.perceptibility import PerceptibilityMeter
from avrobust.evaluation.robust import attack_generator, check_budget
from avrobust.models.zoo import ZOO

SCHEMA_VERSION = 1


@dataclass
class Member:
    """A model in a transfer study.

    Attributes:
        label: short unique name in tables (the zoo alias, e.g. ``AsV``, when unique).
        model: the classifier (eval mode).
        sources: resolved run directories (several for an ensemble); equal sources mean white box.
        meta: checkpoint metadata of the first source.
    """

    label: str
    model: nn.Module
    sources: tuple[str, ...]
    meta: dict[str, Any]


def expand_run_dirs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories from ``paths``: a run directory stays, a zoo directory (``zoo.json`` or
    sub-directories holding checkpoints) becomes its runs, in name order."""
    from avrobust.checkpoint import CHECKPOINT_FILE

    runs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if (path / CHECKPOINT_FILE).exists():
            runs.append(path)
            continue
        if not path.is_dir():
            raise ConfigError(f"{path} does not exist; pass a run directory from 'avrobust train' or a zoo "
                              "directory from 'avrobust train-zoo'")
        inner = sorted(p for p in path.iterdir() if (p / CHECKPOINT_FILE).exists())
        if not inner:
            raise ConfigError(f"{path} holds no checkpoint and no run directories; train one with 'avrobust train'")
        runs.extend(inner)
    resolved = [str(p.resolve()) for p in runs]
    if len(set(resolved)) != len(resolved):
        raise ConfigError("a run directory is listed twice")
    return runs


def load_members(paths: Sequence[str | Path], *, ensemble: bool = False) -> list[Member]:
    """Load the checkpoints under ``paths`` (see :func:`expand_run_dirs`) in eval mode.

    With ``ensemble`` the models become one :class:`~avrobust.attacks.Ensemble` member.
    """
    runs = expand_run_dirs(paths)
    loaded = []
    for run in runs:
        ckpt = load_checkpoint(run)
        loaded.append((run, ckpt.model.eval(), ckpt.meta))
    labels = _labels([(run, meta) for run, _, meta in loaded])
    members = [Member(label, model, (str(run.resolve()),), meta) for label, (run, model, meta) in zip(labels, loaded)]
    if ensemble and len(members) > 1:
        net = Ensemble([m.model for m in members]).eval()
        return [Member("ens(" + "+".join(m.label for m in members) + ")", net,
                       tuple(s for m in members for s in m.sources), members[0].meta)]
    return members


def _labels(runs: Sequence[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Zoo aliases where unique, else the run directory names (parent/name when those clash too)."""
    aliases = []
    for _, meta in runs:
        name = meta.get("model_name", "")
        aliases.append(ZOO.aliases_of(name)[0] if name in ZOO and ZOO.aliases_of(name) else name or "model")
    if len(set(aliases)) == len(aliases):
        return aliases
    names = [run.name for run, _ in runs]
    if len(set(names)) == len(names):
        return names
    return [f"{run.parent.name}/{run.name}" for run, _ in runs]


def check_members(members: Sequence[Member], dataset: AVDataset) -> None:
    """Raise a one-line error if a member was trained on other classes than ``dataset`` has."""
    for m in members:
        if m.meta.get("class_names", dataset.class_names) != dataset.class_names:
            raise ConfigError(f"{m.label} ({m.sources[0]}) was trained on other classes than {dataset.spec} has; "
                              "use models trained on the same data")


@torch.no_grad()
def _predict(model: nn.Module, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(video, audio)
    check_finite(out, "")
    return out.logits.argmax(1), modality_agreement(out)


def transfer_matrix(
    surrogates: Sequence[Member],
    victims: Sequence[Member],
    dataset: AVDataset,
    attacks: Sequence[Attack],
    *,
    indices: torch.Tensor | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Craft every attack on every surrogate and test on every victim.

    Args:
        surrogates, victims: see :func:`load_members`; the same model may appear in both (white box).
        dataset: the clips (or the ones at ``indices``); attacks: with unique labels.

    Returns:
        JSON-ready ``{"n", "data", "split", "victims", "surrogates", "attacks", "crafting", "matrix",
        "summary", "seconds"}``. ``matrix`` rows: ``surrogate``, ``victim``, ``attack``,
        ``attack_success_rate``, ``robust_accuracy``, ``clean_accuracy``, ``white_box``,
        ``modality_cosine`` (the victim's mean cosine of softmax(p_a), softmax(p_v) on the
        adversarial clips). ``crafting`` has per (surrogate, attack) seconds and perceptibility (PSNR, SSIM, SNR,
        segmental SNR, max norms).
        ``summary`` per attack: mean and std of black-box ASR over the pairs, white-box ASR mean.
    """
    if not surrogates or not victims or not attacks:
        raise ConfigError("a transfer matrix needs at least one surrogate, one victim and one attack")
    if len({a.label for a in attacks}) != len(attacks):
        raise ConfigError("attack labels must be unique within one transfer matrix")
    for group in (surrogates, victims):
        if len({m.label for m in group}) != len(group):
            raise ConfigError("member labels must be unique")
        check_members(group, dataset)
    start = time.perf_counter()
    idx = torch.arange(len(dataset)) if indices is None else indices
    n = len(idx)
    device = next(victims[0].model.parameters()).device
    for m in (*surrogates, *victims):
        m.model.eval()
        m.model.check_batch(dataset.batch(idx[:1])[0].to(device))

    clean: dict[str, torch.Tensor] = {}
    for v in victims:
        flags = []
        for batch, labels in dataset.batches(batch_size, indices=idx):
            batch = batch.to(device)
            flags.append((_predict(v.model, batch.video, batch.audio)[0] == labels.to(device)).cpu())
        clean[v.label] = torch.cat(flags)

    rows: list[dict[str, Any]] = []
    crafting: list[dict[str, Any]] = []
    total = len(surrogates) * len(attacks) * -(-n // batch_size)
    with progress_bar(total, "transfer", enabled=show_progress) as advance:
        for s, attack in ((s, a) for s in surrogates for a in attacks):
            _craft_and_test(s, victims, attack, dataset, idx, batch_size, device, clean, rows, crafting, advance)
    return {
        "schema_version": SCHEMA_VERSION, "n": n, "data": dataset.spec, "split": dataset.split,
        "surrogates": {s.label: list(s.sources) for s in surrogates},
        "victims": {v.label: {"sources": list(v.sources), "clean_accuracy": float(clean[v.label].float().mean())}
                    for v in victims},
        "attacks": {a.label: a.describe() for a in attacks},
        "crafting": crafting, "matrix": rows, "summary": summarize(rows),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _craft_and_test(s: Member, victims: Sequence[Member], attack: Attack, dataset: AVDataset, idx: torch.Tensor,
                    batch_size: int, device: torch.device, clean: dict[str, torch.Tensor],
                    rows: list[dict[str, Any]], crafting: list[dict[str, Any]], advance: Any) -> None:
    """One (surrogate, attack): craft batch by batch, test on every victim, append rows and costs."""
    n = len(idx)
    fooled = {v.label: torch.zeros(n, dtype=torch.bool) for v in victims}
    cosine = {v.label: 0.0 for v in victims}
    meter, seconds, pos = PerceptibilityMeter(attack.threat.video.norm, attack.threat.audio.norm), 0.0, 0
    ctx = context()
    for k, chunk in enumerate(dataset.batch_indices(batch_size, indices=idx)):
        sl = slice(pos, pos + len(chunk))
        pos += len(chunk)
        if not ctx.mine(k):  # under torchrun another process crafts this batch
            advance()
            continue
        batch, labels = dataset.batch(chunk)
        batch, labels = batch.to(device), labels.to(device)
        t0 = time.perf_counter()
        adv = attack(s.model, batch, labels, generator=attack_generator(attack, pos, device))
        seconds += time.perf_counter() - t0
        check_budget(attack, batch, adv)
        meter.update(batch, adv)
        for v in victims:
            pred, cos = _predict(v.model, adv.video, adv.audio)
            fooled[v.label][sl] = (pred != labels).cpu()
            cosine[v.label] += float(cos.sum())
        advance()
    if ctx.enabled:  # each batch was crafted by one process: sums gather the results exactly
        fooled = {k: all_reduce_sum(f.to(torch.int32)).bool() for k, f in fooled.items()}
        sums = all_reduce_sum(torch.tensor([cosine[v.label] for v in victims], dtype=torch.float64))
        cosine = {v.label: float(c) for v, c in zip(victims, sums)}
        meter.merge_ranks()
        seconds = all_reduce_max(seconds)
    crafting.append({"surrogate": s.label, "attack": attack.label, "seconds": round(seconds, 3), **meter.summary()})
    for v in victims:
        ok = clean[v.label]
        correct = int(ok.sum())
        rows.append({
            "surrogate": s.label, "victim": v.label, "attack": attack.label,
            "attack_success_rate": float((ok & fooled[v.label]).sum()) / max(correct, 1),
            "robust_accuracy": float((ok & ~fooled[v.label]).sum()) / max(n, 1),
            "clean_accuracy": correct / max(n, 1),
            "white_box": bool(set(s.sources) & set(v.sources)),
            "modality_cosine": cosine[v.label] / max(n, 1),
        })


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (``None`` where undefined)."""
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per attack: ``black_box_asr`` mean/std/pairs over rows with ``white_box`` false,
    ``white_box_asr`` mean over the others, ``black_box_robust_accuracy`` mean."""
    out: dict[str, dict[str, Any]] = {}
    for attack in dict.fromkeys(r["attack"] for r in rows):
        black = [r for r in rows if r["attack"] == attack and not r["white_box"]]
        white = [r for r in rows if r["attack"] == attack and r["white_box"]]
        bb_mean, bb_std = mean_std([r["attack_success_rate"] for r in black])
        out[attack] = {
            "black_box_asr": bb_mean, "black_box_asr_std": bb_std, "black_box_pairs": len(black),
            "black_box_robust_accuracy": mean_std([r["robust_accuracy"] for r in black])[0],
            "white_box_asr": mean_std([r["attack_success_rate"] for r in white])[0],
        }
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def render_markdown(result: dict[str, Any]) -> str:
    """Markdown: the per-attack summary, then one surrogate x victim ASR table per attack."""
    any_attack = next(iter(result["attacks"].values()))
    b = any_attack["budget"]
    lines = [
        "# Transfer attack success rates",
        "",
        f"Data `{result['data']}` ({result['split']}, {result['n']} clips). Budgets: video {b['video']['norm']} "
        f"eps {b['video']['eps']:.4g} (= {b['video']['eps'] * 255:.1f}/255), audio {b['audio']['norm']} eps "
        f"{b['audio']['eps']:.4g}; attacked: {', '.join(any_attack['modalities'])}; steps: "
        + ", ".join(f"{k} {v['steps']}" for k, v in result["attacks"].items()) + ".",
        "",
        "ASR (%) = share of the clips a victim classifies correctly when clean that the attack makes wrong. "
        "Black box: victim is not the surrogate (or an ensemble member); white box in [brackets].",
        "",
        "| attack | black-box ASR % (mean +- std over pairs) | pairs | white-box ASR % | victims' robust acc % |",
        "|---|---|---|---|---|",
    ]
    for attack, s in result["summary"].items():
        std = "" if s["black_box_asr_std"] is None else f" +- {100 * s['black_box_asr_std']:.1f}"
        lines.append(f"| {attack} | {_pct(s['black_box_asr'])}{std} | {s['black_box_pairs']} | "
                     f"{_pct(s['white_box_asr'])} | {_pct(s['black_box_robust_accuracy'])} |")
    victims = list(result["victims"])
    clean = " ".join(f"{v} {100 * d['clean_accuracy']:.1f}" for v, d in result["victims"].items())
    lines += ["", f"Victims' clean accuracy %: {clean}.", ""]
    for attack in result["attacks"]:
        lines += [f"## {attack}: ASR % (rows: surrogate, columns: victim)", "",
                  "| surrogate | " + " | ".join(victims) + " |", "|---" * (len(victims) + 1) + "|"]
        for s in result["surrogates"]:
            cells = []
            for v in victims:
                r = next(r for r in result["matrix"] if r["surrogate"] == s and r["victim"] == v and r["attack"] == attack)
                cell = _pct(r["attack_success_rate"])
                cells.append(f"[{cell}]" if r["white_box"] else cell)
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_heatmaps(result: dict[str, Any], path: str | Path) -> Path:
    """One ASR heatmap (surrogate x victim) per attack in a grid; white-box cells outlined."""
    from avrobust.plotting import heatmap_grid

    surrogates, victims = list(result["surrogates"]), list(result["victims"])
    panels = {}
    for attack in result["attacks"]:
        grid = [[0.0] * len(victims) for _ in surrogates]
        marks = []
        for r in result["matrix"]:
            if r["attack"] == attack:
                i, j = surrogates.index(r["surrogate"]), victims.index(r["victim"])
                grid[i][j] = r["attack_success_rate"]
                if r["white_box"]:
                    marks.append((i, j))
        panels[attack] = (grid, marks)
    return heatmap_grid(panels, surrogates, victims, path, title=f"transfer ASR on {result['data']} ({result['n']} clips)")


def write_outputs(result: dict[str, Any], json_path: str | Path) -> list[Path]:
    """Write ``X.json``, ``X.md`` and ``X.png`` for ``json_path = X.json``; return the paths."""
    from avrobust.checkpoint import atomic_write_bytes, write_json

    json_path = Path(json_path)
    md, png = json_path.with_suffix(".md"), json_path.with_suffix(".png")
    write_json(json_path, result)
    atomic_write_bytes(md, render_markdown(result).encode())
    plot_heatmaps(result, png)
    return [json_path, md, png]
