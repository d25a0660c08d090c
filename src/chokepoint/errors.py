"""Error types raised by chokepoint for problems in the user's data or scenario.

Every user-facing error carries a one-line message that names the file, the row
and the field at fault, so that the CLI can print it as it is and exit with 2.
"""

from __future__ import annotations

from pathlib import Path


class ChokepointError(Exception):
    """Base class of every error chokepoint raises about its inputs."""


class DataError(ChokepointError):
    """A data table (network folder, trade file, ...) is malformed or inconsistent.

    ``file`` is the file (or table name) at fault, ``row`` the 1-based data row
    (the header is row 0; ``None`` when the problem spans a table) and
    ``field`` the column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        self.reason = message
        super().__init__(self._format())

    row_word = "row"

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"{self.row_word} {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class ScenarioError(DataError):
    """A scenario file is malformed or contradicts the network it runs on.

    ``row`` is the line of the YAML file; ``field`` the path to the key
    (``events[2].approval_probability``).
    """

    row_word = "line"


class OptionError(ChokepointError):
    """An argument of a library call is wrong: ``argument`` is its parameter name.

    The message reads ``argument: reason``; the CLI shows the same error under the
    command-line option of that name (``--argument: reason``), so the library never has to
    name a flag.
    """

    def __init__(self, argument: str, reason: str) -> None:
        self.argument, self.reason = argument, reason
        super().__init__(f"{argument}: {reason}")

    @property
    def as_option(self) -> str:
        """The message as the command line says it."""
        return f"--{self.argument.replace('_', '-')}: {self.reason}"
