"""Table schemas: one CSV per table says each column's type, unit, default and meaning.

The schema files in ``chokepoint/schema/`` are the single source of truth: the loader
parses and checks columns from them, and ``chokepoint data schema`` renders them as the
reference page in the docs.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TABLES: tuple[str, ...] = (
    "sources",
    "commodities",
    "producers",
    "links",
    "recipes",
    "stocks",
    "demand",
)
"""The tables of a supply network, in the order they are checked."""

REQUIRED_TABLES: frozenset[str] = frozenset({"sources", "commodities", "producers"})
"""Tables a network folder must contain; the others may be absent (empty)."""

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("id",),
    "commodities": ("id",),
    "producers": ("id",),
    "links": ("supplier", "customer"),
    "recipes": ("output", "input"),
    "stocks": ("holder", "commodity"),
    "demand": ("id",),
}
"""The columns that identify a row of each table (unique together)."""

STAGES: tuple[str, ...] = (
    "mining",
    "separation",
    "refining",
    "metal",
    "alloy",
    "material",
    "wafer",
    "magnet",
    "component",
    "subassembly",
    "product",
)
ROUTES: tuple[str, ...] = ("primary", "recycling")
SOURCE_KINDS: tuple[str, ...] = ("primary", "secondary", "press", "analyst")

ENUMS: dict[str, tuple[str, ...]] = {"stage": STAGES, "route": ROUTES, "kind": SOURCE_KINDS}
"""Column types whose values come from a fixed list."""

NUMERIC_TYPES = frozenset({"float", "int"})


@dataclass(frozen=True)
class Column:
    """One column of a table: its type, unit, default and meaning."""

    name: str
    type: str
    unit: str
    default: str
    required: bool
    meaning: str
    principal: int | None = None
    minimum: str = ""
    maximum: str = ""

    @property
    def default_from(self) -> str | None:
        """Name of the column whose value is the default, if the default is a column name."""
        return self.default if self.default and not _is_literal(self.default) else None


@dataclass(frozen=True)
class TableSchema:
    """The columns of one table."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def principal(self) -> tuple[str, ...]:
        """Columns a row's low/high range refers to by default, first choice first (a row's
        range is of the first of them that has a value, unless its range_of names another)."""
        ranked = [c for c in self.columns if c.principal is not None]
        return tuple(c.name for c in sorted(ranked, key=lambda c: c.principal or 0))

    @property
    def ranged(self) -> bool:
        """True when the table's rows may carry a low/high range."""
        return "low" in self.names and "high" in self.names

    def bounds(self, name: str) -> tuple[float, float, bool]:
        """Valid values of a numeric column: (lowest, highest, lowest excluded)."""
        column = self.column(name)
        text = column.minimum.strip()
        exclusive = text.startswith(">")
        lowest = float(text.lstrip(">")) if text.lstrip(">") else -math.inf
        highest = float(column.maximum) if column.maximum.strip() else math.inf
        return lowest, highest, exclusive


def _is_literal(default: str) -> bool:
    if default in {"true", "false"}:
        return True
    try:
        float(default)
    except ValueError:
        return default in ROUTES
    return True


@lru_cache(maxsize=1)
def schemas() -> dict[str, TableSchema]:
    """Read the schema files shipped with the package (cached)."""
    folder = resources.files("chokepoint") / "data" / "schema"
    result: dict[str, TableSchema] = {}
    for table in TABLES:
        text = (folder / f"{table}.csv").read_text(encoding="utf-8")
        rows = csv.DictReader(io.StringIO(text))
        columns = tuple(
            Column(
                name=row["column"],
                type=row["type"],
                unit=row["unit"],
                default=row["default"],
                required=row["required"] == "yes",
                meaning=row["meaning"],
                principal=int(row["principal"]) if row.get("principal") else None,
                minimum=row.get("min") or "",
                maximum=row.get("max") or "",
            )
            for row in rows
        )
        result[table] = TableSchema(table, columns)
    return result


def schema_markdown() -> str:
    """The schema reference page (docs/schema.md), generated from the schema files."""
    lines = [
        "# Network tables: the schema reference",
        "",
        "Generated by `chokepoint data schema` from `src/chokepoint/data/schema/*.csv`;"
        " do not edit by hand.",
        "",
        "A network is a folder with one file per table (`<table>.csv` or `<table>.parquet`)."
        f" Required tables: {', '.join(f'`{t}`' for t in TABLES if t in REQUIRED_TABLES)};"
        " the others may be left out. Every row of a data table names a `source` id or carries"
        " an `assumption` with its reason. Rows are counted from 1 after the header in error"
        " messages. A table is one regular file: comma-separated UTF-8 text, or Parquet with"
        " columns of numbers, text or true/false (never both for one table). Numbers are"
        " finite (NaN and infinities are errors); durations (unit `days`) are at most 36,500"
        " days and any other number at most 1e15 in size.",
        "",
        "Ranges: every table with an `assumption` column also has optional `low` and `high`"
        " columns, the plausible range of the row's *ranged quantity*: its table's principal"
        " column (marked `principal` below; where two are marked, the first that has a value),"
        " or the column named in `range_of`. low <= value <= high, within the column's valid"
        " values (`min`, `max`; `>0` means strictly positive). A row with an assumption and no"
        " range gets a default one when the inputs are listed for an audit"
        " (`chokepoint.network.assumptions.assumption_table`): value x 0.5 to value x 1.5,"
        " clipped to the column's valid values, marked `range_rule=default`. A producer's range"
        " is of its capacity unless range_of says output; swinging it scales output in"
        " proportion.",
        "",
        f"Stages: {', '.join(STAGES)}. Routes: {', '.join(ROUTES)}."
        f" Source kinds: {', '.join(SOURCE_KINDS)}.",
        "Countries are ISO 3166-1 alpha-3 codes, plus `ROW` (rest of world) and `EU27` (an EU"
        " aggregate); demand regions may also be `EU27`.",
    ]
    for table in TABLES:
        schema = schemas()[table]
        lines += [
            "",
            f"## `{table}`",
            "",
            "| column | type | unit | default | required | principal | min | max | meaning |",
        ]
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for c in schema.columns:
            lines.append(
                f"| `{c.name}` | {c.type} | {c.unit} | {c.default} | "
                f"{'yes' if c.required else ''} | {c.principal or ''} | {c.minimum} |"
                f" {c.maximum} | {c.meaning} |"
            )
    return "\n".join(lines) + "\n"
