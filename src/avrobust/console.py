"""Console output: results on stdout, progress and errors on stderr, and a progress-bar helper."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Callable, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")
console = Console(stderr=True)  # progress, logs, errors
output = Console()  # results (tables, summaries): stdout, so they can be piped


def warn(message: str) -> None:
    """One warning line on stderr (``warning: ...``); the run goes on."""
    console.print(f"[yellow]warning:[/] {message}", soft_wrap=True, highlight=False)


@contextmanager
def progress_bar(total: int | None, description: str = "", *, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (when ``enabled`` and a terminal is attached); yields ``advance()``."""
    if not enabled or not console.is_terminal:
        yield lambda: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def progress(items: Iterable[T], *, total: int | None = None, description: str = "",
             enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` with a progress bar on stderr when ``enabled`` (and a terminal is attached)."""
    with progress_bar(total, description, enabled=enabled) as advance:
        for item in items:
            yield item
            advance()
