"""The ``avrobust`` command line: each command parses its flags, calls one job of :mod:`avrobust.jobs`
and prints the result (tables from :mod:`avrobust.tables`). See ``avrobust --help``."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.text import Text

from avrobust.cli import crafting, guarantees, listing, robustness, train_commands, weights  # noqa: F401  (registers the commands)
from avrobust.cli.app import app, group_commands
from avrobust.console import console
from avrobust.errors import AvrobustError

group_commands()
MULTI_VALUE = {"transfer": ("--surrogates", "--surrogate", "--victims", "--victim"), "ablate": ("--seeds",)}


def expand_multi_values(argv: list[str]) -> list[str]:
    """Let ``transfer --surrogates A B C`` (and a shell glob) mean ``--surrogates A --surrogates B ...``.

    Only for commands without positional arguments, where a bare token after such a flag can mean
    nothing else.
    """
    flags = MULTI_VALUE.get(argv[0], ()) if argv else ()
    out: list[str] = []
    current: str | None = None
    for token in argv:
        if token in flags:
            current = token
            out.append(token)
        elif current and out[-1] != current and not token.startswith("-"):
            out += [current, token]
        else:
            if token.startswith("-"):
                current = None
            out.append(token)
    return out


def device_flag(argv: list[str]) -> str | None:
    """The value of ``--device`` in ``argv`` (None when absent)."""
    for i, token in enumerate(argv):
        if token == "--device" and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith("--device="):
            return token.split("=", 1)[1]
    return None


def fail(message: str) -> NoReturn:
    """Print ``message`` as one ``error:`` line on stderr and exit with status 2."""
    message = " ".join(message.split())  # one line, whatever the message holds
    console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    sys.exit(2)


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit status 2."""
    from avrobust.device import choose
    from avrobust.distributed import setup, teardown
    from avrobust.runtime import tune_allocator

    tune_allocator()
    try:
        choose(device_flag(sys.argv[1:]))  # before torchrun's group is joined: it picks NCCL or Gloo by device
        setup()  # joins the process group when started by torchrun (a no-op otherwise)
        app(args=expand_multi_values(sys.argv[1:]))
    except AvrobustError as err:
        fail(str(err))
    except MemoryError as err:  # an allocation this machine cannot hold (numpy and torch raise it)
        fail(f"out of memory ({' '.join(str(err).split()) or 'an allocation failed'}); use fewer clips, a smaller size "
             "or a smaller --batch-size")
    except OSError as err:  # a file the checks did not foresee (a disk full, a path gone): one line, not a traceback
        where = f" {err.filename}" if err.filename else ""
        fail(f"cannot read or write{where}: {(err.strerror or str(err)).lower()}")
    except KeyboardInterrupt:
        console.print("interrupted; the last completed checkpoint is kept")
        sys.exit(130)
    finally:
        teardown()


if __name__ == "__main__":
    main()
