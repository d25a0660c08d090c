"""Reading and writing one network table: parse each column by its schema type.

Files are read as strict UTF-8 text (CSV) or as Arrow (Parquet) and turned into typed
DataFrames: floats as float64 (NaN when blank), ints as nullable Int64, booleans as bool,
everything else as str ("" when blank). A cell that does not parse raises a DataError naming
the file, the 1-based data row and the column; so do bytes that are not UTF-8, rows with
more cells than the header, Parquet columns of list or struct type and NaN in Parquet.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.errors import DataError
from chokepoint.files import decode_utf8, read_bytes
from chokepoint.network.schema import ENUMS, NUMERIC_TYPES, Column, TableSchema

MAX_WHOLE = 2**53
"""Largest whole number (in size) an int column holds exactly."""

TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f", ""})


def read_table(path: Path, schema: TableSchema) -> pd.DataFrame:
    """Read one table file (``.csv`` or ``.parquet``) and parse it by ``schema``."""
    raw = read_parquet(path) if path.suffix == ".parquet" else read_csv(path)
    return parse_table(raw, schema, label=str(path))


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as a DataFrame of text cells (short rows padded with blanks)."""
    text = decode_utf8(read_bytes(path), path, first_row=0)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    try:
        lines = [line for line in reader if any(cell.strip() for cell in line)]
    except csv.Error as exc:
        raise DataError(
            f"malformed CSV: {exc}", file=path, row=max(reader.line_num - 1, 0)
        ) from None
    if not lines:
        raise DataError("empty file, expected a header row", file=path, row=0)
    header = [name.strip() for name in lines[0]]
    _check_header(header, path)
    rows = lines[1:]
    for number, line in enumerate(rows, start=1):
        if len(line) > len(header):
            raise DataError(
                f"has {len(line)} cells, the header has {len(header)}", file=path, row=number
            )
    padded = [line + [""] * (len(header) - len(line)) for line in rows]
    return pd.DataFrame(padded, columns=header, dtype=object)


def _check_header(header: list[str], path: Path) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError("column appears twice in the header", file=path, row=0, field=name)
        seen.add(name)
    if len(header) == 1 and any(mark in header[0] for mark in ("\t", ";", "|")):
        raise DataError(
            "the header has one column: a network table is comma-separated", file=path, row=0
        )


