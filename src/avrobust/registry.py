"""The one way avrobust registers things: a name -> factory :class:`Registry`, filled by decorators.

Attacks, zoo models, encoders, fusions, training methods, datasets, analyses, attack suites and
result kinds each have one registry; every list a user reads (``--help``, ``avrobust attacks``...)
is generated from them. A plug-in is one module whose decorator registers it; the packages import
their modules with :func:`import_submodules`, so nothing else names it.

Example:
    >>> ENCODERS = Registry("visual encoder")
    >>> @ENCODERS.register("alexnet")
    ... def alexnet(width: int = 16): ...
    >>> ENCODERS.create("alexnet", width=8)
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from avrobust.errors import ConfigError
from avrobust.options import bind

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to factories; unknown names fail with the list of valid ones.

    Args:
        kind: what the entries are, for messages (``"attack"``).
        attribute: when given, :meth:`register` sets this attribute of the registered object to its
            name (``Attack.name``, ``Result.kind``), so the name is written once, in the decorator.
    """

    def __init__(self, kind: str, *, attribute: str | None = None) -> None:
        self.kind = kind
        self.attribute = attribute
        self._factories: dict[str, Callable[..., T]] = {}
        self._aliases: dict[str, str] = {}

    def register(
        self, name: str, *, aliases: tuple[str, ...] = ()
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name`` and optional ``aliases``."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            for key in (name, *aliases):
                if key in self._factories or key in self._aliases:
                    raise ValueError(f"{self.kind} {key!r} is registered twice")
            if self.attribute:
                setattr(factory, self.attribute, name)
            self._factories[name] = factory
            for alias in aliases:
                self._aliases[alias] = name
            return factory

        return deco

    def remove(self, name: str) -> None:
        """Unregister ``name`` and its aliases (tests and plug-ins that unload)."""
        name = self.canonical(name)
        del self._factories[name]
        for alias in self.aliases_of(name):
            del self._aliases[alias]

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` or one of its aliases."""
        if name in self._factories:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise ConfigError(
            f"unknown {self.kind} {name!r}; valid choices: {', '.join(self.names(aliases=True))}"
        )

    def get(self, name: str) -> Callable[..., T]:
        """The factory for ``name`` (or an alias)."""
        return self._factories[self.canonical(name)]

    def create(self, name: str, *, given: dict[str, Any] | None = None, **kwargs: Any) -> T:
        """Build ``name`` with keyword arguments checked and typed by :func:`avrobust.options.bind`
        (``given``: keywords passed as they are, such as a threat model)."""
        factory = self.get(name)
        options = bind(factory, kwargs, f"{self.kind} {self.canonical(name)!r}", given=given)
        return factory(**(given or {}), **options)

    def names(self, pattern: str = "*", *, aliases: bool = False) -> list[str]:
        """Registered names matching a shell-style wildcard ``pattern``, sorted."""
        pool = list(self._factories) + (list(self._aliases) if aliases else [])
        return sorted(n for n in pool if fnmatch.fnmatchcase(n, pattern))

    def aliases_of(self, name: str) -> list[str]:
        """The aliases registered for ``name``."""
        return sorted(a for a, n in self._aliases.items() if n == name)

    def choices(self) -> str:
        """Every name with its aliases, for help texts: ``"a (alias), b, c"``."""
        return ", ".join(f"{n} ({', '.join(self.aliases_of(n))})" if self.aliases_of(n) else n for n in self)

    def __contains__(self, name: object) -> bool:
        return name in self._factories or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._factories))

    def __len__(self) -> int:
        return len(self._factories)


def import_submodules(package: str) -> None:
    """Import every module of ``package`` (a package's plug-ins register themselves on import)."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{info.name}")

