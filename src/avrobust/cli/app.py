"""The Typer application and how the commands print tables."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table as RichTable

from avrobust.console import output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Adversarial robustness of audio-visual classifiers (ICLR 2025, Zhang et al.).\n\n"
    "Video is [N,T,3,H,W] in [0,1]; audio is a mono waveform [N,L] in [-1,1]; budgets use those units.",
)
N_HELP = "Use the first N clips only (under torchrun write --limit: torchrun takes --n as its own)."


def show(table: Any) -> None:
    """Print a :class:`avrobust.tables.Table` on stdout."""
    rich = RichTable(title=table.title or None)
    for i, col in enumerate(table.header):
        rich.add_column(col, justify="right" if i in table.numeric else "left", overflow="ellipsis" if i == 0 else "fold",
                        min_width=len(col) if i in table.numeric else None)
    for row in table.rows:
        rich.add_row(*row)
    output.print(rich)
