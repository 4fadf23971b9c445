"""avrobust report: builds from result JSON, valid PNGs, HTML self-contained."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from avrobust.io import write_json
from avrobust.errors import ConfigError
from avrobust.jobs import evaluate_checkpoint
from avrobust.report import build_report


@pytest.fixture(scope="module")
def results(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An evaluation with attacks plus the training run's summary.json."""
    root = tmp_path_factory.mktemp("results")
    ev = evaluate_checkpoint(trained["run_dir"], attacks=["fgsm,ifgsm"], steps=2, limit=16)
    write_json(root / "eval.json", ev)
    (root / "run").mkdir()
    (root / "run" / "summary.json").write_text((Path(trained["run_dir"]) / "summary.json").read_text())
    (root / "notes.json").write_text('{"unrelated": 1}')
    return root


def test_report_sections_figures_and_self_contained_html(results: Path, tmp_path: Path) -> None:
    r = build_report([results], tmp_path)
    assert [s.split(":")[0] for s in r["sections"]] == ["Training", "Evaluation"]
    for f in r["figures"]:
        assert Path(f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report.html").read_text()
    sources = re.findall(r"(?:src|href)=['\"]([^'\"]+)", page)
    assert len(sources) == len(r["figures"]) == 2
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert "url(" not in page and "<script" not in page
    md = (tmp_path / "report.md").read_text()
    assert "| fgsm |" in md and "](figures/" in md


def test_report_refuses_overwrite_and_empty_input(results: Path, tmp_path: Path) -> None:
    build_report([results], tmp_path)
    with pytest.raises(ConfigError, match="--overwrite"):
        build_report([results], tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no avrobust results"):
        build_report([empty], tmp_path / "r")
    with pytest.raises(ConfigError, match="does not exist"):
        build_report([tmp_path / "missing"], tmp_path / "r")
