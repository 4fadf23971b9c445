"""A typed record: a dataclass whose fields are also its dict items.

Read like a plain dict (``result["attacks"]``), as HuggingFace's ``ModelOutput`` is, and JSON-ready
as is except for per-clip flags (:data:`Flags`), which stay tensors until the file is written
(:func:`avrobust.io.write_json` writes them as 0/1 lists). :meth:`Record.from_dict` rebuilds nested
records and flags from the type hints. Records that name a ``kind`` carry ``kind`` and
``schema_version`` first (see :mod:`avrobust.results`).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import torch

from avrobust.errors import ConfigError
from avrobust.io import write_json

SCHEMA_VERSION = 2
R = TypeVar("R", bound="Record")
#: per-clip bool flags ``[n]``: a tensor in memory, a list of 0/1 in the file
Flags = Annotated[torch.Tensor, torch.bool]


class Record(dict):
    """Base of every result (see the module docstring). Subclasses are ``@dataclass(kw_only=True)``."""

    kind: ClassVar[str] = ""  # set on the top-level results written as files

    def __post_init__(self) -> None:
        dict.clear(self)  # kind and schema first, then the fields in order
        if self.kind:
            dict.update(self, kind=self.kind, schema_version=SCHEMA_VERSION)
        for f in fields(self):
            dict.__setitem__(self, f.name, getattr(self, f.name))

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle through the constructor
        return _rebuild, (type(self), {f.name: getattr(self, f.name) for f in fields(self)})

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in self.__dataclass_fields__:
            dict.__setitem__(self, name, value)

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.__dataclass_fields__:
            object.__setattr__(self, key, value)
        dict.__setitem__(self, key, value)

    def write(self, path: str | Path) -> Path:
        """Write as indented JSON (atomically; rank 0 only under torchrun)."""
        return write_json(path, self)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Rebuild from parsed JSON; unknown keys are an error naming them."""
        hints = typing.get_type_hints(cls, include_extras=True)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names - {"kind", "schema_version"})
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(unknown)}; the file was written by "
                              "another avrobust version")
        missing = [f.name for f in fields(cls) if f.name not in data
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise ConfigError(f"{cls.__name__} lacks field(s) {', '.join(missing)}; the file is incomplete or was "
                              "written by another avrobust version")
        return cls(**{k: _convert(hints[k], v) for k, v in data.items() if k in names})


def _rebuild(cls: type[R], values: dict[str, Any]) -> R:
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as type ``hint``: records, ``dict[str, X]``, ``list[X]``, ``X | None``."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated and args[0] is torch.Tensor:
        return torch.tensor(value, dtype=args[1]) if not isinstance(value, torch.Tensor) else value
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict(value)
    if origin is dict and len(args) == 2:
        return {k: _convert(args[1], v) for k, v in value.items()}
    if origin is list and args:
        return [_convert(args[0], v) for v in value]
    return value
