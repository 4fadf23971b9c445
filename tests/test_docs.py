"""The documentation site: it builds with warnings as errors (broken links and anchors fail), its home page
opens in a browser with its navigation, its Python examples run, and every shell example names a command
and options that exist; the README stays short and starts with the two commands."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.browser import checked_in_browser, needs_browser

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
SLOW = "<!-- test: slow -->"


def python_blocks(page: Path) -> list[tuple[str, bool]]:
    """Each ```python block of a page with whether it is marked slow (a ``<!-- test: slow -->`` line before it)."""
    text = page.read_text()
    return [(m.group(2), bool(m.group(1))) for m in re.finditer(r"(<!-- test: slow -->\n)?```python\n(.*?)```", text, re.S)]


EXAMPLES = [pytest.param(page, i, code, id=f"{page.stem}-{i}", marks=[pytest.mark.slow] if slow else [])
            for page in PAGES for i, (code, slow) in enumerate(python_blocks(page))]


@pytest.mark.parametrize(("page", "index", "code"), EXAMPLES)
def test_the_python_examples_on_the_pages_run(page: Path, index: int, code: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples write runs/ where they are run
    exec(compile(code, f"{page.name} example {index}", "exec"), {"__name__": f"docs_example_{index}"})


def shell_commands(text: str) -> list[str]:
    """Every ``avrobust ...`` command line in the ```bash blocks of a Markdown text (continuations joined)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            found = re.search(r"(?:^|-m )avrobust (.*)", line)
            if found and not line.startswith("#"):
                commands.append(found.group(1))
    return commands


def test_every_shell_example_names_a_command_and_options_that_exist() -> None:
    from avrobust.cli.app import app

    root = typer.main.get_command(app)
    seen = 0
    for page in [ROOT / "README.md", *PAGES]:
        for line in shell_commands(page.read_text()):
            words = shlex.split(line.replace("'", "").replace('"', ""))
            command = root
            while words and hasattr(command, "commands") and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            assert not hasattr(command, "commands"), f"{page.name}: 'avrobust {line}' names no command"
            options = {o for p in command.params for o in [*p.opts, *p.secondary_opts]} | {"--help"}
            for word in words:
                flag = word.split("=")[0]
                if flag.startswith("--"):
                    assert flag in options, f"{page.name}: 'avrobust {line}': {flag} is not an option of that command"
            seen += 1
    assert seen > 50


def test_the_cli_reference_covers_every_command() -> None:
    from avrobust.cli.app import app, command_name
    from avrobust.cli.reference import cli_markdown, registries_markdown

    text = cli_markdown()
    for info in [*app.registered_commands, *app.registered_groups]:
        assert f"### `avrobust {command_name(info)}`" in text
    from avrobust.models import ZOO

    listings = registries_markdown()
    assert all(f"| {name} |" in listings for name in ZOO)


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    assert len(readme) <= 200
    commands = [line.split("#")[0].strip() for line in readme[:12] if line.startswith("make ")]
    assert commands[:2] == ["make demo", "make test"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs tools are not installed: pip install -e '.[docs]' (make install does)")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_docs_build_with_warnings_as_errors(site: Path) -> None:
    for page in ("index.html", "cli/index.html", "api/index.html", "benchmarks/RESULTS/index.html", "faq/index.html"):
        assert (site / page).exists(), page
    cli = (site / "cli" / "index.html").read_text()
    assert "avrobust benchmark" in cli and "--threat-model" in cli
    api = (site / "api" / "index.html").read_text()
    assert "video_layout" in api and "ThreatModel" in api  # wrap's parameters and the budgets, from the docstrings


NAV_CHECK = """<script>
window.addEventListener('load', () => {
  const nav = [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')];
  const shown = nav.filter(a => a.getClientRects().length > 0 && a.getBoundingClientRect().left < 1280);
  const imgs = [...document.querySelectorAll('article img')];
  document.body.setAttribute('data-check', JSON.stringify({title: document.querySelector('article h1').textContent,
    links: nav.map(a => a.textContent.trim()), shown: shown.length,
    images: imgs.length, decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length}));
});
</script>"""


@pytest.mark.slow
@needs_browser
def test_the_docs_home_opens_with_its_navigation(site: Path) -> None:
    """Headless Chromium at 1280x800: the home page renders, its picture decodes, and the navigation is on
    screen with the getting-started page, the workflows, the reference and the claims."""
    check = checked_in_browser(site / "index.html", NAV_CHECK)
    assert check["title"].startswith("avrobust")
    for name in ("Getting started", "Attack", "Defend", "Command line", "Python API", "The paper's claims, checked", "FAQ"):
        assert name in check["links"], (name, check["links"])
    assert check["shown"] >= 10
    assert check["images"] >= 1 and check["decoded"] == check["images"]


def test_the_results_index_lists_every_section() -> None:
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    index = text.split("## Index", 1)[1].split("\n## ", 1)[0]
    sections = [line[3:] for line in text.splitlines() if line.startswith("## ") and line != "## Index"]
    assert sections and all(f"- [{title}](#" in index for title in sections)
