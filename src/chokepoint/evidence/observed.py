"""Observed series and the mapping that names the model quantity each is compared with.

**Observed file** (CSV, tidy, one number per row): ``date`` (YYYY-MM-DD; the first of the
month for a monthly figure), ``series`` (``measure:FROM>TO:product``), ``value``, ``unit``
and ``source`` (who published it, where), optionally ``period`` (``month`` when absent; see
validation/README.md for the other periods) and ``note``. Only monthly rows are used for
calibration; where a series has two rows for one month, the first is used (the episodes'
rule).

**Mapping** (YAML)::

    series:
      exports:CHN>WORLD:gallium_wrought_unwrought:
        measure: exports          # exports, output or stopped (share of firms stopped)
        exporter: CHN
        destination: WORLD        # a country, EU27 or WORLD
        commodities: [gallium_metal, gallium_high_purity]
        unit: kg                  # the model commodities' unit; observed values are converted
        compare: ratio            # ratio (to the pre-shock level) or level
        reference: 5135.7         # for ratio: the observed pre-shock monthly level, in `unit`
      stopped:EU27>EU27:car_plants:
        measure: stopped          # compared as a share (the month's mean of daily shares)
        destination: EU27         # the region of PRODUCT@REGION
        commodities: [car_bev]
        unit: count               # counts of plants ...
        reference: 90             # ... divided by this many plants (shares need none)

Bad input raises a :class:`~chokepoint.errors.DataError` naming the file, row and field.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd
import yaml

from chokepoint.errors import DataError
from chokepoint.evidence.series import MEASURES, SHARES, SeriesSpec

REQUIRED = ("date", "series", "value", "unit", "source")
UNITS = {
    "kg": ("kg", 1.0),
    "t": ("kg", 1000.0),
    "share": ("share", 1.0),
    "percent": ("share", 0.01),
}
"""Units an observed value may be in: (base unit, factor to it). Counts may use ``count``."""
UNITS["count"] = ("count", 1.0)
UNITS["event"] = ("event", 1.0)
UNITS["unit"] = ("unit", 1.0)


@dataclass(frozen=True)
class Mapped:
    """One observed series and the model quantity it is compared with."""

    series: str
    spec: SeriesSpec
    unit: str
    compare: str
    reference: float | None


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_observed(path: str | Path) -> pd.DataFrame:
    """The observed rows, checked: dates as timestamps, values as finite numbers."""
    file = Path(path)
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read the observed file: {exc}", file=file) from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"missing column '{missing[0]}'", file=file)
    if "period" not in frame.columns:
        frame["period"] = "month"
    frame["period"] = frame["period"].replace("", "month")
    dates, values = [], []
    for number, row in enumerate(cast(Any, frame.itertuples(index=False)), start=1):
        try:
            dates.append(pd.Timestamp(str(row.date)))
        except ValueError:
            raise DataError(
                "not a date (YYYY-MM-DD)", file=file, row=number, field="date"
            ) from None
        try:
            value = float(row.value)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError("not a finite number", file=file, row=number, field="value")
        values.append(value)
        if str(row.unit) not in UNITS:
            raise DataError(
                f"unknown unit '{row.unit}' (expected {', '.join(UNITS)})",
                file=file,
                row=number,
                field="unit",
            )
        if not str(row.source).strip():
            raise DataError(
                "every observation names its source", file=file, row=number, field="source"
            )
    frame["date"], frame["value"] = dates, values
    return frame


def monthly_observed(frame: pd.DataFrame, series: str, unit: str) -> pd.Series:
    """A series' monthly values in ``unit``, by month (the first row of a month wins)."""
    rows = frame[(frame["series"] == series) & (frame["period"] == "month")]
    rows = rows.drop_duplicates("date", keep="first").sort_values("date")
    values = []
    for row in cast(Any, rows.itertuples(index=False)):
        base, factor = UNITS[str(row.unit)]
        target, to_target = UNITS.get(unit, (unit, 1.0))
        if base != target:
            raise DataError(f"series '{series}': cannot convert {row.unit} to {unit}")
        values.append(float(row.value) * factor / to_target)
    months = pd.PeriodIndex([pd.Timestamp(d).to_period("M") for d in rows["date"]], freq="M")
    return pd.Series(values, index=months, name=series, dtype=float)


def read_mapping(path: str | Path) -> list[Mapped]:
    """The series mapping (see the module docstring)."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read the mapping: {exc}", file=file) from None
    if not isinstance(data, dict) or not isinstance(data.get("series"), dict) or not data["series"]:
        raise DataError("a mapping has a 'series' section naming at least one series", file=file)
    return [_entry(file, name, entry) for name, entry in data["series"].items()]


def _entry(file: Path, name: str, entry: object) -> Mapped:
    where = f"series.{name}"
    if not isinstance(entry, dict):
        raise DataError("expected a mapping of keys to values", file=file, field=where)
    known = {"measure", "exporter", "destination", "commodities", "unit", "compare", "reference"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise DataError("unknown key", file=file, field=f"{where}.{unknown[0]}")
    measure = str(entry.get("measure", "exports"))
    if measure not in MEASURES:
        raise DataError(f"expected {' or '.join(MEASURES)}", file=file, field=f"{where}.measure")
    commodities = entry.get("commodities")
    if isinstance(commodities, str):
        commodities = [commodities]
    if not commodities or not all(isinstance(c, str) for c in commodities):
        raise DataError("a list of model commodities", file=file, field=f"{where}.commodities")
    share = measure in SHARES
    compare = str(entry.get("compare", "share" if share else "level"))
    if compare not in {"level", "ratio", "share"}:
        raise DataError("expected level, ratio or share", file=file, field=f"{where}.compare")
    if (compare == "share") != share:
        wanted = "share" if share else "level or ratio"
        raise DataError(
            f"measure {measure} is compared as {wanted}", file=file, field=f"{where}.compare"
        )
    reference = entry.get("reference")
    if compare == "ratio":
        if not isinstance(reference, int | float) or not math.isfinite(reference) or reference <= 0:
            raise DataError(
                "compare: ratio needs a positive reference level",
                file=file,
                field=f"{where}.reference",
            )
    spec = SeriesSpec(
        measure,
        str(entry.get("exporter", "")).upper(),
        str(entry.get("destination", "WORLD")).upper(),
        tuple(commodities),
    )
    unit = str(entry.get("unit", "share" if share else "kg"))
    if share:
        base = UNITS.get(unit, (unit, 1.0))[0]
        if base not in ("count", "share"):
            raise DataError(
                "a share is observed as count, share or percent", file=file, field=f"{where}.unit"
            )
        if base == "share" and reference is not None:
            raise DataError(
                "a share or percent is compared as it is: no reference",
                file=file,
                field=f"{where}.reference",
            )
        if base == "count" and not (
            isinstance(reference, int | float) and math.isfinite(reference) and reference > 0
        ):
            raise DataError(
                "counts need the reference they are divided by (a positive number, e.g. the "
                "number of plants)",
                file=file,
                field=f"{where}.reference",
            )
        if len(commodities) != 1:
            raise DataError(
                "a stopped series names one product", file=file, field=f"{where}.commodities"
            )
    return Mapped(name, spec, unit, compare, float(reference) if reference is not None else None)
