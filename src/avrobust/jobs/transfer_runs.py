"""``avrobust transfer``: a transfer matrix over run or zoo directories, written as JSON, Markdown and a heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.attacks import ThreatModel, build_attacks, default_attacks
from avrobust.device import check_precision
from avrobust.evaluation.transfer_matrix import load_members, transfer_matrix
from avrobust.io import claim_files, write_text
from avrobust.jobs.common import first_clips, run_data
from avrobust.results import TransferResult
from avrobust.results.transfer import transfer_heatmaps, transfer_matrix_table, transfer_summary_table
from avrobust.tables import budget_text, markdown_tables

#: the attacks that declare the ``transfer`` selection, as one ``--attack`` value
TRANSFER_ATTACKS = ",".join(default_attacks("transfer"))


def run_transfer(surrogates: Sequence[str | Path], json_path: str | Path, *, victims: Sequence[str | Path] = (),
                 attacks: Sequence[str] = (TRANSFER_ATTACKS,), ensemble: bool = False, data: str | None = None,
                 split: str = "test", limit: int | None = None, steps: int | None = 10, seed: int = 0,
                 batch_size: int = 64, threat: ThreatModel | None = None, overwrite: bool = False,
                 show_progress: bool = True, precision: str = "fp32") -> TransferResult:
    """Craft every attack on every surrogate (or their ensemble), test on every victim (default: the
    surrogates), on the surrogates' data unless ``data`` is given; write ``json_path`` and, beside it,
    the Markdown tables (``.md``) and the heatmaps (``.png``)."""
    json_path = Path(json_path)
    claim_files(outputs(json_path), overwrite=overwrite)
    attack_list = build_attacks(attacks, threat, steps=steps, seed=seed)
    sur = load_members(surrogates, ensemble=ensemble)
    vic = load_members(victims or surrogates)
    dataset = run_data(sur[0].meta, data, split, f"the surrogate {sur[0].label}")
    result = transfer_matrix(sur, vic, dataset, attack_list, indices=first_clips(dataset, limit),
                             batch_size=batch_size, show_progress=show_progress, precision=check_precision(precision))
    write_transfer(result, json_path)
    return result


def outputs(json_path: Path) -> list[Path]:
    """``X.json``, ``X.md`` and ``X.png``."""
    return [json_path, json_path.with_suffix(".md"), json_path.with_suffix(".png")]


def write_transfer(result: TransferResult, json_path: str | Path) -> list[Path]:
    """Write the result, its Markdown tables and heatmaps (see :func:`outputs`); return the paths."""
    paths = outputs(Path(json_path))
    result.write(paths[0])
    write_text(paths[1], transfer_markdown(result))
    transfer_heatmaps(result, paths[2])
    return paths


def transfer_markdown(result: TransferResult) -> str:
    """The per-attack summary, then one surrogate x victim ASR table per attack."""
    any_attack = next(iter(result.attacks.values()))
    steps = ", ".join(f"{k} {v['steps']}" for k, v in result.attacks.items())
    clean = " ".join(f"{v} {100 * d['clean_accuracy']:.1f}" for v, d in result.victims.items())
    head = (f"# Transfer attack success rates\n\nData `{result.data}` ({result.split}, {result.n} clips). "
            f"Budgets: {budget_text(any_attack['budget'])}; attacked: {', '.join(any_attack['modalities'])}; "
            f"steps: {steps}.\n\nASR (%) = share of the clips a victim classifies correctly when clean that the attack "
            "makes wrong. Black box: the victim is not the surrogate (or an ensemble member); white box in "
            f"[brackets].\n\nVictims' clean accuracy %: {clean}.\n\n")
    return (head + markdown_tables([transfer_summary_table(result.summary)]) + "\n"
            + markdown_tables([transfer_matrix_table(result, a) for a in result.attacks], level=2))
