"""Mapping files: which MRIO sector a physical product belongs to, and which MRIO region a
country is.

A sector mapping is a CSV with one row per (product, MRIO sector)::

    product,mrio_sector,weight,unit_value,source,assumption
    car_bev,i34,1,,pymrio-exio3-classification,"passenger cars are output of ISIC Rev.3 34"

``product`` is a commodity id of the physical network; ``mrio_sector`` a sector code (or label)
of the MRIO; ``weight`` the share of the product's lost output value that falls on that sector
(the weights of one product add up to at most 1); ``unit_value`` the value of one unit of the
product in euros, blank to use the commodity's ``value``; every row names a ``source`` id or
states an ``assumption``. The files for EXIOBASE 3, OECD ICIO and pymrio's test system ship in
``chokepoint/data/mappings`` (``regions.csv`` maps ISO3 countries to each system's regions).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.economy.mrio import MRIO
from chokepoint.errors import DataError

SECTOR_COLUMNS = ("product", "mrio_sector", "weight", "unit_value", "source", "assumption")
REGION_COLUMNS = ("country", "exiobase3", "oecd_icio", "pymrio_test", "source", "assumption")

SECTOR_FILES = {
    "exiobase3_ixi": "exiobase3.csv",
    "exiobase3_pxp": "exiobase3.csv",
    "oecd_icio": "oecd_icio.csv",
    "pymrio_test": "pymrio_test.csv",
}
"""The shipped sector mapping of each known MRIO system."""

REGION_COLUMN = {
    "exiobase3_ixi": "exiobase3",
    "exiobase3_pxp": "exiobase3",
    "oecd_icio": "oecd_icio",
    "pymrio_test": "pymrio_test",
}


def mappings_folder() -> Path:
    """The folder of the shipped mapping files."""
    return Path(str(resources.files("chokepoint") / "data" / "mappings"))


def sector_mapping_path(mrio: MRIO) -> Path:
    """The shipped sector mapping for the MRIO's system; :class:`DataError` if none."""
    if mrio.system not in SECTOR_FILES:
        raise DataError(
            f"no shipped sector mapping for an MRIO of system '{mrio.system}': "
            "give a mapping file (columns: " + ",".join(SECTOR_COLUMNS) + ")",
            file=mrio.name,
        )
    return mappings_folder() / SECTOR_FILES[mrio.system]


# ------------------------------------------------------------------------------ checks


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError("mapping file not found", file=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"not a readable CSV file: {exc}", file=path) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=path)
    return table.apply(lambda column: column.str.strip())


def check_provenance(table: pd.DataFrame, path: Path) -> None:
    """Every row names a source or states an assumption."""
    pairs = zip(table["source"], table["assumption"], strict=True)
    for row, (source, assumption) in enumerate(pairs, 1):
        if not source and not assumption:
            raise DataError("give a source id or an assumption", file=path, row=row, field="source")


def check_numbers(table: pd.DataFrame, path: Path) -> None:
    """``weight`` in (0, 1]; ``unit_value`` blank or a number >= 0."""
    pairs = zip(table["weight"], table["unit_value"], strict=True)
    for row, (weight, value) in enumerate(pairs, 1):
        number = _number(weight, path, row, "weight")
        if not 0.0 < number <= 1.0:
            raise DataError("weight must be in (0, 1]", file=path, row=row, field="weight")
        if value:
            amount = _number(value, path, row, "unit_value")
            if not np.isfinite(amount) or amount < 0:
                raise DataError("unit_value must be >= 0", file=path, row=row, field="unit_value")


def _number(text: str, path: Path, row: int, field: str) -> float:
    """``text`` as a float, or a :class:`DataError` naming the file, row and field."""
    try:
        return float(text)
    except ValueError:
        raise DataError(f"not a number: '{text}'", file=path, row=row, field=field) from None


