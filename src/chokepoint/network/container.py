"""The supply network: a few validated tables in one container.

``SupplyNetwork`` only holds the tables and knows how to read and write them; the checks
live in :mod:`chokepoint.network.validate`, the maths in :mod:`chokepoint.network.structure`,
:mod:`chokepoint.analysis.metrics` and :mod:`chokepoint.analysis.origins`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd

from chokepoint.errors import DataError
from chokepoint.files import present, regular_file, staging_folder, write_error
from chokepoint.network.schema import REQUIRED_TABLES, TABLES, schemas
from chokepoint.network.structure import NetworkTables
from chokepoint.network.tables import format_table, parse_table, read_table


@dataclass(frozen=True, eq=False)
class SupplyNetwork(NetworkTables):
    """Commodities, producers, links, recipes, stocks, demand and sources as DataFrames.

    Build one with :meth:`from_folder`, :func:`chokepoint.load_default` or
    :meth:`from_tables`; each validates the whole network once and either returns a
    consistent network or raises a :class:`~chokepoint.errors.DataError`.
    """

    sources: pd.DataFrame
    name: str = "network"
    warnings: tuple[str, ...] = field(default=())

    # ----------------------------------------------------------------- building
    @classmethod
    def from_tables(
        cls, tables: dict[str, pd.DataFrame], *, name: str = "network", labels: dict | None = None
    ) -> SupplyNetwork:
        """Parse and validate raw tables (DataFrames of text or typed values)."""
        labels = labels or {}
        parsed = {}
        for table in TABLES:
            raw = tables.get(table)
            if raw is None:
                if table in REQUIRED_TABLES:
                    raise DataError("required table is missing", file=labels.get(table, table))
                raw = pd.DataFrame(columns=list(schemas()[table].required))
            parsed[table] = parse_table(raw, schemas()[table], label=labels.get(table, table))
        return cls._validated(parsed, name=name, labels=labels)

    @classmethod
    def from_folder(cls, path: str | Path) -> SupplyNetwork:
        """Read a folder holding ``<table>.csv`` or ``<table>.parquet`` files."""
        folder = Path(path)
        if not folder.is_dir():
            raise DataError("not a folder with network tables", file=folder)
        parsed: dict[str, pd.DataFrame] = {}
        labels: dict[str, str] = {}
        for table in TABLES:
            file = _table_file(folder, table)
            labels[table] = str(file) if file else str(folder / f"{table}.csv")
            if file is None:
                if table in REQUIRED_TABLES:
                    raise DataError("required table is missing", file=folder / f"{table}.csv")
                empty = pd.DataFrame(columns=list(schemas()[table].required))
                parsed[table] = parse_table(empty, schemas()[table], label=labels[table])
            else:
                parsed[table] = read_table(file, schemas()[table])
        return cls._validated(parsed, name=folder.name, labels=labels)

    @classmethod
    def _validated(
        cls, parsed: dict[str, pd.DataFrame], *, name: str, labels: dict
    ) -> SupplyNetwork:
        from chokepoint.network.validate import validate_tables

        warnings = validate_tables(parsed, labels)
        return cls(**parsed, name=name, warnings=tuple(warnings))

    # ------------------------------------------------------------------ writing
    def to_folder(
        self,
        path: str | Path,
        *,
        format: Literal["csv", "parquet"] = "csv",
        overwrite: bool = False,
    ) -> Path:
        """Write every table to ``path`` (created), atomically: all files or none.

        Refuses to write into a folder that already holds network tables unless
        ``overwrite`` is true.
        """
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise DataError("exists and is not a folder", file=folder)
        if folder.is_dir() and not overwrite:
            clash = [t for t in TABLES if _present_files(folder, t)]
            if clash:
                raise DataError(
                    f"already holds network tables ({clash[0]}...); pass overwrite to replace",
                    file=folder,
                )
        with staging_folder(folder) as staging:
            for table in TABLES:
                frame = format_table(getattr(self, table), schemas()[table])
                target = staging / f"{table}.{format}"
                try:
                    if format == "csv":
                        frame.to_csv(target, index=False, lineterminator="\n")
                    else:
                        getattr(self, table).to_parquet(target, index=False)
                except OSError as exc:
                    raise write_error(exc, folder / target.name) from None
            if not folder.exists():
                os.replace(staging, folder)
            else:
                for table in TABLES:
                    for suffix in ("csv", "parquet"):
                        stale = folder / f"{table}.{suffix}"
                        if suffix != format and stale.exists():
                            stale.unlink()
                    os.replace(staging / f"{table}.{format}", folder / f"{table}.{format}")
        return folder

    # ---------------------------------------------------------------- identity
    @property
    def data_version(self) -> str:
        """A short content hash of all tables: the same data gives the same version."""
        digest = hashlib.sha256()
        for table in TABLES:
            frame = format_table(getattr(self, table), schemas()[table])
            digest.update(table.encode())
            digest.update(frame.to_csv(index=False, lineterminator="\n").encode())
        return digest.hexdigest()[:12]

    def table(self, name: str) -> pd.DataFrame:
        """A table by name."""
        if name not in TABLES:
            raise KeyError(name)
        return getattr(self, name)

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={len(getattr(self, t))}" for t in TABLES)
        return f"SupplyNetwork({self.name!r}: {counts})"


TABLE_SUFFIXES = (".csv", ".parquet")


def _present_files(folder: Path, table: str) -> list[Path]:
    """Whatever sits at ``<table>.csv`` and ``<table>.parquet`` (files, folders, links)."""
    return [
        folder / f"{table}{suffix}"
        for suffix in TABLE_SUFFIXES
        if present(folder / f"{table}{suffix}")
    ]


def _table_file(folder: Path, table: str) -> Path | None:
    """The file of one table, None when absent; a DataError when both a CSV and a Parquet
    file are there, or when the name is a folder, a FIFO, a broken or looping symlink."""
    found = _present_files(folder, table)
    if len(found) > 1:
        raise DataError(
            f"holds both {table}.csv and {table}.parquet; keep one of them", file=folder
        )
    return regular_file(found[0]) if found else None


def default_folder() -> Path:
    """The folder of the default dataset shipped inside the package."""
    return Path(str(resources.files("chokepoint") / "data" / "default"))


def load_default() -> SupplyNetwork:
    """The default network of public figures shipped with chokepoint."""
    network = SupplyNetwork.from_folder(default_folder())
    return network
