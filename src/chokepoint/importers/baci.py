"""Importer for bilateral trade flows in the CEPII BACI layout.

BACI ships one CSV per year with the columns ``t,i,j,k,v,q``: year, exporter and
importer (numeric country codes), HS6 product (an integer, so ``10121`` is
``010121``), value in thousand USD and quantity in metric tonnes (blank or
``NA`` when unknown). A companion file maps the numeric country codes to ISO3.

The importer turns these into supplier shares: for each importer and product,
the share of each exporter in the importer's imports over the selected years.
All the heavy lifting runs inside DuckDB, which streams the CSV files, so files
of many GB are aggregated within ``memory_limit`` (DuckDB spills to a temporary
folder beyond it); only the small result reaches pandas.

Grouped importers (``group_importers={"EU27": EU27}``): the imports of the
members are summed into one importer. Trade between two members of the same
group is dropped by default, so EU27 shares describe extra-EU sourcing: a German
import of French goods is not EU dependence on a foreign supplier, and keeping
it would dilute the shares of the suppliers that export controls could cut off.
Pass ``keep_intra_group=True`` to keep it (exporters remain individual
countries either way).

Quantities: a missing quantity is missing, not zero. ``quantity`` is the sum of
the flow's quantities only when every contributing row (years, group members)
has one, else it is missing; ``share_quantity`` is that quantity's share among
the exporters whose quantity is known, and missing for the others.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypedDict, Unpack

import duckdb
import pandas as pd

from chokepoint.errors import DataError, OptionError
from chokepoint.files import atomic_file, decode_utf8, read_bytes, regular_file, staging_folder
from chokepoint.network.countries import REGIONS, expand_region, iso3_codes, to_iso3

TRADE_COLUMNS: tuple[str, ...] = ("t", "i", "j", "k", "v", "q")
"""Columns every BACI trade file must have."""

OUTPUT_COLUMNS: tuple[str, ...] = (
    "importer",
    "product",
    "exporter",
    "value",
    "quantity",
    "share",
    "share_quantity",
)
"""Columns of the supplier-share table, in order."""

YEARS = (1900, 2100)
"""Years accepted in the ``t`` column."""
HS6_RANGE = (10_000, 999_999)
"""HS6 codes as integers: 010000 (chapter 01, its leading zero lost) to 999999."""
MAX_VALUE = 1e12
"""Largest trade value accepted, in thousand USD (1e15 USD: some 40 times world GDP)."""
MAX_QUANTITY = 1e12
"""Largest quantity accepted, in tonnes (some ten times the world's yearly extraction of
all materials)."""
MIN_MEMORY_BYTES = 64 * 2**20
"""Smallest ``memory_limit`` accepted: DuckDB needs room for its buffers."""
MAX_HEADER_BYTES = 1 << 20
"""Longest header line read from a trade file."""
DEFAULT_MEMORY_LIMIT = "512MB"
"""DuckDB's memory limit unless told otherwise (it spills to disk beyond it)."""
DEFAULT_THREADS = 2
"""DuckDB threads unless told otherwise."""

_TYPES = {"t": "DOUBLE", "i": "DOUBLE", "j": "DOUBLE", "k": "DOUBLE", "v": "DOUBLE"}
_TYPES_WITH_Q = {**_TYPES, "q": "DOUBLE"}
_FIELD_MEANING = {
    "t": "year",
    "i": "exporter code",
    "j": "importer code",
    "k": "HS6 product code",
    "v": "value",
    "q": "quantity",
}
_CODE_COLUMN = "country_code"
_ISO3_COLUMNS = ("country_iso3", "iso_3digit_alpha")
_NAME_COLUMNS = ("country_name", "country_name_full", "country_name_abbreviation")
_ISO3_PATTERN = re.compile(r"[A-Z0-9]{3}")
_MAX_CODE = 99_999
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BaciSummary:
    """What :func:`write_baci_supplier_shares` wrote."""

    path: Path
    rows: int
    importers: int
    products: int
    exporters: int


@dataclass(frozen=True)
class _Country:
    """One row of the country-code file."""

    code: int
    iso3: str | None
    name: str
    row: int