_ARROW_KINDS = ("integer", "floating", "boolean", "string", "null")


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame of Python values (None for nulls); list, struct and
    other nested columns, and NaN in float columns, are DataErrors."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data = read_bytes(path)
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read the Parquet file: {first}", file=path) from None
    columns: dict[str, pd.Series] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = _arrow_kind(column.type)
        if kind is None:
            raise DataError(
                f"column of type {column.type} (expected numbers, text or true/false)",
                file=path,
                field=str(name),
            )
        if kind == "floating":
            nan = pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
            if nan.any():
                row = int(np.flatnonzero(nan)[0]) + 1
                raise DataError("NaN is not a number", file=path, row=row, field=str(name))
        if str(name) in columns:
            raise DataError("column appears twice", file=path, field=str(name))
        columns[str(name)] = pd.Series(column.to_pylist(), dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _arrow_kind(data_type) -> str | None:
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    checks = {
        "integer": pa.types.is_integer,
        "floating": pa.types.is_floating,
        "boolean": pa.types.is_boolean,
        "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
        "null": pa.types.is_null,
    }
    return next((kind for kind in _ARROW_KINDS if checks[kind](data_type)), None)


def parse_table(raw: pd.DataFrame, schema: TableSchema, *, label: str) -> pd.DataFrame:
    """Check the columns of ``raw`` against ``schema`` and convert each to its type."""
    raw = raw.rename(columns=lambda name: str(name).strip())
    unknown = [name for name in raw.columns if name not in schema.names]
    if unknown:
        raise DataError(
            f"unknown column (expected some of: {', '.join(schema.names)})",
            file=label,
            field=unknown[0],
        )
    for name in schema.required:
        if name not in raw.columns:
            raise DataError("required column is missing", file=label, field=name)
    parsed: dict[str, pd.Series] = {}
    for column in schema.columns:
        values = raw[column.name] if column.name in raw.columns else None
        parsed[column.name] = _parse_column(values, column, len(raw), label)
    table = pd.DataFrame(parsed, index=pd.RangeIndex(len(raw)))
    for column in schema.columns:
        if column.default_from:
            source = table[column.default_from]
            target = table[column.name]
            blank = target.isna() if target.dtype.kind == "f" else target.eq("")
            table[column.name] = target.where(~blank, source)
    return table


def _as_text(values: pd.Series) -> pd.Series:
    return pd.Series(
        ["" if not isinstance(v, str | bool | np.bool_) and pd.isna(v) else v for v in values],
        dtype=object,
    )


def _parse_column(values: pd.Series | None, column: Column, length: int, label: str) -> pd.Series:
    literal_default = column.default if column.default and not column.default_from else ""
    if values is None:
        values = pd.Series([literal_default] * length, dtype=object)
    values = _as_text(values.reset_index(drop=True).astype(object))
    text = pd.Series([v.strip() if isinstance(v, str) else v for v in values], dtype=object)
    blank = pd.Series([isinstance(v, str) and v == "" for v in text], dtype=bool)
    if column.required and blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0]) + 1
        raise DataError("a value is required", file=label, row=row, field=column.name)
    if literal_default:
        text = text.where(~blank, literal_default)
        blank = pd.Series([isinstance(v, str) and v == "" for v in text], dtype=bool)
    if column.type in NUMERIC_TYPES:
        return _parse_number(text, blank, column, label)
    if column.type == "bool":
        return _parse_bool(text, column, label)
    strings = pd.Series([str(v) for v in text], dtype=object)
    if column.type in ENUMS:
        allowed = ENUMS[column.type]
        _reject_first(
            ~blank & ~strings.isin(allowed),
            strings,
            "is not one of: " + ", ".join(allowed),
            column,
            label,
        )
    return strings


def _reject_first(
    bad: pd.Series, values: pd.Series, problem: str, column: Column, label: str
) -> None:
    """Raise a DataError for the first row where ``bad`` holds: "'value' ``problem``"."""
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"'{values[row]}' {problem}", file=label, row=row + 1, field=column.name)


def _parse_number(text: pd.Series, blank: pd.Series, column: Column, label: str) -> pd.Series:
    numbers = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
    bad = numbers.isna() & ~blank
    if not bad.any():
        bad = ~blank & ~np.isfinite(numbers.fillna(0.0))
    _reject_first(bad, text, "is not a number", column, label)
    if column.type == "int":
        huge = numbers.notna() & (numbers.abs() > MAX_WHOLE)
        _reject_first(huge, text, "is too large for a whole number", column, label)
        fractional = numbers.notna() & (numbers != np.round(numbers))
        _reject_first(fractional, text, "is not a whole number", column, label)
        return numbers.round().astype("Int64")
    return numbers


def _parse_bool(text: pd.Series, column: Column, label: str) -> pd.Series:
    def to_bool(value: object) -> bool | None:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return None

    parsed = pd.Series([to_bool(v) for v in text], dtype=object)
    _reject_first(parsed.isna(), text, "is not true or false", column, label)
    return parsed.astype(bool)


def format_table(table: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The table as text columns, ready to write as CSV (blanks for missing values)."""
    out: dict[str, pd.Series] = {}
    for column in schema.columns:
        values = table[column.name]
        if column.type == "bool":
            out[column.name] = values.map(lambda v: "true" if v else "false")
        elif column.type == "int":
            out[column.name] = values.map(lambda v: "" if pd.isna(v) else str(int(v)))
        elif column.type == "float":
            out[column.name] = values.map(_format_float)
        else:
            out[column.name] = values.astype(str)
    return pd.DataFrame(out)


def _format_float(value: float) -> str:
    if pd.isna(value):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
