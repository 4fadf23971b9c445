"""The Typer application and how the commands print tables."""

from __future__ import annotations

import inspect
from typing import Any

import typer
from rich.table import Table as RichTable

from avrobust.console import output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# What a user is doing, in the order `avrobust --help` shows it; every command belongs to one group
# (tests/cli/test_help.py checks that none is left out).
GROUPS: dict[str, tuple[str, ...]] = {
    "Start here": ("demo",),
    "Look up": ("models", "datasets", "attacks", "methods", "corruptions", "certifiers", "analyses", "weights"),
    "Data": ("data", "prepare"),
    "Train and defend": ("train", "adv-train", "train-zoo", "ablate", "ablate-merge"),
    "Attack and evaluate": ("evaluate", "attack", "benchmark", "certify", "transfer", "analyze", "export", "wrap"),
    "Studies and reports": ("study", "report", "leaderboard"),
}


def command_name(info: Any) -> str:
    """The name a registered Typer command or group is called by."""
    if info.name:
        return info.name
    callback = getattr(info, "callback", None) or getattr(getattr(info, "typer_instance", None), "info", None)
    return callback.__name__.replace("_", "-") if callable(callback) else ""


def paragraphs(doc: str) -> str:
    """A docstring's lines joined into paragraphs (Rich's help keeps a docstring's line breaks as they are)."""
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n"))


def group_commands() -> None:
    """Give every command its help panel (:data:`GROUPS`) and its help text in paragraphs, and list the
    commands in that order."""
    order = {name: i for i, name in enumerate(n for names in GROUPS.values() for n in names)}
    panel = {name: group for group, names in GROUPS.items() for name in names}
    for infos in (app.registered_commands, app.registered_groups):
        for info in infos:
            info.rich_help_panel = panel.get(command_name(info), "Other")
            callback = getattr(info, "callback", None)
            if getattr(info, "help", None) is None and callback is not None and callback.__doc__:
                info.help = paragraphs(callback.__doc__)
        infos.sort(key=lambda info: order.get(command_name(info), len(order)))


def _version(value: bool) -> None:
    if value:
        from avrobust.version import __version__

        output.print(f"avrobust {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                          help="Print avrobust's version and exit.")) -> None:
    """Adversarial robustness of audio-visual classifiers (ICLR 2025, Zhang et al.).

    Video is [N,T,3,H,W] in [0,1]; audio is a mono waveform [N,L] in [-1,1]; budgets use those units.
    'avrobust COMMAND --help' for a command's options. Documentation: 'make docs' builds it (site/index.html).
    """


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