@dataclass(frozen=True)
class _Products:
    """Product filter: exact HS6 codes and HS2/HS4 ranges, as integers."""

    exact: frozenset[int]
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Job:
    """Validated inputs of one aggregation."""

    files: tuple[Path, ...]
    headers: tuple[tuple[str, ...], ...]
    codes_file: Path
    countries: tuple[_Country, ...]
    groups: Mapping[str, frozenset[str]]
    importers: tuple[str, ...] | None
    products: _Products | None
    years: tuple[int, ...] | None
    keep_intra_group: bool
    out: Path | None = None


# --------------------------------------------------------------------------- public API


def baci_supplier_shares(
    trade: str | Path | Sequence[str | Path],
    country_codes: str | Path,
    *,
    products: Iterable[str | int] | None = None,
    importers: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    group_importers: Mapping[str, Iterable[str]] | None = None,
    keep_intra_group: bool = False,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int = DEFAULT_THREADS,
) -> pd.DataFrame:
    """Supplier shares per importer and HS6 product from BACI files, as a DataFrame.

    ``trade`` is one BACI CSV (optionally ``.gz``), a list of them, or a folder
    whose ``BACI_*.csv`` files are all read. ``products`` takes HS6 codes
    (``"010121"``, ``10121``) and HS2/HS4 prefixes (``"28"``, ``"8541"``);
    ``importers`` takes ISO3 codes, group names from ``group_importers`` and
    regions such as ``"EU27"`` (expanded to the members when not grouped);
    ``years`` keeps the given years. Values are summed over the selected years.

    Returns the columns of :data:`OUTPUT_COLUMNS`, sorted by importer, product
    and descending value. Raises :class:`~chokepoint.errors.DataError` for a
    missing or malformed file and :class:`ValueError` for a bad option.
    """
    job = _prepare(
        trade, country_codes, products, importers, years, group_importers, keep_intra_group
    )
    with _connect(memory_limit, threads) as con:
        frame = _execute(con, job, _shares_sql(job)).df()
        if frame["importer"].isna().any() or frame["exporter"].isna().any():
            raise _unknown_code_error(con, job)
    return frame


class BaciOptions(TypedDict, total=False):
    """The keyword options of :func:`baci_supplier_shares`, with the same meaning and
    defaults, taken by :func:`write_baci_supplier_shares` as they are."""

    products: Iterable[str | int] | None
    importers: Iterable[str] | None
    years: Iterable[int] | None
    group_importers: Mapping[str, Iterable[str]] | None
    keep_intra_group: bool
    memory_limit: str
    threads: int


def write_baci_supplier_shares(
    trade: str | Path | Sequence[str | Path],
    country_codes: str | Path,
    out: str | Path,
    **options: Unpack[BaciOptions],
) -> BaciSummary:
    """Write :func:`baci_supplier_shares` (the same ``options``) to the Parquet file ``out``,
    streamed by DuckDB.

    The table is written to a temporary file beside ``out`` and moved into place
    only when complete, so an error leaves ``out`` as it was and no partial file.
    """
    unknown = sorted(set(options) - set(BaciOptions.__annotations__))
    if unknown:
        raise TypeError(f"write_baci_supplier_shares() got an unexpected option {unknown[0]!r}")
    job = _prepare(
        trade,
        country_codes,
        options.get("products"),
        options.get("importers"),
        options.get("years"),
        options.get("group_importers"),
        options.get("keep_intra_group", False),
    )
    memory_limit = options.get("memory_limit", DEFAULT_MEMORY_LIMIT)
    threads = options.get("threads", DEFAULT_THREADS)
    target = Path(out)
    job = replace(job, out=target)
    with _connect(memory_limit, threads) as con, atomic_file(target) as partial:
        summary = _copy_to_parquet(con, job, partial)
    return replace(summary, path=target)


# --------------------------------------------------------------------------- preparation


