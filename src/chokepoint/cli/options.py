"""Command-line options shared by several commands (one definition, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

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
