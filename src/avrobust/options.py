"""Typed options, checked in one place: every ``NAME:key=value`` spec (datasets, attacks, training
methods, zoo parts) and every factory keyword goes through :func:`bind` before it reaches code.

:func:`bind` reads the factory's signature and type hints (for a class, its ``__init__`` and those of
the bases it forwards ``**kwargs`` to; for a dataclass, its fields) and returns the keywords coerced
to the declared types, or raises one :class:`~avrobust.errors.ConfigError` line naming the option, the
type it wants and the value it got: ``dataset 'digits': option size wants an integer, got 'abc'``.
Range checks stay with the factory (``__post_init__`` or the constructor), which raises its own line.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from avrobust.errors import ConfigError

_EMPTY = inspect.Parameter.empty


class _Mismatch(Exception):
    """A value that does not fit a type (internal: :func:`bind` turns it into a ConfigError)."""


def parameters(factory: Callable[..., Any]) -> tuple[dict[str, tuple[inspect.Parameter, Any]], bool]:
    """``({name: (parameter, type hint)}, open)``: the keywords ``factory`` accepts and whether it also
    takes any other keyword (a ``**kwargs`` that is not forwarded to a base class's ``__init__``)."""
    if isinstance(factory, type) and not dataclasses.is_dataclass(factory):
        found: dict[str, tuple[inspect.Parameter, Any]] = {}
        is_open = False
        for cls in factory.__mro__:
            init = cls.__dict__.get("__init__")
            if init is None:
                continue
            if cls is object:  # the last **kwargs is the class's own (e.g. options it passes to an attack)
                return found, is_open
            params, is_open = _own_parameters(init, skip_first=True)
            for name, entry in params.items():
                found.setdefault(name, entry)
            if not is_open:
                return found, False
        return found, True
    return _own_parameters(factory, skip_first=False)


def _own_parameters(fn: Callable[..., Any], *, skip_first: bool) -> tuple[dict[str, tuple[inspect.Parameter, Any]], bool]:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no coercion for them
        hints = {}
    params = list(inspect.signature(fn).parameters.values())[1 if skip_first else 0:]
    is_open = any(p.kind is p.VAR_KEYWORD for p in params)
    named = {p.name: (p, hints.get(p.name, Any)) for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return named, is_open


def bind(factory: Callable[..., Any], options: Mapping[str, Any], what: str, *,
         given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``options`` checked against ``factory`` and coerced to its type hints.

    Args:
        what: how errors name the factory (``"attack 'pgd'"``).
        given: keywords the caller passes itself (e.g. ``threat``, ``split``); they count as present
            and are neither coerced nor returned.

    Raises:
        ConfigError: an unknown option (with the valid ones), a missing required one, or a value of
            the wrong type (with the type it wants).
    """
    params, is_open = parameters(factory)
    given = dict(given or {})
    valid = [n for n in params if n not in given]
    unknown = sorted(k for k in options if k not in params or k in given)
    if any(k in given for k in unknown) or (unknown and not is_open):
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for {what}; valid options: "
                          f"{', '.join(valid) or '(none)'}")
    required = [n for n, (p, _) in params.items() if p.default is _EMPTY and n not in given
                and p.kind is not p.POSITIONAL_ONLY]
    missing = [n for n in required if n not in options]
    if missing:
        raise ConfigError(f"{what} needs {', '.join(f'{n}=...' for n in missing)}")
    out = {}
    position = {name: i for i, name in enumerate(params)}
    for key in sorted(options, key=lambda k: position.get(k, len(position))):  # errors in the signature's order
        value, hint = options[key], params[key][1] if key in params else Any
        try:
            out[key] = coerce(value, hint)
        except _Mismatch:
            raise ConfigError(f"{what}: option {key} wants {describe_type(hint)}, got {value!r}") from None
    return out


def coerce(value: Any, hint: Any) -> Any:
    """``value`` as type ``hint`` (ints, floats, bools, strings, ``X | None``, tuples of those,
    ``Literal`` and classes); text from a spec is parsed. Raises ``_Mismatch``."""
    if hint is Any or hint is inspect.Parameter.empty:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is typing.Literal:
        if value in args:
            return value
        raise _Mismatch
    if value is None:
        raise _Mismatch
    if hint is bool:
        return _to_bool(value)
    if hint is int:
        return _to_int(value)
    if hint is float:
        return _to_float(value)
    if hint is str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise _Mismatch
    if origin is tuple and args and (len(args) == 2 and args[1] is Ellipsis):
        items = value.split("+") if isinstance(value, str) else value
        if not isinstance(items, (tuple, list)):
            raise _Mismatch
        return tuple(coerce(v, args[0]) for v in items)
    if isinstance(hint, type) and hint.__module__ not in ("builtins", "typing", "collections.abc"):
        if isinstance(value, hint):
            return value
        raise _Mismatch
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _Mismatch  # a spec's true/false/yes/no arrive as bools (avrobust.specs.parse_value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _Mismatch from None
    raise _Mismatch


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Mismatch
        return value  # an int stays an int, so a spec and the options recorded from it read alike
    if isinstance(value, str):
        try:
            number = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            raise _Mismatch from None
        return number
    raise _Mismatch


def describe_type(hint: Any) -> str:
    """``int`` -> ``"an integer"``, ``float | None`` -> ``"a number or none"``..."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe_type(a) for a in args))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        return f"a list joined with + of {describe_type(args[0]) if args else 'values'}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "text", type(None): "none"}
    if hint in names:
        return names[hint]
    return f"a {getattr(hint, '__name__', str(hint))}"