def _prepare(
    trade: str | Path | Sequence[str | Path],
    country_codes: str | Path,
    products: Iterable[str | int] | None,
    importers: Iterable[str] | None,
    years: Iterable[int] | None,
    group_importers: Mapping[str, Iterable[str]] | None,
    keep_intra_group: bool,
) -> _Job:
    """Check the files and options before any data is read."""
    files = _trade_files(trade)
    headers = tuple(_trade_header(path) for path in files)
    codes_file = _existing_file(country_codes)
    countries = _read_country_codes(codes_file)
    groups = _normalize_groups(group_importers)
    known = iso3_codes() | {c.iso3 for c in countries if c.iso3 is not None}
    return _Job(
        files=files,
        headers=headers,
        codes_file=codes_file,
        countries=countries,
        groups=groups,
        importers=None if importers is None else _importer_filter(importers, groups, known),
        products=None if products is None else _product_filter(products),
        years=None if years is None else _year_filter(years),
        keep_intra_group=keep_intra_group,
    )


def _existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or a DataError when there is no such file."""
    return regular_file(path)


def _trade_files(trade: str | Path | Sequence[str | Path]) -> tuple[Path, ...]:
    """The trade files to read: one file, a list of files, or a folder of BACI_*.csv."""
    if isinstance(trade, str | Path):
        folder = Path(trade)
        if folder.is_dir():
            found = sorted([*folder.glob("BACI_*.csv"), *folder.glob("BACI_*.csv.gz")])
            if not found:
                raise DataError("folder holds no BACI_*.csv file", file=folder)
            return tuple(regular_file(path) for path in found)
        trade = [trade]
    if not trade:
        raise ValueError("no trade file given")
    return tuple(_existing_file(path) for path in trade)


def _first_line(path: Path) -> bytes:
    """The first line of a file (gunzipped when its name ends in .gz), as bytes."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                line = handle.readline(MAX_HEADER_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                line = handle.readline(MAX_HEADER_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the file: {_first(exc)}", file=path) from None
    if len(line) > MAX_HEADER_BYTES:
        raise DataError(
            f"the header line is longer than {MAX_HEADER_BYTES >> 20} MiB", file=path, row=0
        )
    return line


def _trade_header(path: Path) -> tuple[str, ...]:
    """The normalised header of a trade file, checked for the BACI columns."""
    text = decode_utf8(_first_line(path), path, first_row=0)
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise DataError(f"malformed header: {exc}", file=path, row=0) from None
    if not header:
        raise DataError("empty file, expected the header t,i,j,k,v,q", file=path, row=0)
    names = tuple(name.strip().lower() for name in header)
    for column in TRADE_COLUMNS:
        if column not in names:
            raise DataError(
                f"missing required column '{column}' ({_FIELD_MEANING[column]}); "
                "a BACI file has the columns t,i,j,k,v,q",
                file=path,
                row=0,
                field=column,
            )
    repeated = next((name for n, name in enumerate(names) if name in names[:n]), None)
    if repeated is not None:
        raise DataError("column appears twice in the header", file=path, row=0, field=repeated)
    return names


def _first(exc: BaseException) -> str:
    """The first line of an exception's text (or its type's name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- country codes


def _read_country_codes(path: Path) -> tuple[_Country, ...]:
    """Parse a BACI country-code file (either column layout); resolve missing ISO3."""
    header, rows = _read_small_csv(path)
    if _CODE_COLUMN not in header:
        raise DataError(
            f"missing required column '{_CODE_COLUMN}'", file=path, row=0, field=_CODE_COLUMN
        )
    iso3_column = next((c for c in _ISO3_COLUMNS if c in header), None)
    name_columns = [c for c in _NAME_COLUMNS if c in header]
    if iso3_column is None and not name_columns:
        raise DataError(
            f"needs an ISO3 column ({' or '.join(_ISO3_COLUMNS)}) or a country name column",
            file=path,
            row=0,
            field=_ISO3_COLUMNS[0],
        )
    countries: list[_Country] = []
    seen: dict[int, int] = {}
    for number, row in enumerate(rows, start=1):
        record = dict(zip(header, row, strict=False))
        code = _country_code(record.get(_CODE_COLUMN, ""), path, number)
        if code in seen:
            raise DataError(
                f"country code {code} repeats row {seen[code]}",
                file=path,
                row=number,
                field=_CODE_COLUMN,
            )
        seen[code] = number
        name = next((record[c].strip() for c in name_columns if record.get(c, "").strip()), "")
        iso3 = _clean_iso3(record.get(iso3_column, "")) if iso3_column else None
        countries.append(_Country(code=code, iso3=iso3, name=name, row=number))
    return _fill_iso3_from_names(countries)


def _read_small_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header (lower-cased) and rows of a small CSV, in UTF-8 or else Windows-1252."""
    try:
        data = gzip.decompress(read_bytes(path)) if path.suffix == ".gz" else read_bytes(path)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the file: {_first(exc)}", file=path) from None
    try:
        text = decode_utf8(data, path, first_row=0)
    except DataError:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
            raise
        if not _cp1252(data):
            raise DataError("cannot decode the file as UTF-8 or Windows-1252", file=path) from None
        text = data.decode("cp1252", errors="strict")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", file=path, row=reader.line_num - 1) from None
    if not lines:
        raise DataError("empty file, expected a header", file=path, row=0)
    return [name.strip().lower() for name in lines[0]], [r for r in lines[1:] if any(r)]


