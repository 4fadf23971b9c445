"""avrobust report: summary first, story order, curves, examples to see and hear, tables as CSV and
LaTeX, one self-contained HTML file; and the page as a real browser renders it."""

from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from avrobust.errors import ConfigError
from avrobust.io import write_json
from avrobust.jobs import evaluate_checkpoint
from avrobust.report import build_report
from avrobust.report import render as render_module
from tests.browser import BROWSER_RUN, checked_in_browser, needs_browser


@pytest.fixture(scope="module")
def results(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two evaluations (attacks and a steps sweep, seeds 0 and 1) and a link to the training run."""
    root = tmp_path_factory.mktemp("results")
    for seed in (0, 1):
        ev = evaluate_checkpoint(trained["run_dir"], attacks=["fgsm,ifgsm"], steps=2, limit=16, seed=seed,
                                 sweep="steps=1,3")
        write_json(root / f"eval-{seed}.json", ev)
    (root / "run").symlink_to(trained["run_dir"], target_is_directory=True)
    (root / "notes.json").write_text('{"unrelated": 1}')
    return root


@pytest.fixture(scope="module")
def report(results: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_report([results], tmp_path_factory.mktemp("report") / "r")


@pytest.mark.slow
def test_report_opens_with_the_summary_then_follows_the_story(report: dict) -> None:
    assert [s.split(":")[0] for s in report["sections"]] == [
        "Summary", "Data", "Training", "Evaluation", "Adversarial examples", "Evaluation", "Adversarial examples"]
    md = Path(report["markdown"]).read_text()
    summary = md[md.index("## Summary"):md.index("**Contents**")]
    assert "| model | trained with | data | clips | clean acc | worst-case robust acc | strongest attack" in summary
    row = next(line for line in summary.splitlines() if "eval-0" in line)
    assert "| standard |" in row and re.search(r"\| (fgsm|ifgsm) \(0\.\d{3}\) \|$", row)
    assert md.index("## Summary") < md.index("**Contents**") < md.index("## Data") < md.index("## Models") \
        < md.index("## White box")
    assert "- [White box](#white-box)" in md and "#evaluation-alexnet-sum-vgg-eval-0-json" in md
    training = md[md.index("### Training"):md.index("## White box")]
    assert "Method standard, 12 epochs" in training and "final validation accuracy 0." in training
    assert "-training.png)" in training


@pytest.mark.slow
def test_budgets_as_written_with_the_measured_snr(report: dict) -> None:
    md = Path(report["markdown"]).read_text()
    assert re.search(r"\| fgsm \| video\+audio \| linf 8/255 \| linf 0\.01 \(-40 dBFS\), SNR \d+\.\d dB \|", md)
    assert "0.03137" not in md


@pytest.mark.slow
def test_every_table_also_as_csv_and_latex(report: dict) -> None:
    tables = [Path(t) for t in report["tables"]]
    assert len(tables) == 2 * 4  # summary, data and two attack tables, each as CSV and LaTeX
    for path in tables:
        if path.suffix == ".csv":
            rows = list(csv.reader(path.open()))
            assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
        else:
            tex = path.read_text()
            assert "\\begin{tabular}" in tex and "\\toprule" in tex and "\\bottomrule" in tex
    attack_csv = next(p for p in tables if p.suffix == ".csv" and "eval-0" in p.name)
    rows = list(csv.reader(attack_csv.open()))
    assert rows[0][:4] == ["attack", "attacked", "video budget", "audio budget (measured SNR)"]
    assert [r[0] for r in rows[1:]] == ["fgsm", "ifgsm"]


@pytest.mark.slow
def test_sweep_curve_with_error_bars_over_seeds(results: Path, tmp_path: Path, monkeypatch) -> None:
    import avrobust.results.evaluation as kind

    drawn = []
    original = kind.line_plot
    monkeypatch.setattr(kind, "line_plot", lambda *a, **k: drawn.append((a, k)) or original(*a, **k))
    build_report([results], tmp_path / "r", examples=0)
    sweep = [(a, k) for a, k in drawn if k.get("xlabel") == "attack steps"]
    assert len(sweep) == 1
    (x, series, _), options = sweep[0]
    assert list(x) == [1.0, 3.0] and set(series) == {"fgsm", "ifgsm"} and set(options["errors"]) == {"fgsm", "ifgsm"}
    evals = [json.loads((results / f"eval-{s}.json").read_text())["sweep"] for s in (0, 1)]
    means = [(a + b) / 2 for a, b in zip(*(e["attacks"]["ifgsm"]["robust_accuracy"] for e in evals))]
    assert series["ifgsm"] == pytest.approx(means)


@pytest.mark.slow
def test_examples_can_be_seen_and_heard_in_one_self_contained_file(report: dict) -> None:
    page = Path(report["report"]).read_text()
    images = re.findall(r"<img alt='[^']*' src='([^']+)'", page)
    audio = re.findall(r"<audio controls preload='auto' src='([^']+)'", page)
    assert len(images) == len(report["figures"]) == 1 + 1 + 1 + 2 + 2  # data, training curve, sweep, 2 x 2 examples
    assert len(audio) == 2 * 2 * 2  # clean and adversarial per example
    for src in images:
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    for src in audio:
        assert src.startswith("data:audio/wav;base64,") and base64.b64decode(src.split(",", 1)[1])[:4] == b"RIFF"
    links = re.findall(r"href='([^'#]+)'", page)
    assert links and all(link.startswith("tables/") for link in links)  # nothing else outside the file
    assert "url(" not in page and "<script" not in page
    assert re.search(r"Clip 1: label \S+: clean prediction \S+, adversarial \S+ \(PSNR [\d.]+ dB, SNR [\d.]+ dB\)", page)


@pytest.mark.slow
def test_the_data_section_shows_a_few_clips_of_each_evaluated_split(report: dict, results: Path, tmp_path: Path) -> None:
    md = Path(report["markdown"]).read_text()
    data = md[md.index("## Data\n"):md.index("## Models")]
    assert "first 4 clips of each evaluated split" in data and re.search(r"!\[data-0-synth\S*-test\]\(figures/data-0-synth\S*-test\.png\)", data)
    assert Path(report["figures"][0]).name.startswith("data-0-synth")
    moved = tmp_path / "moved"
    moved.mkdir()
    record = json.loads((results / "eval-0.json").read_text())
    record["data"] = "folder:root=/nonexistent/clips"
    (moved / "eval.json").write_text(json.dumps(record))
    md = Path(build_report([moved], tmp_path / "r", examples=0)["markdown"]).read_text()
    assert "`folder:root=/nonexistent/clips` (test) cannot be loaded here, so it is not drawn:" in md


@pytest.mark.slow
def test_audio_beyond_the_cap_is_linked_with_a_note(results: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(render_module, "AUDIO_CAP", 20_000)
    page = Path(build_report([results], tmp_path / "r")["report"]).read_text()
    assert page.count("<audio") == 1 and "size cap of" in page


@pytest.mark.slow
def test_report_refuses_overwrite_and_empty_input(results: Path, tmp_path: Path) -> None:
    build_report([results], tmp_path, examples=0)
    with pytest.raises(ConfigError, match="--overwrite"):
        build_report([results], tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no avrobust results"):
        build_report([empty], tmp_path / "r")
    with pytest.raises(ConfigError, match="does not exist"):
        build_report([tmp_path / "missing"], tmp_path / "r")


CHECK = """<script>
window.addEventListener('load', async () => {
  const imgs = [...document.images], audio = [...document.querySelectorAll('audio')];
  await Promise.all(audio.map(a => a.readyState >= 1 ? null : new Promise(r => {
    a.addEventListener('loadedmetadata', r); a.addEventListener('error', r); })));
  const t = document.querySelector('table').getBoundingClientRect();
  document.body.setAttribute('data-check', JSON.stringify({images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length, audio: audio.length,
    loaded: audio.filter(a => a.readyState >= 1 && a.duration > 0).length, bottom: t.bottom, right: t.right,
    width: document.documentElement.scrollWidth, caption: document.querySelector('caption').textContent,
    hints: [...document.querySelectorAll('td[title]')].map(c => c.title)}));
});
</script>"""


def in_browser(page: Path) -> dict:
    """What headless Chromium at 1280x800 found in ``page`` (tests/browser.py)."""
    return checked_in_browser(page, CHECK)


@pytest.mark.slow  # the report fixture uses the trained model
@needs_browser
def test_the_report_in_a_real_browser(report: dict, tmp_path: Path) -> None:
    """Headless Chromium at 1280x800: every image decodes, every audio element loads, the summary table
    is on the first screen, and the screenshot is not blank. (A copy of the report gets a checking
    script; the report itself has none.)"""
    page = Path(report["report"])
    check = in_browser(page)
    assert check["decoded"] == check["images"] == len(report["figures"])
    assert check["loaded"] == check["audio"] == 8
    assert check["caption"].startswith("Models: clean and worst-case") and check["bottom"] <= 800
    shot = tmp_path / "shot.png"
    subprocess.run([*BROWSER_RUN, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=180)
    import numpy as np
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.size == (1280, 800) and len(np.unique(np.asarray(image))) > 20


@pytest.mark.slow
@needs_browser
def test_the_demo_report_shows_the_summary_table_on_the_first_screen(quick_demo: dict) -> None:
    check = in_browser(quick_demo["out"] / "report" / "report.html")
    assert check["caption"].startswith("Models: clean and worst-case") and check["bottom"] <= 800
    assert check["decoded"] == check["images"] > 0 and check["loaded"] == check["audio"] > 0


@pytest.mark.slow  # the report fixture uses the trained model
@needs_browser
def test_a_long_folder_spec_keeps_the_accuracy_columns_on_the_first_screen(results: Path, tmp_path: Path) -> None:
    """The summary's data column shows a short name (the full spec on hover, and in a note in Markdown), so
    a folder spec of ~110 characters of paths pushes nothing off a 1280 px screen."""
    spec = ("folder:cache=/home/someone/projects/av/cache/products-112,csv=/home/someone/projects/av/products.csv,"
            "frames=8,root=/home/someone/projects/av/products,sample_rate=16000,seconds=2.0,size=112")
    one = json.loads((results / "eval-0.json").read_text())
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "eval.json").write_text(json.dumps({**one, "data": spec}))
    built = build_report([tmp_path / "in"], tmp_path / "r", examples=0)
    check = in_browser(Path(built["report"]))
    assert check["caption"].startswith("Models: clean and worst-case") and check["bottom"] <= 800
    assert check["right"] <= 1280 and check["width"] <= 1280  # no horizontal scrollbar
    assert check["hints"] == [spec]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "folder:products… (test)" in md and f"Data folder:products…: `{spec}`" in md
