"""Parse command-line specs of the form ``NAME`` or ``NAME:key=value,key=value``."""

from __future__ import annotations

from typing import Any

from avrobust.errors import ConfigError


def parse_value(text: str) -> Any:
    """Read ``text`` as int, float, bool or None when it looks like one, else keep the string."""
    lowered = text.lower()
    if lowered in {"true", "yes"}:
        return True
    if lowered in {"false", "no"}:
        return False
    if lowered in {"none", "null"}:
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"synth:classes=6,frames=6"`` into ``("synth", {"classes": 6, "frames": 6})``.

    Raises:
        ConfigError: on an empty name, an item without ``=`` or a repeated key.
    """
    name, _, rest = spec.strip().partition(":")
    if not name:
        raise ConfigError(f"empty name in spec {spec!r}; write NAME or NAME:key=value,...")
    options: dict[str, Any] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ConfigError(
                    f"bad item {item!r} in spec {spec!r}; write NAME:key=value,key=value"
                )
            if key in options:
                raise ConfigError(f"key {key!r} given twice in spec {spec!r}")
            options[key] = parse_value(value.strip())
    return name, options


def format_spec(name: str, options: dict[str, Any]) -> str:
    """Inverse of :func:`parse_spec` (keys sorted)."""
    if not options:
        return name
    return name + ":" + ",".join(f"{k}={options[k]}" for k in sorted(options))


def short_spec(spec: str, width: int = 40) -> str:
    """``spec`` short enough for a table cell: as written when it fits ``width`` characters, else its name
    with the last part of its ``root`` (or ``cache``) path and an ellipsis (``folder:videos…``), or cut at
    ``width``; the full spec goes beside it (a hover in HTML, a note in Markdown)."""
    if len(spec) <= width:
        return spec
    try:
        name, options = parse_spec(spec)
    except ConfigError:
        name, options = "", {}
    tail = str(options.get("root") or options.get("cache") or "").rstrip("/").rsplit("/", 1)[-1]
    return f"{name}:{tail}…" if tail else spec[: width - 1] + "…"
