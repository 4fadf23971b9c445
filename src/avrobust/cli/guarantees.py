"""Certification commands: certify."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avrobust.certification import CERTIFIERS
from avrobust.cli import help as texts
from avrobust.cli.app import N_HELP, app, show
from avrobust.cli.option_groups import DATA_HELP
from avrobust.console import console
from avrobust.tables import Table, frac


@app.command()
def certify(
    checkpoint: Path = typer.Option(..., help="Run directory written by 'avrobust train'."),
    certifier: str = typer.Option("smoothing", help=f"Certifier spec NAME:key=value,...; NAME is one of "
                                  f"{CERTIFIERS.choices()} (e.g. smoothing:sigma_video=0.25,sigma_audio=0.01,n=1000 or "
                                  "mmcert:k_video=1,k_audio=1; options: 'avrobust certifiers')."),
    json: Path = typer.Option(Path("certified.json"), "--json", help="Where the result goes (JSON)."),
    data: Optional[str] = typer.Option(None, help=DATA_HELP + " Default: the data it was trained on."),
    split: str = typer.Option("test", help=texts.SPLIT),
    radius: list[float] = typer.Option([], "--radius", help="Radii to report certified accuracy at (repeat the "
                                       "flag; default: the certifier's, in its units)."),
    n: Optional[int] = typer.Option(None, "--n", "--limit", help=N_HELP),
    seed: int = typer.Option(0, help="Seeds the certifier's noise (per clip)."),
    overwrite: bool = typer.Option(False, help="Replace an existing result."),
) -> None:
    """Certified accuracy: randomized smoothing per modality or jointly (L2 radii in raw units), or MMCert's
    frame subsampling (changed frames and audio segments)."""
    from avrobust.jobs.certify import certify_checkpoint

    result = certify_checkpoint(checkpoint, json, certifier=certifier, data=data, split=split, limit=n,
                                radii=radius or None, seed=seed, overwrite=overwrite, show_progress=True)
    show(Table(["radius", "certified accuracy"], [[f"{r:g}", frac(a)] for r, a in zip(result.radii, result.certified_accuracy)],
               f"{result.certifier} on {result.n} clips ({result.radius_units}); abstained {frac(result.abstained)}",
               numeric={0, 1}))
    console.print(f"certification -> {json}")