def _cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _country_code(text: str, path: Path, row: int) -> int:
    """The integer country code of one row, or a DataError."""
    try:
        code = int(text.strip())
    except ValueError:
        code = -1
    if not 0 <= code <= _MAX_CODE:
        raise DataError(
            f"country code {text!r} is not an integer from 0 to {_MAX_CODE}",
            file=path,
            row=row,
            field=_CODE_COLUMN,
        )
    return code


def _clean_iso3(text: str) -> str | None:
    """An upper-case three-character code, or None for blanks and placeholders (N/A)."""
    code = text.strip().upper()
    return code if _ISO3_PATTERN.fullmatch(code) else None


def _fill_iso3_from_names(countries: list[_Country]) -> tuple[_Country, ...]:
    """Give rows without an ISO3 the code country_converter finds for their name."""
    names = [c.name for c in countries if c.iso3 is None and c.name]
    found = to_iso3(names) if names else {}
    return tuple(
        replace(c, iso3=found.get(c.name)) if c.iso3 is None and c.name else c for c in countries
    )


# --------------------------------------------------------------------------- options


def _normalize_groups(groups: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    """Group name -> member ISO3s; regions among the members are expanded."""
    result: dict[str, frozenset[str]] = {}
    owner: dict[str, str] = {}
    for name, members in (groups or {}).items():
        label = name.strip()
        if not label:
            raise ValueError("group_importers has an empty group name")
        expanded = frozenset(
            iso.strip().upper() for member in members for iso in expand_region(member)
        )
        for iso in expanded:
            if iso in owner:
                raise ValueError(f"{iso} is in two importer groups: {owner[iso]} and {label}")
            owner[iso] = label
        result[label] = expanded
    return result


def _importer_filter(
    importers: Iterable[str], groups: Mapping[str, frozenset[str]], known: frozenset[str]
) -> tuple[str, ...]:
    """The importer labels to keep (ISO3 codes and group names)."""
    member_of = {iso: label for label, members in groups.items() for iso in members}
    group_names = {label.upper(): label for label in groups}
    labels: list[str] = []
    for raw in importers:
        code = raw.strip()
        if code.upper() in group_names:
            labels.append(group_names[code.upper()])
        elif code.upper() in REGIONS:
            labels.extend(_region_labels(code.upper(), groups))
        elif code.upper() in member_of:
            raise ValueError(
                f"importer {code} is counted in the group {member_of[code.upper()]}; "
                f"ask for {member_of[code.upper()]} or do not group"
            )
        elif code.upper() in known:
            labels.append(code.upper())
        else:
            raise ValueError(f"unknown importer {raw!r}: expected an ISO3 code or a region")
    if not labels:
        raise ValueError("importers is empty; pass None to keep every importer")
    return tuple(dict.fromkeys(labels))


def _region_labels(region: str, groups: Mapping[str, frozenset[str]]) -> list[str]:
    """A region as importer labels: its group when grouped alike, else its members."""
    members = frozenset(REGIONS[region])
    same = [label for label, group in groups.items() if group == members]
    if same:
        return same
    grouped = {iso for group in groups.values() for iso in group}
    if members & grouped:
        raise ValueError(f"region {region} overlaps an importer group without matching it")
    return sorted(members)


def _product_filter(products: Iterable[str | int]) -> _Products:
    """HS codes as exact HS6 integers and HS2/HS4 ranges."""
    exact: set[int] = set()
    ranges: list[tuple[int, int]] = []
    for product in products:
        if isinstance(product, bool) or not isinstance(product, int | str):
            raise ValueError(f"HS code {product!r} must be a string or an integer")
        if isinstance(product, int):
            if not 0 < product <= 999_999:
                raise ValueError(f"HS code {product} is not a 6-digit code")
            exact.add(product)
            continue
        digits = product.strip().replace(".", "").replace(" ", "")
        if not digits.isdigit() or len(digits) not in (2, 4, 6):
            raise ValueError(f"HS code {product!r} must have 2, 4 or 6 digits")
        if len(digits) == 6:
            exact.add(int(digits))
        else:
            width = 10 ** (6 - len(digits))
            ranges.append((int(digits) * width, int(digits) * width + width - 1))
    if not exact and not ranges:
        raise ValueError("products is empty; pass None to keep every product")
    return _Products(exact=frozenset(exact), ranges=tuple(sorted(set(ranges))))


def _year_filter(years: Iterable[int]) -> tuple[int, ...]:
    """The years as sorted distinct integers."""
    result = sorted({int(year) for year in years})
    if not result:
        raise ValueError("years is empty; pass None to keep every year")
    return tuple(result)


# --------------------------------------------------------------------------- DuckDB


def check_memory_limit(text: str) -> str:
    """A DuckDB memory limit such as ``512MB`` or ``2GiB``, at least MIN_MEMORY_BYTES."""
    match = _MEMORY.match(str(text))
    if match is None:
        raise ValueError(f"memory limit {text!r}: expected a size such as 512MB or 2GB")
    number, unit = float(match.group(1)), match.group(2).upper()
    power = "BKMGT".index(unit[0]) if unit != "B" else 0
    size = number * (1024 if "I" in unit else 1000) ** power
    if size < MIN_MEMORY_BYTES:
        raise ValueError(
            f"memory limit {text!r} is too small: DuckDB needs at least "
            f"{MIN_MEMORY_BYTES >> 20} MiB"
        )
    return f"{match.group(1)}{unit}"


@contextmanager
def _connect(memory_limit: str, threads: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that spills to a private temporary folder."""
    if threads < 1:
        raise ValueError("threads must be at least 1")
    memory_limit = check_memory_limit(memory_limit)
    # a staging folder: one left by a killed import is removed by the next one
    with staging_folder(Path(tempfile.gettempdir()) / "chokepoint-duckdb") as spill:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": str(spill),
        }
        try:
            con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            raise ValueError(f"bad DuckDB setting: {exc}") from exc
        try:
            yield con
        finally:
            con.close()


def _code_lookup(column: str, values: Sequence[str | None]) -> str:
    """SQL mapping the integer code in ``column`` through ``values`` (indexed by code).

    A constant list beats a join with a country table here: DuckDB cannot
    estimate the size of a CSV read without sniffing it and then builds the join's
    hash table on the trade side, which exhausts the memory limit.
    """
    items = ", ".join("NULL" if v is None else _sql_text(v) for v in values)
    return (
        f"CASE WHEN {column} BETWEEN 0 AND {len(values) - 1} "
        f"THEN list_extract(CAST([{items}] AS VARCHAR[]), CAST({column} AS BIGINT) + 1) END"
    )


def _code_tables(job: _Job) -> tuple[list[str | None], list[str | None]]:
    """ISO3 and importer label of every country code, as lists indexed by code."""
    member_of = {iso: label for label, members in job.groups.items() for iso in members}
    size = max((c.code for c in job.countries), default=0) + 1
    iso3: list[str | None] = [None] * size
    label: list[str | None] = [None] * size
    for country in job.countries:
        if country.iso3 is not None:
            iso3[country.code] = country.iso3
            label[country.code] = member_of.get(country.iso3, country.iso3)
    return iso3, label


def _sql_text(value: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _read_csv_sql(path: Path, header: Sequence[str], *, typed: bool) -> str:
    """A ``read_csv`` call with explicit column types (VARCHAR everywhere when not typed)."""
    types = _TYPES_WITH_Q if typed else {}
    columns = ", ".join(
        f"{_sql_text(name if name in TRADE_COLUMNS else f'_extra{n}')}: "
        f"{_sql_text(types.get(name, 'VARCHAR'))}"
        for n, name in enumerate(header)
    )
    nulls = "['NA', '']" if typed else "['']"
    return (
        f"read_csv({_sql_text(path)}, columns = {{{columns}}}, header = true, "
        f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', nullstr = {nulls})"
    )


def _bad_conditions(prefix: str = "") -> list[tuple[str, str, str]]:
    """``(field, SQL condition, reason)`` for values read as DOUBLE that are out of place;
    in the order they are reported."""

    def whole(name: str, low: float, high: float) -> str:
        col = prefix + name
        return f"({col} <> trunc({col}) OR {col} NOT BETWEEN {low} AND {high})"

    v, q = prefix + "v", prefix + "q"
    return [
        ("t", whole("t", *YEARS), f"expected a whole year from {YEARS[0]} to {YEARS[1]}"),
        ("i", whole("i", 0, _MAX_CODE), f"expected an integer code from 0 to {_MAX_CODE}"),
        ("j", whole("j", 0, _MAX_CODE), f"expected an integer code from 0 to {_MAX_CODE}"),
        ("k", whole("k", *HS6_RANGE), "expected a six-digit HS code from 010000 to 999999"),
        ("v", f"NOT isfinite({v})", "expected a finite number"),
        ("v", f"{v} < 0", "it must not be negative"),
        ("v", f"{v} > {MAX_VALUE}", f"more than {MAX_VALUE:g} thousand USD"),
        ("q", f"{q} IS NOT NULL AND NOT isfinite({q})", "expected a finite number"),
        ("q", f"{q} < 0", "it must not be negative"),
        ("q", f"{q} > {MAX_QUANTITY}", f"more than {MAX_QUANTITY:g} tonnes"),
    ]


def _trade_sql(job: _Job) -> str:
    """All trade files as one relation ``(t, i, j, k, v, q)``.

    ``NA`` and blanks read as missing; a missing t/i/j/k/v, a code that is not a whole
    number in its range, a negative, non-finite or huge value or quantity aborts the query
    (through ``v``, which every query uses) so that the error path can locate it.
    """
    blank = " OR ".join(f"{name} IS NULL" for name in _TYPES)
    bad = " OR ".join(f"({condition})" for _, condition, _ in _bad_conditions())
    return " UNION ALL ".join(
        "SELECT CAST(t AS INTEGER) AS t, CAST(i AS INTEGER) AS i, CAST(j AS INTEGER) AS j, "
        f"CAST(k AS INTEGER) AS k, CASE WHEN {blank} OR {bad} THEN error('bad value') "
        f"ELSE v END AS v, q FROM {_read_csv_sql(path, header, typed=True)}"
        for path, header in zip(job.files, job.headers, strict=True)
    )


def _filters_sql(job: _Job) -> str:
    """WHERE conditions on the flows of :func:`_flows_sql`."""
    conditions = ["TRUE"]
    if job.years is not None:
        conditions.append(f"t IN ({', '.join(map(str, job.years))})")
    if job.products is not None:
        parts = [f"k BETWEEN {lo} AND {hi}" for lo, hi in job.products.ranges]
        if job.products.exact:
            parts.append(f"k IN ({', '.join(map(str, sorted(job.products.exact)))})")
        conditions.append(f"({' OR '.join(parts)})")
    if job.importers is not None:
        labels = ", ".join(_sql_text(label) for label in job.importers)
        conditions.append(f"(importer IS NULL OR importer IN ({labels}))")
    if job.groups and not job.keep_intra_group:
        groups = ", ".join(_sql_text(label) for label in job.groups)
        conditions.append(
            f"NOT coalesce(importer IN ({groups}) AND exporter_label = importer, FALSE)"
        )
    return " AND ".join(conditions)


def _flows_sql(job: _Job, source: str) -> str:
    """Trade rows of ``source`` with ``importer`` (ISO3 or group), ``exporter`` (ISO3)
    and ``exporter_label`` (its group or ISO3), NULL for unmapped codes; filtered."""
    iso3, label = _code_tables(job)
    return (
        f"SELECT * FROM (SELECT r.*, {_code_lookup('r.j', label)} AS importer, "
        f"{_code_lookup('r.i', iso3)} AS exporter, "
        f"{_code_lookup('r.i', label)} AS exporter_label FROM ({source}) AS r) "
        f"WHERE {_filters_sql(job)}"
    )


def _shares_sql(job: _Job) -> str:
    """The supplier-share query (see the module docstring for the rules)."""
    return f"""
        WITH flows AS ({_flows_sql(job, _trade_sql(job))}),
        totals AS (
            SELECT importer, k, exporter, sum(v) AS value,
                   CASE WHEN count(q) = count(*) THEN sum(q) END AS quantity
            FROM flows
            GROUP BY importer, k, exporter
        )
        SELECT importer, lpad(CAST(k AS VARCHAR), 6, '0') AS product, exporter, value,
               quantity,
               value / nullif(sum(value) OVER per_product, 0) AS share,
               quantity / nullif(sum(quantity) OVER per_product, 0) AS share_quantity
        FROM totals
        WINDOW per_product AS (PARTITION BY importer, k)
        ORDER BY importer, product, value DESC, exporter
    """


def _execute(con: duckdb.DuckDBPyConnection, job: _Job, sql: str) -> duckdb.DuckDBPyConnection:
    """Run a query over the trade files; DuckDB's errors become one-line DataErrors."""
    try:
        return con.execute(sql)
    except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
        raise _read_error(con, job, exc) from exc
    except duckdb.OutOfMemoryException:
        raise OptionError(
            "memory_limit", "DuckDB ran out of memory within this limit; raise it"
        ) from None
    except duckdb.IOException as exc:
        raise DataError(f"cannot read the trade files: {_first(exc)}") from None


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, job: _Job, path: Path) -> BaciSummary:
    """Stream the shares into ``path`` and summarise them; check for unknown codes."""
    try:
        _execute(
            con,
            job,
            f"COPY ({_shares_sql(job)}) TO {_sql_text(path)} (FORMAT parquet, COMPRESSION zstd)",
        )
    except DataError as exc:
        if str(path) in str(exc):  # the output could not be written (a full disk, /proc)
            raise DataError("cannot write the Parquet file", file=job.out or path) from None
        raise
    counts = con.execute(
        "SELECT count(*), count(DISTINCT importer), count(DISTINCT product), "
        "count(DISTINCT exporter), count(*) FILTER (importer IS NULL OR exporter IS NULL) "
        f"FROM read_parquet({_sql_text(path)})"
    ).fetchone()
    assert counts is not None
    if counts[4]:
        raise _unknown_code_error(con, job)
    rows, importers, products, exporters, _ = counts
    return BaciSummary(path, rows=rows, importers=importers, products=products, exporters=exporters)


# --------------------------------------------------------------------------- diagnostics


def _numbered(path: Path, header: Sequence[str], *, typed: bool) -> str:
    """A file's rows with their 1-based data row number ``rn`` (needs threads = 1)."""
    return f"SELECT row_number() OVER () AS rn, * FROM {_read_csv_sql(path, header, typed=typed)}"


def _read_error(con: duckdb.DuckDBPyConnection, job: _Job, exc: duckdb.Error) -> DataError:
    """Locate the first unreadable value behind a failed read (error path only)."""
    con.execute("SET threads = 1")  # row_number() OVER () follows file order
    for path, header in zip(job.files, job.headers, strict=True):
        try:
            found = con.execute(_bad_value_sql(path, header)).fetchone()
        except duckdb.Error as inner:
            return _duckdb_csv_error(inner, path)
        if found is not None:
            row, field, value, reason = found
            shown = (
                "a blank"
                if value is None
                else repr(value if len(value) <= 40 else value[:37] + "...")
            )
            return DataError(
                f"{shown} is not a valid {_FIELD_MEANING[field]}: {reason}",
                file=path,
                row=row,
                field=field,
            )
    return _duckdb_csv_error(exc, None)


def _bad_value_sql(path: Path, header: Sequence[str]) -> str:
    """First row with a blank or non-numeric t/i/j/k/v, a q neither blank, NA nor numeric,
    or a number out of place (:func:`_bad_conditions`): ``(row, field, text, reason)``."""
    checks = [
        (name, f"{name}_text IS NULL OR n_{name} IS NULL", "expected a number") for name in _TYPES
    ]
    checks.append(
        ("q", "q_text IS NOT NULL AND q_text <> 'NA' AND n_q IS NULL", "expected a number")
    )
    checks += _bad_conditions(prefix="n_")
    columns = ", ".join(
        f"{name} AS {name}_text, TRY_CAST(nullif({name}, 'NA') AS DOUBLE) AS n_{name}"
        for name in TRADE_COLUMNS
    )
    which = " ".join(f"WHEN {cond} THEN '{name}'" for name, cond, _ in checks)
    value = " ".join(f"WHEN {cond} THEN {name}_text" for name, cond, _ in checks)
    reason = " ".join(f"WHEN {cond} THEN {_sql_text(text)}" for _, cond, text in checks)
    return (
        f"SELECT rn, CASE {which} END, CASE {value} END, CASE {reason} END "
        f"FROM (SELECT rn, {columns} FROM ({_numbered(path, header, typed=False)})) "
        f"WHERE {' OR '.join(f'({cond})' for _, cond, _ in checks)} ORDER BY rn LIMIT 1"
    )


def _duckdb_csv_error(exc: duckdb.Error, path: Path | None) -> DataError:
    """A DataError from DuckDB's own CSV error text (e.g. a row with too many fields)."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    named = re.search(r"^\s*file = (.+)$", text, re.MULTILINE)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    detail = next(
        (ln for ln in lines[1:] if not ln.startswith(("Original Line", "CSV Error"))),
        lines[0] if lines else "unreadable CSV",
    )
    return DataError(
        f"malformed CSV row: {detail}",
        file=path if path is not None else (named.group(1).strip() if named else None),
        row=int(line.group(1)) - 1 if line else None,
    )


def _unknown_code_error(con: duckdb.DuckDBPyConnection, job: _Job) -> DataError:
    """Locate the first trade row whose exporter or importer code cannot be mapped."""
    con.execute("SET threads = 1")  # row_number() OVER () follows file order
    for path, header in zip(job.files, job.headers, strict=True):
        found = con.execute(
            f"SELECT rn, CAST(i AS BIGINT), CAST(j AS BIGINT), exporter IS NULL, importer IS NULL "
            f"FROM ({_flows_sql(job, _numbered(path, header, typed=True))}) "
            "WHERE importer IS NULL OR exporter IS NULL ORDER BY rn LIMIT 1"
        ).fetchone()
        if found is not None:
            row, exporter_code, importer_code, exporter_unknown, _ = found
            field, code = ("i", exporter_code) if exporter_unknown else ("j", importer_code)
            reason = _unknown_code_reason(job, field, code)
            return DataError(reason, file=path, row=row, field=field)
    return DataError("a country code could not be mapped to ISO3", file=job.codes_file)


def _unknown_code_reason(job: _Job, field: str, code: int) -> str:
    """Why ``code`` has no ISO3: absent from the code file, or unnamed there."""
    role = "exporter" if field == "i" else "importer"
    entry = next((c for c in job.countries if c.code == code), None)
    if entry is None:
        return f"{role} code {code} is not in the country-code file {job.codes_file}"
    return (
        f"{role} code {code} ({entry.name or 'no name'}) has no ISO3 code in "
        f"{job.codes_file} (row {entry.row}) and country_converter does not recognise its name"
    )
