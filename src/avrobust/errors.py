"""User-facing errors: one line that says what is wrong and how to fix it."""

from __future__ import annotations


class AvrobustError(Exception):
    """An error caused by user input (a bad flag, file, spec or tensor).

    The CLI prints ``str(err)`` on one line and exits with status 2; library users can catch it.
    Subclasses ``ValueError`` semantics: the message must name the bad value and the valid choices.
    """


class ConfigError(AvrobustError, ValueError):
    """A bad hyper-parameter, name or key."""


class InputError(AvrobustError, ValueError):
    """A tensor that is not a valid input (shape, dtype, NaN/inf, out of range)."""


class CheckpointError(AvrobustError):
    """A checkpoint that is missing, truncated, tampered with or does not match."""
