"""Console output: results on stdout, progress and errors on stderr, and a progress-bar helper."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")
console = Console(stderr=True)  # progress, logs, errors
output = Console()  # results (tables, summaries): stdout, so they can be piped


def progress(items: Iterable[T], *, total: int | None = None, description: str = "",
             enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` with a progress bar on stderr when ``enabled`` (and a terminal is attached)."""
    if not enabled or not console.is_terminal:
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
