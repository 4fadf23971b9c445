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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks.base import Attack
from avrobust.attacks.ensemble import Ensemble
from avrobust.checkpoint import check_classes, load_checkpoint
from avrobust.data import AVDataset
from avrobust.errors import ConfigError
from avrobust.evaluation.engine import Outcome, attack_and_score
from avrobust.device import describe
from avrobust.models.interface import AVModel, model_device
from avrobust.models.model_zoo import ZOO
from avrobust.results import TransferResult, TransferRow, TransferSummary
from avrobust.stats import mean_std


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
    model: AVModel
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


def transfer_matrix(
    surrogates: Sequence[Member],
    victims: Sequence[Member],
    dataset: AVDataset,
    attacks: Sequence[Attack],
    *,
    indices: torch.Tensor | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
    precision: str = "fp32",
) -> TransferResult:
    """Craft every attack on every surrogate and test on every victim.

    Args:
        surrogates, victims: see :func:`load_members`; the same model may appear in both (white box).
        dataset: the clips (or the ones at ``indices``); attacks: with unique labels.
        precision: the models' forward passes (:func:`avrobust.device.autocast`).

    Returns:
        JSON-ready ``{"n", "data", "split", "victims", "surrogates", "attacks", "crafting", "matrix",
        "summary", "seconds"}``. ``matrix`` rows: ``surrogate``, ``victim``, ``attack``,
        ``attack_success_rate``, ``robust_accuracy``, ``clean_accuracy``, ``white_box``,
        ``modality_cosine`` (the victim's mean cosine of softmax(p_a), softmax(p_v) on the
        adversarial clips). ``crafting`` has per (surrogate, attack) seconds and perceptibility (PSNR, SSIM, SNR,
        segmental SNR, max norms).
        ``summary`` per attack: see :func:`summarize`.
    """
    if not surrogates or not victims or not attacks:
        raise ConfigError("a transfer matrix needs at least one surrogate, one victim and one attack")
    for group in (surrogates, victims):
        if len({m.label for m in group}) != len(group):
            raise ConfigError("member labels must be unique")
        for m in group:
            check_classes(m.meta, dataset, f"{m.label} ({m.sources[0]})")
    start = time.perf_counter()
    rows: list[TransferRow] = []
    crafting: list[dict[str, Any]] = []
    clean: dict[str, torch.Tensor] = {}
    for s in surrogates:
        scores = attack_and_score(s.model, {v.label: v.model for v in victims}, dataset, attacks, indices=indices,
                                  batch_size=batch_size, show_progress=show_progress, description=f"transfer {s.label}",
                                  precision=precision)
        clean = scores.clean
        for attack in attacks:
            outcome = scores.outcomes[attack.label]
            crafting.append({"surrogate": s.label, "attack": attack.label, "seconds": round(outcome.seconds, 3),
                             **outcome.meter.summary()})
            rows += [transfer_row(s, v, attack.label, clean[v.label], outcome) for v in victims]
    n = len(next(iter(clean.values())))
    return TransferResult(
        n=n, data=dataset.spec, split=dataset.split, surrogates={s.label: list(s.sources) for s in surrogates},
        victims={v.label: {"sources": list(v.sources), "clean_accuracy": float(clean[v.label].float().mean()),
                           **_unimodal(v.model)} for v in victims},
        attacks={a.label: a.describe() for a in attacks}, crafting=crafting, matrix=rows, summary=summarize(rows),
        device=describe(model_device(surrogates[0].model)), precision=precision,
        seconds=round(time.perf_counter() - start, 3))


def _unimodal(model: AVModel) -> dict[str, str]:
    """``{"unimodal": definition}`` for a model whose p_a, p_v are not its own heads (see avrobust.wrap)."""
    definition = model.unimodal_definition
    return {"unimodal": definition} if definition else {}


def transfer_row(s: Member, v: Member, attack: str, clean: torch.Tensor, outcome: Outcome) -> TransferRow:
    """The (surrogate ``s``, victim ``v``, ``attack``) cell from the victim's clean flags ``[n]`` and the outcome."""
    robust, n, correct = outcome.robust[v.label], len(clean), int(clean.sum())
    return TransferRow(surrogate=s.label, victim=v.label, attack=attack,
                       attack_success_rate=float((clean & ~robust).sum()) / max(correct, 1),
                       robust_accuracy=float(robust.sum()) / max(n, 1), clean_accuracy=correct / max(n, 1),
                       white_box=bool(set(s.sources) & set(v.sources)),
                       modality_cosine=outcome.cosine[v.label] / max(n, 1))


def summarize(rows: Sequence[TransferRow]) -> dict[str, TransferSummary]:
    """Per attack: ``black_box_asr`` mean/std/pairs over the rows with ``white_box`` false,
    ``black_box_robust_accuracy`` and ``black_box_cosine`` means over them, ``black_box_asr_per_victim``
    (mean over surrogates), and ``white_box_asr`` and ``white_box_cosine`` means over the others."""
    out: dict[str, TransferSummary] = {}
    for attack in dict.fromkeys(r["attack"] for r in rows):
        black = [r for r in rows if r["attack"] == attack and not r["white_box"]]
        white = [r for r in rows if r["attack"] == attack and r["white_box"]]
        bb_mean, bb_std = mean_std([r["attack_success_rate"] for r in black])
        per_victim = {v: mean_std([r["attack_success_rate"] for r in black if r["victim"] == v])[0]
                      for v in dict.fromkeys(r["victim"] for r in black)}
        out[attack] = TransferSummary(
            black_box_asr=bb_mean, black_box_asr_std=bb_std, black_box_pairs=len(black),
            black_box_robust_accuracy=mean_std([r["robust_accuracy"] for r in black])[0],
            black_box_cosine=mean_std([r["modality_cosine"] for r in black])[0], black_box_asr_per_victim=per_victim,
            white_box_asr=mean_std([r["attack_success_rate"] for r in white])[0],
            white_box_cosine=mean_std([r["modality_cosine"] for r in white])[0])
    return out
