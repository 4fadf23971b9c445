"""MkDocs hooks for the documentation site (mkdocs.yml): the command-line reference and the registries'
listings are generated at build time from the Typer app and the registries, and benchmarks/RESULTS.md
is served as a page of the site at the same relative path, so README links to it resolve in both."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/RESULTS.md"
GENERATED = {"<!-- generated: cli -->": "cli_markdown", "<!-- generated: listings -->": "registries_markdown"}


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, RESULTS, abs_src_path=str(ROOT / RESULTS)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    for marker, function in GENERATED.items():
        if marker in markdown:
            from avrobust.cli import reference

            markdown = markdown.replace(marker, getattr(reference, function)())
    return markdown
