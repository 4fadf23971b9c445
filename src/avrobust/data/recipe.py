"""Datasets as plug-ins: a dataset is one module of :mod:`avrobust.data.recipes` holding a
:class:`Recipe` registered with ``@register_dataset("name")``.

A recipe declares its typed spec options (``Options``, a frozen dataclass whose fields are the keys of
``NAME:key=value,...``, checked and typed by :func:`avrobust.options.bind`, validated by its
``__post_init__``), its splits, an optional cache key (generated data is then built once into
``$AVROBUST_CACHE/<name>/<key>-<split>.safetensors``) and, for decoded video datasets, the clips
``avrobust prepare`` decodes (:meth:`Recipe.items`). :func:`load_dataset` does the rest for every
recipe alike; nothing outside a recipe's module names it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from avrobust.data.datasets import SPLITS, AVDataset
from avrobust.data.sources import Item
from avrobust.errors import ConfigError
from avrobust.io import cache_root
from avrobust.options import bind
from avrobust.registry import Registry
from avrobust.specs import format_spec, parse_spec

#: what a decoded video dataset's :meth:`Recipe.items` returns: the clips, the class names, annotated
#: clips whose file is missing
Found = tuple[list[Item], list[str], list[str]]


class Recipe:
    """Base of every registered dataset (see the module docstring)."""

    name: ClassVar[str] = ""  # set by the registry
    #: the spec options: a frozen dataclass with typed fields and defaults
    Options: ClassVar[type] = type("NoOptions", (), {})
    #: the splits it provides
    splits: ClassVar[tuple[str, ...]] = SPLITS
    #: True for datasets decoded from video files, which ``avrobust prepare`` decodes into a cache
    decoded: ClassVar[bool] = False

    def build(self, options: Any, split: str) -> AVDataset:
        """The ``split`` of the dataset (``spec`` is set by :func:`load_dataset`)."""
        raise NotImplementedError

    def cache_key(self, options: Any) -> str | None:
        """A key naming generated data that is worth keeping (None: built every time)."""
        return None

    def items(self, options: Any) -> Found:
        """For decoded datasets: the clips to decode (see :mod:`avrobust.data.sources`)."""
        raise ConfigError(f"{self.name} is not decoded from video files")


DATASETS: Registry[Recipe] = Registry("dataset", attribute="name")
register_dataset = DATASETS.register


def parse_data_spec(spec: str) -> tuple[Recipe, Any, str]:
    """``(recipe, typed options, canonical spec)`` of a dataset spec (``"synth:classes=6"``).

    Raises:
        ConfigError: an unknown dataset or option, a value of the wrong type or out of range, a
            missing required option; one line each, naming it.
    """
    name, raw = parse_spec(spec)
    cls = DATASETS.get(name)
    name = DATASETS.canonical(name)
    bound = bind(cls.Options, raw, f"dataset {name!r}")
    try:
        options = cls.Options(**bound)
    except TypeError as err:  # a dataclass without the keys its recipe reads
        raise ConfigError(f"dataset {name!r}: {err}") from None
    return cls(), options, format_spec(name, bound)


def load_dataset(spec: str, split: str) -> AVDataset:
    """Build the ``split`` of the dataset named by ``spec`` (e.g. ``"synth:classes=6"``), from its cache
    when the recipe keeps one.

    Raises:
        ConfigError: see :func:`parse_data_spec`; an unknown split (the message lists valid ones).
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    recipe, options, canonical = parse_data_spec(spec)
    if split not in recipe.splits:
        raise ConfigError(f"dataset {recipe.name!r} has no {split!r} split; it has {', '.join(recipe.splits)}")
    key = recipe.cache_key(options)
    path = cache_root() / recipe.name / f"{key}-{split}.safetensors" if key else None
    if path is not None and path.is_file():
        dataset = AVDataset.load(path)
    else:
        dataset = recipe.build(options, split)
        if path is not None:
            try:
                dataset.save(path)  # atomic: a file there is always complete
            except OSError:
                pass  # a read-only cache only costs the next load a rebuild
    dataset.spec, dataset.split = canonical, split
    return dataset.validate()


def option_fields(recipe: type[Recipe]) -> list[tuple[str, Any]]:
    """The spec options of ``recipe`` as ``(name, default)``, required ones first (default ``...``)."""
    fields = dataclasses.fields(recipe.Options) if dataclasses.is_dataclass(recipe.Options) else ()
    out = [(f.name, f.default if f.default is not dataclasses.MISSING else
            f.default_factory() if f.default_factory is not dataclasses.MISSING else ...) for f in fields]  # type: ignore[misc]
    return sorted(out, key=lambda item: item[1] is not ...)
