"""The command-line reference and the registries' listings as Markdown, generated from the Typer app and the
registries (the documentation site's reference pages are built from these, so they cannot fall behind)."""

from __future__ import annotations

from typing import Any

import typer

import avrobust.cli  # noqa: F401  (registers and groups the commands)
from avrobust.cli.app import GROUPS, app
from avrobust.tables import Table


def _cell(text: Any) -> str:
    """One Markdown table cell: one line, pipes escaped, Rich's escaped brackets plain."""
    return " ".join(str(text).split()).replace("\\[", "[").replace("|", "\\|")


def _default(param: Any) -> str:
    default = param.default
    if param.required or default is None or callable(default) or (param.is_flag and default is False):
        return ""
    if isinstance(default, (list, tuple)):
        return ", ".join(f"`{d}`" for d in default)
    return f"`{default}`"


def _usage(command: Any, path: str) -> str:
    with typer.Context(command, info_name=path) as ctx:  # type: ignore[attr-defined]
        return f"{path} {' '.join(command.collect_usage_pieces(ctx))}".strip()


def _command(command: Any, path: str, level: int) -> list[str]:
    lines = [f"{'#' * level} `{path}`", "", (command.help or "").strip().replace("\\[", "["), ""]
    if hasattr(command, "commands"):  # a group: its subcommands follow
        for name, sub in command.commands.items():
            lines += _command(sub, f"{path} {name}", level + 1)
        return lines
    lines += ["```", _usage(command, path), "```", ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    if arguments:
        lines += ["| argument | description |", "|---|---|"]
        lines += [f"| `{p.name.upper()}` | {_cell(getattr(p, 'help', '') or '')} |" for p in arguments] + [""]
    if options:
        lines += ["| option | default | description |", "|---|---|---|"]
        for p in options:
            names = " / ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
            lines.append(f"| {names} | {_default(p)} | {_cell(p.help or '')} |")
        lines.append("")
    return lines


def cli_markdown(level: int = 2) -> str:
    """Every command of ``avrobust``, in the groups and order of ``avrobust --help``: its description, usage,
    arguments and options with their defaults, as Markdown headed at ``level``."""
    root = typer.main.get_command(app)
    lines: list[str] = []
    for group, names in GROUPS.items():
        lines += [f"{'#' * level} {group}", ""]
        for name in names:
            lines += _command(root.commands[name], f"avrobust {name}", level + 1)  # type: ignore[attr-defined]
    return "\n".join(lines)


def registries_markdown(level: int = 2) -> str:
    """The listings ``avrobust models``, ``datasets``, ``attacks``, ``methods``, ``analyses``, ``corruptions``,
    ``certifiers`` and ``weights`` print, as Markdown tables headed at ``level``."""
    from avrobust.jobs import catalog

    listings = {"models": catalog.zoo_catalog, "datasets": catalog.dataset_catalog, "attacks": catalog.attack_catalog,
                "methods": catalog.method_catalog, "analyses": catalog.analysis_catalog,
                "corruptions": catalog.corruption_catalog, "certifiers": catalog.certifier_catalog,
                "weights": lambda: catalog.weights_catalog(here=False)}  # whether a file is here differs per machine
    parts = []
    for command, make in listings.items():
        table = make()
        body = Table(table.header, [[_cell(c) for c in r] for r in table.rows], numeric=table.numeric).markdown()
        parts.append(f"{'#' * level} `avrobust {command}`\n\n{_cell(table.title)}.\n\n{body}")
    return "\n\n".join(parts)