def check_weights(table: pd.DataFrame, path: Path) -> None:
    """The weights of one product add up to at most 1, and no (product, sector) repeats."""
    for row, duplicated in enumerate(table.duplicated(["product", "mrio_sector"]), 1):
        if duplicated:
            raise DataError("product and sector repeat an earlier row", file=path, row=row)
    totals = table.assign(w=table["weight"].astype(float)).groupby("product")["w"].sum()
    for product, total in totals.items():
        if total > 1.0 + 1e-9:
            row = int(np.flatnonzero(table["product"] == product)[-1]) + 1
            raise DataError(
                f"weights of '{product}' add up to {total:g} > 1",
                file=path,
                row=row,
                field="weight",
            )


def load_sector_mapping(path: str | Path) -> pd.DataFrame:
    """Read and check a sector mapping; ``weight`` and ``unit_value`` become floats."""
    file = Path(path)
    table = _read(file, SECTOR_COLUMNS)
    pairs = zip(table["product"], table["mrio_sector"], strict=True)
    for row, (product, sector) in enumerate(pairs, 1):
        if not product:
            raise DataError("empty product", file=file, row=row, field="product")
        if not sector:
            raise DataError("empty sector", file=file, row=row, field="mrio_sector")
    check_provenance(table, file)
    check_numbers(table, file)
    check_weights(table, file)
    table["weight"] = table["weight"].astype(float)
    table["unit_value"] = pd.to_numeric(table["unit_value"].replace("", np.nan))
    table["row"] = np.arange(1, len(table) + 1)
    return table


def load_region_mapping(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check the country → MRIO region table (``regions.csv`` by default)."""
    file = Path(path) if path is not None else mappings_folder() / "regions.csv"
    table = _read(file, REGION_COLUMNS)
    check_provenance(table, file)
    for row, duplicated in enumerate(table["country"].duplicated(), 1):
        if duplicated:
            raise DataError("country repeats an earlier row", file=file, row=row, field="country")
    return table


# --------------------------------------------------------------------------- resolving


@cache
def _exiobase_names(system: str) -> dict[str, str]:
    """EXIOBASE 3 sector code → name, from pymrio's bundled classification."""
    import pymrio

    table = pymrio.get_classification(
        "exio3_pxp" if system == "exiobase3_pxp" else "exio3_ixi"
    ).sectors
    return dict(zip(table["ExioCode"].astype(str), table["ExioName"].astype(str), strict=True))


def resolve_sector(code: str, mrio: MRIO) -> str | None:
    """The MRIO's label for a sector code: the label itself, or an EXIOBASE code's name."""
    sectors = set(mrio.sectors)
    if code in sectors:
        return code
    if mrio.system.startswith("exiobase3"):
        if mrio.system == "exiobase3_pxp" and code.startswith("i"):
            code = "p" + code[1:]
        name = _exiobase_names(mrio.system).get(code)
        if name in sectors:
            return name
    return None


def resolve_sectors(mapping: pd.DataFrame, mrio: MRIO, path: str | Path) -> pd.DataFrame:
    """Add the MRIO ``sector`` label of each row; :class:`DataError` naming an unknown code."""
    labels = []
    for row, code in zip(mapping["row"], mapping["mrio_sector"], strict=True):
        label = resolve_sector(code, mrio)
        if label is None:
            raise DataError(
                f"sector '{code}' is not in the MRIO '{mrio.name}'",
                file=path,
                row=int(row),
                field="mrio_sector",
            )
        labels.append(label)
    return mapping.assign(sector=labels)


def country_regions(regions: pd.DataFrame, mrio: MRIO) -> dict[str, str]:
    """ISO3 country → MRIO region, for the countries whose region is in the MRIO."""
    present = set(mrio.regions)
    column = REGION_COLUMN.get(mrio.system)
    mapped: dict[str, str] = {}
    codes = regions[column] if column else regions["country"]
    for country, own in zip(regions["country"], codes, strict=True):
        if own in present:
            mapped[country] = own
        elif country in present:
            mapped[country] = country
    return mapped
