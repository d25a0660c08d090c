"""Command-line options shared by several commands (one definition, one help text)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer


class OutputFormat(StrEnum):
    """``--format`` of the commands that print a table: for people, or json/csv."""

    table = "table"
    json = "json"
    csv = "csv"


class TableOrJson(StrEnum):
    """``--format`` of the commands that print a table for people or json for machines."""

    table = "table"
    json = "json"


DrawsOption = Annotated[
    int | None,
    typer.Option("--draws", "-d", min=1, help="Monte Carlo draws (default: the scenario's)."),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", "-s", min=0, max=2**64 - 1, help="Random seed (default: the scenario's)."
    ),
]


def option(*names: str, help: str, **more: Any) -> Any:
    """A ``typer.Option`` whose ``help`` says what its default is, so typer prints none."""
    return typer.Option(*names, help=help, show_default=False, **more)


def argument(help: str, **more: Any) -> Any:
    """A ``typer.Argument`` whose ``help`` says all there is, so typer prints no default."""
    return typer.Argument(help=help, show_default=False, **more)
