"""What can be chosen: the zoo, datasets, attacks and training methods, as tables (``avrobust models``,
``datasets``, ``attacks``, ``methods``)."""

from __future__ import annotations

import inspect

from avrobust.attacks import ATTACKS, list_attacks
from avrobust.data import DATASETS
from avrobust.data.digits import DigitsConfig
from avrobust.data.synthetic import SynthConfig
from avrobust.defenses import METHODS
from avrobust.models import ZOO, create_model, list_models
from avrobust.tables import Table


def _first_line(obj: object) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


def zoo_catalog(pattern: str = "*") -> Table:
    """Zoo models matching a wildcard on names or aliases, with their parts and sizes (10 classes, width 8)."""
    rows = []
    for name in list_models(pattern):
        parts = ZOO.create(name)
        params = sum(p.numel() for p in create_model(name, 10).parameters())
        rows.append([name, ", ".join(ZOO.aliases_of(name)), parts["visual"], parts["fusion"], parts["audio"],
                     f"{params:,}"])
    return Table(["name", "alias", "visual", "fusion", "audio", "parameters"], rows,
                 "avrobust model zoo (parameters for 10 classes, width 8)", {5})


def dataset_catalog() -> Table:
    """Registered datasets and their spec options (defaults; required ones bare)."""
    rows = []
    for name in DATASETS:
        if name in ("synth", "digits"):
            fields = (SynthConfig if name == "synth" else DigitsConfig).__dataclass_fields__
            opts = ", ".join(f"{k}={v.default}" for k, v in fields.items())
        else:
            params = inspect.signature(DATASETS.get(name)).parameters
            opts = ", ".join(k if p.default is inspect.Parameter.empty else f"{k}={p.default}"
                             for k, p in params.items() if k != "split")
        rows.append([name, opts])
    return Table(["name", "options (default)"], rows, "datasets (spec: NAME:key=value,...)")


def attack_catalog() -> Table:
    rows = [[name, ", ".join(ATTACKS.aliases_of(name)), _first_line(ATTACKS.get(name))] for name in list_attacks()]
    return Table(["name", "aliases", "description"], rows, "attacks (use --attack NAME or NAME:key=value,...)")


def method_catalog() -> Table:
    rows = []
    for name in METHODS:
        factory = METHODS.get(name)
        params = inspect.signature(factory.__init__).parameters
        opts = ", ".join(f"{k}={p.default}" for k, p in params.items()
                         if k not in ("self", "threat") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        rows.append([name, ", ".join(METHODS.aliases_of(name)), "yes" if factory.adversarial else "no", opts,
                     _first_line(factory)])
    return Table(["name", "aliases", "adversarial", "options (default)", "description"], rows,
                 "training methods ('train' or 'adv-train' --method NAME:key=value,...)")
