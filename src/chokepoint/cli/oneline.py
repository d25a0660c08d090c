"""One-line errors for the whole command line: the click group every chokepoint command runs in.

Bad input of any kind — a data or scenario error, a file that cannot be read or written, a
usage error that click would draw as a box — is printed as a single ``error: ...`` line on
stderr with exit status 2; ``--debug`` raises it with its traceback instead. Python warnings
are printed as one ``warning: ...`` line each, without the source line that the default
format adds.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
import typer
from typer.core import TyperGroup

from chokepoint.errors import ChokepointError, OptionError

try:  # typer >= 0.20 carries its own copy of click
    _typer_click = importlib.import_module("typer._click.exceptions")
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions

USAGE_ERRORS = (click.UsageError, _typer_click.UsageError)
NO_ARGS = (click.exceptions.NoArgsIsHelpError, _typer_click.NoArgsIsHelpError)
ABORTS = (click.Abort, typer.Abort)

USAGE_EXIT = 2
"""Exit status for every error in the input (data, scenario, options)."""


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces collapsed."""
    return " ".join(str(text).split())


def error_message(exc: BaseException) -> str:
    """The one line shown for an input error."""
    if isinstance(exc, USAGE_ERRORS):
        where = exc.ctx.command_path if exc.ctx is not None else "chokepoint"
        return f"{where}: {one_line(exc.format_message())} (see --help)"
    if isinstance(exc, OSError) and not isinstance(exc, ChokepointError):
        reason = exc.strerror or one_line(str(exc)) or type(exc).__name__
        return f"{exc.filename}: {reason}" if exc.filename else reason
    if isinstance(exc, OptionError):
        return one_line(exc.as_option)  # the library names the argument; here, the option
    return one_line(str(exc)) or type(exc).__name__


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file=None, line=None):
    stream = file if file is not None else sys.stderr
    stream.write(f"warning: {one_line(str(message))}\n")


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Print warnings as one line each (filters are left as they are)."""
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        yield
    finally:
        warnings.showwarning = previous


class OneLineErrors(TyperGroup):
    """A Typer group whose ``main`` turns input errors into one line and exit status 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
        with one_line_warnings():
            try:
                code = super().main(
                    args=argv,
                    prog_name=prog_name,
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
            except NO_ARGS as exc:
                click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
                code = 0
            except (ChokepointError, OSError, *USAGE_ERRORS) as exc:
                if debug:
                    raise
                sys.stderr.write(f"error: {error_message(exc)}\n")
                code = USAGE_EXIT
            except ABORTS:
                sys.stderr.write("error: aborted\n")
                code = 1
        if standalone_mode:
            sys.exit(code or 0)
        return code
