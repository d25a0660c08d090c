"""Country codes: ISO 3166-1 alpha-3 codes, the EU27 and other named regions.

Everything that needs country_converter's table is loaded lazily and cached, so
importing this module costs nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType

import country_converter as coco
import pandas as pd

EU27: tuple[str, ...] = (
    "AUT",
    "BEL",
    "BGR",
    "HRV",
    "CYP",
    "CZE",
    "DNK",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LVA",
    "LTU",
    "LUX",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "ESP",
    "SWE",
)
"""The 27 member states of the European Union (since 1 February 2020), as ISO3."""

REGIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({"EU27": EU27, "EU": EU27})
"""Named groups of countries (read-only): region code -> member ISO3 codes."""

PSEUDO_COUNTRIES: Mapping[str, str] = MappingProxyType(
    {"ROW": "rest of world", "EU27": "European Union (27) aggregate"}
)
"""Codes that may stand where a country is expected without being ISO 3166-1 codes."""

# country_converter's own table columns that hold integers (see its country_data.tsv).
_COCO_INT_COLUMNS = (
    "ISOnumeric",
    "UNcode",
    "FAOcode",
    "GBDcode",
    "EURO",
    "UN",
    "UNmember",
    "obsolete",
    "GEOnumeric",
)
_NOT_FOUND = "\x00not found"


def _coco_table() -> pd.DataFrame:
    """Read country_converter's bundled table keeping literal 'NA' (Namibia) as text."""
    from country_converter.country_converter import COUNTRY_DATA_FILE

    table = pd.read_csv(
        COUNTRY_DATA_FILE,
        sep="\t",
        encoding="utf-8",
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )
    for column in _COCO_INT_COLUMNS:
        if column in table.columns:
            table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table


@lru_cache(maxsize=1)
def _converter() -> coco.CountryConverter:
    """The shared country_converter instance (built on first use).

    country_converter 1.3.2 cannot load its own table under pandas 3 (Namibia's
    ISO2 'NA' becomes a missing value and the regex compilation fails with a
    TypeError); in that case the table is read here and handed over as a frame.
    """
    try:
        return coco.CountryConverter()
    except TypeError:
        return coco.CountryConverter(country_data=_coco_table())


@lru_cache(maxsize=1)
def iso3_codes() -> frozenset[str]:
    """All current ISO 3166-1 alpha-3 codes known to country_converter."""
    codes = _converter().data["ISO3"].dropna()
    return frozenset(str(code).strip().upper() for code in codes)


def expand_region(code: str) -> tuple[str, ...]:
    """Member ISO3 codes of a region (``"EU27"``, ``"EU"``); any other code -> ``(code,)``.

    Region names are matched case-insensitively. Codes that are not regions are
    returned unchanged and unchecked: validate them with :func:`iso3_codes`.
    """
    members = REGIONS.get(code.strip().upper())
    return members if members is not None else (code,)


def to_iso3(names: Iterable[str]) -> dict[str, str | None]:
    """Map country names (or ISO2/ISO3 codes) to ISO3 with country_converter.

    Each distinct name is looked up once. A name that matches no country, or
    matches several, maps to ``None``.
    """
    unique = list(dict.fromkeys(str(name) for name in names))
    if not unique:
        return {}
    # country_converter logs every unmatched name; callers report them themselves
    logger = logging.getLogger("country_converter")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        found = _converter().convert(unique, to="ISO3", not_found=_NOT_FOUND, enforce_list=True)
    finally:
        logger.setLevel(level)
    result: dict[str, str | None] = {}
    for name, matches in zip(unique, found, strict=True):
        hits = [str(m) for m in matches if m != _NOT_FOUND]
        result[name] = hits[0] if len(hits) == 1 else None
    return result


_ISO3_FORM = re.compile(r"^[A-Z]{3}$")


def location_problem(code: str, *, regions: bool = True, world: bool = False) -> str:
    """Why ``code`` is not a known location, or ``""`` when it is: the one rule for data,
    scenarios and the command line. Known: ISO3 country codes, the pseudo-countries (ROW,
    EU27 as an aggregate producer...), with ``regions`` the named regions (EU27, EU), with
    ``world`` the code WORLD."""
    if code in PSEUDO_COUNTRIES or (regions and code in REGIONS) or (world and code == "WORLD"):
        return ""
    if not _ISO3_FORM.match(code):
        return f"'{code}' is not an ISO3 country code (three capital letters, e.g. DEU)"
    if code in iso3_codes():
        return ""
    return f"unknown country code '{code}'"


def region_codes(region: str) -> frozenset[str]:
    """Location codes that belong to ``region`` (an EU region also matches ``EU27`` rows)."""
    code = "EU27" if region.upper() == "EU" else region.upper()
    codes = frozenset(expand_region(code)) | {code}
    return codes | {"EU"} if code == "EU27" else codes
