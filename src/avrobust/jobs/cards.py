"""``avrobust benchmark`` and ``avrobust leaderboard``: a checkpoint's model card under the standard
protocol (:mod:`avrobust.evaluation.model_card`), and model cards merged into one table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avrobust.checkpoint import load_checkpoint
from avrobust.corruptions import corruption_names
from avrobust.errors import ConfigError
from avrobust.evaluation.model_card import THREATS, run_benchmark
from avrobust.evaluation.suites import protocol_named
from avrobust.io import claim_files
from avrobust.jobs.certify import certifier_from_spec
from avrobust.jobs.common import first_clips, load_peer, run_data
from avrobust.results import read_result
from avrobust.results.benchmark import BenchmarkResult, leaderboard_table
from avrobust.results.corruption import CorruptionResult
from avrobust.tables import Table


def benchmark_checkpoint(run_dir: str | Path, json_path: str | Path, *, data: str | None = None, split: str = "test",
                         protocol: str = "standard", threats: Sequence[str] = THREATS, limit: int | None = None,
                         twin: str | Path | None = None, seed: int = 0, batch_size: int = 64, precision: str = "fp32",
                         overwrite: bool = False, show_progress: bool = False, corruptions: str | None = None,
                         failures: bool = False, certify: Sequence[str] = (), reference: str | Path | None = None,
                         noise_dir: str | Path | None = None) -> BenchmarkResult:
    """Benchmark the model in ``run_dir`` on ``split`` of ``data`` (default: its training data) and write
    its card to ``json_path`` (refused when the file exists, unless ``overwrite``).

    ``twin``: the run directory of an undefended model of the same task (its transferred attack enters
    the worst case and the flags). ``corruptions``: ``all`` or comma-separated names (a corruption
    section); ``failures``: the failing-modality section; ``certify``: certifier specs (a certified section
    each); ``reference``: a card with a corruption section, for mCE; ``noise_dir``: sound-bed recordings.
    """
    json_path = Path(json_path)
    claim_files([json_path], overwrite=overwrite)
    protocol_named(protocol)  # checked before anything loads
    names = corruption_names(corruptions) if corruptions else []
    certifiers = [certifier_from_spec(spec) for spec in certify]
    ref = _reference(reference) if reference is not None else None
    if noise_dir is not None and not Path(noise_dir).is_dir():
        raise ConfigError(f"--noise-dir {noise_dir} is not a directory of recordings")
    ckpt = load_checkpoint(run_dir)
    dataset = run_data(ckpt.meta, data, split)
    twin_model = None
    if twin is not None:
        twin_model = load_peer(twin, dataset, "twin").model
    card = run_benchmark(ckpt.model, dataset, protocol, threats=threats, indices=first_clips(dataset, limit), seed=seed,
                         twin=twin_model, batch_size=batch_size, precision=precision, show_progress=show_progress,
                         model_name=ckpt.meta.get("model_name", "") or Path(run_dir).name, checkpoint=str(run_dir),
                         twin_name=None if twin is None else str(twin), corruptions=names, failures=failures,
                         certifiers=certifiers, reference=ref, reference_name=None if reference is None else str(reference),
                         noise_dir=noise_dir)
    card.write(json_path)
    return card


def leaderboard(paths: Sequence[str | Path], out: str | Path | None = None, *, overwrite: bool = False) -> Table:
    """The leaderboard of the model cards in ``paths`` (files, or directories searched for ``*.json``);
    with ``out`` also written as ``out`` .md, .csv and .tex."""
    cards: list[tuple[Path, BenchmarkResult]] = []
    for path in map(Path, paths):
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for f in files:
            result = read_result(f) if not path.is_dir() else _maybe_card(f)
            if isinstance(result, BenchmarkResult):
                cards.append((f, result))
            elif not path.is_dir():
                raise ConfigError(f"{f} is not a model card (a file written by 'avrobust benchmark')")
    if not cards:
        raise ConfigError("no model cards found; write them with 'avrobust benchmark --checkpoint RUN --json CARD.json'")
    table = leaderboard_table(cards, f"leaderboard ({len(cards)} model cards)")
    if out is not None:
        stem = Path(out).with_suffix("")
        md, csv, tex = (stem.with_suffix(s) for s in (".md", ".csv", ".tex"))
        claim_files([md, csv, tex], overwrite=overwrite)
        md.write_text(table.markdown() + "\n")
        csv.write_text(table.csv())
        tex.write_text(table.latex())
    return table


def _reference(path: str | Path) -> CorruptionResult:
    """The corruption section of the card at ``path`` (mCE's reference)."""
    card = read_result(path)
    if not isinstance(card, BenchmarkResult) or card.corruptions is None:
        raise ConfigError(f"{path} is not a model card with a corruption section; write one with "
                          "'avrobust benchmark --corruptions all' on the reference model")
    return card.corruptions


def _maybe_card(path: Path) -> BenchmarkResult | None:
    try:
        result = read_result(path)
    except ConfigError:
        return None
    return result if isinstance(result, BenchmarkResult) else None
