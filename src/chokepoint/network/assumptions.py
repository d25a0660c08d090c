"""The inputs of a network that can be swung: one row per ranged or assumed figure.

Every table with an ``assumption`` column (commodities, producers, links, recipes, stocks,
demand) also has optional ``low`` and ``high`` columns: the plausible range of the row's
*ranged quantity*. That is the table's principal column as the schema marks it
(commodities ``value``, producers ``capacity``, links ``share``, recipes ``quantity``,
stocks ``days_of_cover`` or else ``quantity``, demand ``quantity``), or the column the row
names in ``range_of`` (e.g. ``qualification_days`` of a standby link, ``output`` of a
producer whose capacity is sourced).

:func:`assumption_table` lists every row that has a range or an assumption and a number in
its ranged column, with the range to swing:

- ``range_rule="explicit"``: the row's own ``low`` and ``high``.
- ``range_rule="default"``: the row has an assumption but no range. The default rule gives
  ``value × 0.5`` to ``value × 1.5``, clipped to the column's valid values (``min``/``max``
  in the schema: shares stay within 0-1, quantities non-negative).

A row with ``low == high == value`` is fixed by definition (a unit conversion, a modelling
convention); it is listed so that the audit sees it, and swinging it changes nothing.
``sourced`` is true for a row that cites a source and states no assumption. Rows whose
ranged column is blank (a commodity with no price) have no number to swing and are left
out. A producer's range is of its capacity unless ``range_of`` says ``output``; an audit
that swings capacity should scale the baseline output in proportion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from chokepoint.network.schema import NUMERIC_TYPES, TABLE_KEYS, TABLES, TableSchema, schemas

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork

DEFAULT_RELATIVE_RANGE = 0.5
"""The default rule: a row with an assumption and no range swings by ± this fraction."""

COLUMNS: dict[str, str] = {
    "table": "object",
    "key": "object",
    "row": "int64",
    "column": "object",
    "value": "float64",
    "low": "float64",
    "high": "float64",
    "range_rule": "object",
    "sourced": "bool",
    "source": "object",
    "reason": "object",
}
"""Columns of :func:`assumption_table` and their dtypes."""


def ranged_tables() -> tuple[str, ...]:
    """The tables whose rows may carry a low/high range."""
    return tuple(t for t in TABLES if schemas()[t].ranged)


def numeric_columns(schema: TableSchema) -> tuple[str, ...]:
    """Numeric columns of a table, other than the range columns themselves."""
    return tuple(
        c.name for c in schema.columns if c.type in NUMERIC_TYPES and c.name not in {"low", "high"}
    )


def ranged_columns(table: str, frame: pd.DataFrame) -> pd.Series:
    """The column each row's range refers to ("" when the row has no ranged quantity):
    ``range_of`` if given, else the first principal column with a value."""
    schema = schemas()[table]
    chosen = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for name in reversed(schema.principal):
        chosen = chosen.where(frame[name].isna(), name)
    named = frame["range_of"].astype(str).str.strip()
    return named.where(named.ne(""), chosen)


def _keys(table: str, frame: pd.DataFrame) -> pd.Series:
    columns = TABLE_KEYS[table]
    key = frame[columns[0]].astype(str)
    for column in columns[1:]:
        key = key + "/" + frame[column].astype(str)
    return key


def default_range(
    values: np.ndarray, bounds: tuple[float, float, bool]
) -> tuple[np.ndarray, np.ndarray]:
    """The default rule: value × (1 ∓ DEFAULT_RELATIVE_RANGE), clipped to ``bounds``
    (lowest, highest, lowest excluded) and never excluding the value itself."""
    lowest, highest, _ = bounds
    low = np.clip(values * (1 - DEFAULT_RELATIVE_RANGE), lowest, highest)
    high = np.clip(values * (1 + DEFAULT_RELATIVE_RANGE), lowest, highest)
    return np.minimum(low, values), np.maximum(high, values)


def _table_rows(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    schema = schemas()[table]
    column = ranged_columns(table, frame)
    has_range = frame["low"].notna() & frame["high"].notna()
    assumed = frame["assumption"].astype(str).str.strip().ne("")
    parts = []
    for name in dict.fromkeys(column[column.ne("")]):
        mask = column.eq(name) & (has_range | assumed)
        part = frame[mask]
        values = part[name].astype(float).to_numpy()
        present = ~np.isnan(values)
        part, values = part[present], values[present]
        explicit = has_range[part.index].to_numpy()
        low, high = default_range(values, schema.bounds(name))
        low = np.where(explicit, part["low"].to_numpy(dtype=float), low)
        high = np.where(explicit, part["high"].to_numpy(dtype=float), high)
        source = part["source"].astype(str).str.strip()
        reason = part["assumption"].astype(str).str.strip()
        parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "key": _keys(table, part).to_numpy(),
                    "row": part.index.to_numpy() + 1,
                    "column": name,
                    "value": values,
                    "low": low,
                    "high": high,
                    "range_rule": np.where(explicit, "explicit", "default"),
                    "sourced": (source.ne("") & reason.eq("")).to_numpy(),
                    "source": source.to_numpy(),
                    "reason": reason.to_numpy(),
                }
            )
        )
    return pd.concat(parts) if parts else pd.DataFrame(columns=list(COLUMNS))


def assumption_table(net: SupplyNetwork) -> pd.DataFrame:
    """One row per ranged or assumed input of ``net``, with the range to swing it over.

    Columns: ``table``, ``key`` (the row's key columns joined by ``/``), ``row`` (1-based
    data row), ``column`` (the ranged column), ``value``, ``low``, ``high``, ``range_rule``
    (``explicit`` or ``default``, see the module docstring), ``sourced`` (a source and no
    assumption), ``source`` and ``reason`` (the row's assumption text). Ordered by table,
    then row.
    """
    frames = [
        _table_rows(table, frame.reset_index(drop=True))
        for table in ranged_tables()
        if not (frame := net.table(table)).empty
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in COLUMNS.items()})
    result = pd.concat(frames, ignore_index=True)
    order = {t: i for i, t in enumerate(TABLES)}
    result = result.sort_values(
        ["table", "row"], key=lambda s: s.map(order) if s.name == "table" else s, kind="stable"
    ).reset_index(drop=True)
    return result.astype(COLUMNS)[list(COLUMNS)]
