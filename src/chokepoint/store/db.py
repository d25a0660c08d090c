"""The run store's database: one SQLite file (standard library ``sqlite3``), schema versioned.

The schema version is SQLite's ``user_version``; opening a store applies the migrations it
lacks, in one transaction each, and refuses a store written by a newer chokepoint. Every
call opens its own short connection (WAL journal, a busy timeout), so a server and a CLI
command can use the same store at once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chokepoint.errors import ChokepointError

DATABASE = "runs.sqlite"
"""The database file inside the store folder."""

RUNS_FOLDER = "runs"
"""Where the store keeps the files of the runs it owns (dashboard runs), one folder each."""

SOURCES = ("dashboard", "cli")

MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            created REAL NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('dashboard', 'cli')),
            label TEXT NOT NULL,
            scenario TEXT NOT NULL,
            scenario_file TEXT,
            scenario_hash TEXT,
            settings TEXT NOT NULL DEFAULT '',
            seed TEXT,
            draws INTEGER,
            horizon_days INTEGER,
            network TEXT,
            data_version TEXT,
            package_version TEXT,
            folder TEXT NOT NULL,
            owned INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX runs_by_created ON runs (created DESC)",
    ),
]
"""Statements that bring the schema from version ``i`` to ``i + 1``, for each ``i``."""

SCHEMA_VERSION = len(MIGRATIONS)

COLUMNS = (
    "id",
    "created",
    "source",
    "label",
    "scenario",
    "scenario_file",
    "scenario_hash",
    "settings",
    "seed",
    "draws",
    "horizon_days",
    "network",
    "data_version",
    "package_version",
    "folder",
    "owned",
    "summary",
)
ID_PATTERN = re.compile(r"[0-9a-f]{6,32}")
MIN_PREFIX = 4


def new_run_id() -> str:
    """A fresh run id: 12 random hex digits."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class RunRecord:
    """One run: what ran (scenario, seed, draws), with which versions, its key numbers
    (``summary``) and where its files are (``folder``; ``owned`` if the store keeps them)."""

    id: str
    source: str
    label: str
    scenario: str
    folder: str
    created: float = field(default_factory=lambda: dt.datetime.now().timestamp())
    scenario_file: str | None = None
    scenario_hash: str | None = None
    settings: str = ""
    seed: int | None = None
    draws: int | None = None
    horizon_days: int | None = None
    network: str | None = None
    data_version: str | None = None
    package_version: str | None = None
    owned: bool = False
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not ID_PATTERN.fullmatch(self.id):
            raise ChokepointError(f"run id '{self.id[:40]}': expected 6 to 32 hex digits")
        if self.source not in SOURCES:
            raise ChokepointError(f"run source '{self.source}': expected one of {SOURCES}")

    @property
    def created_text(self) -> str:
        """When the run was recorded, in local time to the minute."""
        return dt.datetime.fromtimestamp(self.created).strftime("%Y-%m-%d %H:%M")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(value: Any) -> Any:
    """The same data with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _row(record: RunRecord) -> tuple[Any, ...]:
    values = record.to_dict()
    values["seed"] = None if record.seed is None else str(record.seed)  # may pass 64 bits
    values["owned"] = int(record.owned)
    values["summary"] = json.dumps(_finite(record.summary), allow_nan=False, ensure_ascii=False)
    return tuple(values[name] for name in COLUMNS)


def _record(row: sqlite3.Row) -> RunRecord:
    values = dict(zip(COLUMNS, tuple(row), strict=True))
    try:
        summary = json.loads(values["summary"] or "{}")
    except json.JSONDecodeError:
        summary = {}
    values["summary"] = summary if isinstance(summary, dict) else {}
    values["owned"] = bool(values["owned"])
    seed = str(values["seed"]) if values["seed"] is not None else ""
    values["seed"] = int(seed) if seed.lstrip("-").isdigit() else None
    return RunRecord(**values)


class RunStore:
    """The runs recorded in the store folder ``root`` (created if missing)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChokepointError(f"run store {self.root}: cannot create it ({exc})") from None
        if not self.root.is_dir():
            raise ChokepointError(f"run store {self.root}: not a folder")
        self.path = self.root / DATABASE
        with self._connect() as connection:
            self._migrate(connection)

    # ------------------------------------------------------------------ connection

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise ChokepointError(f"run store {self.path}: cannot open it ({exc})") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            yield connection
        except sqlite3.DatabaseError as exc:
            raise ChokepointError(f"run store {self.path}: {exc}") from None
        finally:
            connection.close()

    def _migrate(self, connection: sqlite3.Connection) -> None:
        version = self._version(connection)
        if version > SCHEMA_VERSION:
            raise ChokepointError(
                f"run store {self.path}: schema version {version} is newer than this "
                f"chokepoint knows ({SCHEMA_VERSION}); upgrade chokepoint or use another store"
            )
        while version < SCHEMA_VERSION:
            connection.execute("BEGIN IMMEDIATE")
            try:
                version = self._version(connection)  # another process may have migrated
                if version < SCHEMA_VERSION:
                    for statement in MIGRATIONS[version]:
                        connection.execute(statement)
                    version += 1
                    connection.execute(f"PRAGMA user_version = {version}")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    @staticmethod
    def _version(connection: sqlite3.Connection) -> int:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])

    @property
    def schema_version(self) -> int:
        with self._connect() as connection:
            return self._version(connection)

    # ---------------------------------------------------------------------- records

    def run_folder(self, run_id: str) -> Path:
        """Where the store keeps the files of a run it owns (not created here)."""
        if not ID_PATTERN.fullmatch(run_id):
            raise ChokepointError(f"run id '{run_id[:40]}': expected 6 to 32 hex digits")
        return self.root / RUNS_FOLDER / run_id

    def add(self, record: RunRecord) -> RunRecord:
        """Record a run; an id already recorded is an error."""
        marks = ", ".join("?" for _ in COLUMNS)
        with self._connect() as connection:
            try:
                connection.execute(
                    f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({marks})", _row(record)
                )
            except sqlite3.IntegrityError:
                raise ChokepointError(f"run {record.id} is already recorded") from None
        return record

    def get(self, run_id: str) -> RunRecord:
        """The run with this exact id (KeyError if none)."""
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise KeyError(run_id)
        return _record(row)

    def find(self, reference: str) -> RunRecord:
        """The run whose id is ``reference`` or starts with it (at least 4 hex digits)."""
        reference = reference.strip().lower()
        if not re.fullmatch(r"[0-9a-f]+", reference):
            raise ChokepointError(f"no run '{reference[:40]}' (run ids are hex digits)")
        try:
            return self.get(reference)
        except KeyError:
            pass
        if len(reference) < MIN_PREFIX:
            raise ChokepointError(
                f"no run '{reference}'; give at least {MIN_PREFIX} digits of its id"
            )
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM runs WHERE id LIKE ? ORDER BY created DESC "
                "LIMIT 3",
                (reference + "%",),
            ).fetchall()
        if not rows:
            raise ChokepointError(f"no run '{reference}' in the store {self.root}")
        if len(rows) > 1:
            ids = ", ".join(row[0] for row in rows)
            raise ChokepointError(
                f"'{reference}' names more than one run ({ids}); give more digits"
            )
        return _record(rows[0])

    def runs(
        self, *, limit: int | None = 50, offset: int = 0, source: str | None = None
    ) -> list[RunRecord]:
        """Recorded runs, newest first."""
        where = "WHERE source = ?" if source else ""
        arguments: list[str | int] = [source] if source else []
        query = f"SELECT {', '.join(COLUMNS)} FROM runs {where} ORDER BY created DESC, id"
        query += " LIMIT ? OFFSET ?"
        arguments += [-1 if limit is None else max(limit, 0), max(offset, 0)]
        with self._connect() as connection:
            return [_record(row) for row in connection.execute(query, arguments).fetchall()]

    def count(self, source: str | None = None) -> int:
        where, arguments = ("WHERE source = ?", (source,)) if source else ("", ())
        with self._connect() as connection:
            return int(
                connection.execute(f"SELECT COUNT(*) FROM runs {where}", arguments).fetchone()[0]
            )

    def delete(self, run_id: str) -> RunRecord:
        """Forget a run, and delete its files if the store owns them (a CLI run's ``--out``
        folder is the user's and stays). KeyError if the id is not recorded."""
        record = self.get(run_id)
        with self._connect() as connection:
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if record.owned:
            folder = Path(record.folder)
            owned_root = (self.root / RUNS_FOLDER).resolve()
            if folder.resolve().parent == owned_root and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        return record
