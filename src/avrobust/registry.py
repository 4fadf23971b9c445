"""A generic name -> factory registry, used for datasets, encoders, fusions, models and methods.

Example:
    >>> ENCODERS = Registry("visual encoder")
    >>> @ENCODERS.register("alexnet")
    ... def alexnet(width: int = 16): ...
    >>> ENCODERS.create("alexnet", width=8)
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from avrobust.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to factories; unknown names fail with the list of valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
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
            self._factories[name] = factory
            for alias in aliases:
                self._aliases[alias] = name
            return factory

        return deco

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

    def create(self, name: str, **kwargs: Any) -> T:
        """Build ``name`` with keyword arguments; unknown keywords fail with the valid ones."""
        factory = self.get(name)
        check_kwargs(factory, kwargs, f"{self.kind} {self.canonical(name)!r}")
        return factory(**kwargs)

    def names(self, pattern: str = "*", *, aliases: bool = False) -> list[str]:
        """Registered names matching a shell-style wildcard ``pattern``, sorted."""
        pool = list(self._factories) + (list(self._aliases) if aliases else [])
        return sorted(n for n in pool if fnmatch.fnmatchcase(n, pattern))

    def aliases_of(self, name: str) -> list[str]:
        """The aliases registered for ``name``."""
        return sorted(a for a, n in self._aliases.items() if n == name)

    def __contains__(self, name: object) -> bool:
        return name in self._factories or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._factories))


def check_kwargs(factory: Callable[..., Any], kwargs: dict[str, Any], what: str) -> None:
    """Raise ``ConfigError`` if ``kwargs`` has keys that ``factory`` does not accept."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for {what}; valid options: {', '.join(valid)}"
        )
