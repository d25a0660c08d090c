"""The measure catalogue: candidate countermeasures, their limits and prices, from a CSV.

The shipped catalogue (``data/optimise/measures.csv``) prices the default network's
candidates from the public figures collected in the project's cost reference: every row
names its source and year, or states its assumption with a range (``cost_low`` ..
``cost_high``). A user's file with the same columns replaces it (``--measures FILE``).

Columns: ``id, type, commodity, holders, regions, country, suppliers, output, input,
factor, max_amount, unit_cost, cost_low, cost_high, cost_basis, opex, lead_days, ramp_days,
performance_penalty, source, year, assumption``. Lists (holders, regions, suppliers) are
separated by ``;``. ``cost_basis`` is ``eur`` (``unit_cost`` in EUR per unit of the
decision) or ``value_share`` (``unit_cost`` times the commodity's value from the network).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from chokepoint.errors import DataError
from chokepoint.optimise.candidate import Candidate
from chokepoint.optimise.measures import MEASURE_KINDS

COLUMNS = [
    "id",
    "type",
    "commodity",
    "holders",
    "regions",
    "country",
    "suppliers",
    "output",
    "input",
    "factor",
    "max_amount",
    "unit_cost",
    "cost_low",
    "cost_high",
    "cost_basis",
    "opex",
    "lead_days",
    "ramp_days",
    "performance_penalty",
    "source",
    "year",
    "assumption",
]
NUMBERS = {
    "factor": 0.0,
    "max_amount": math.inf,
    "unit_cost": None,
    "cost_low": math.nan,
    "cost_high": math.nan,
    "opex": 0.0,
    "lead_days": 0.0,
    "ramp_days": 0.0,
    "performance_penalty": 0.0,
}


def default_catalogue_path() -> Path:
    return Path(str(resources.files("chokepoint") / "data" / "optimise" / "measures.csv"))


def load_catalogue(path: str | Path | None = None) -> list[Candidate]:
    """Read and check a catalogue; raise DataError naming file, row and field."""
    file = Path(path) if path is not None else default_catalogue_path()
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read the measure catalogue: {exc}", file=file) from None
    missing = [c for c in ("id", "type", "unit_cost") if c not in table.columns]
    if missing:
        raise DataError(f"missing column '{missing[0]}'", file=file, row=0, field=missing[0])
    unknown = [c for c in table.columns if c not in COLUMNS]
    if unknown:
        raise DataError(f"unknown column '{unknown[0]}'", file=file, row=0, field=unknown[0])
    candidates = []
    seen: set[str] = set()
    for number, row in enumerate(table.to_dict("records"), start=1):
        values = {k: str(row.get(k, "")).strip() for k in COLUMNS}
        if not values["id"]:
            raise DataError("empty id", file=file, row=number, field="id")
        if values["id"] in seen:
            raise DataError(f"duplicate id '{values['id']}'", file=file, row=number, field="id")
        seen.add(values["id"])
        if values["type"] not in MEASURE_KINDS:
            raise DataError(
                f"unknown type '{values['type']}' (known: {', '.join(MEASURE_KINDS)})",
                file=file,
                row=number,
                field="type",
            )
        numbers: dict[str, Any] = {}  # Candidate's numeric fields
        for name, default in NUMBERS.items():
            numbers[name] = _number(values[name], default, file, number, name)
        basis = values["cost_basis"] or "eur"
        if basis not in ("eur", "value_share"):
            raise DataError(
                f"cost_basis must be 'eur' or 'value_share', not '{basis}'",
                file=file,
                row=number,
                field="cost_basis",
            )
        if not values["source"] and not values["assumption"]:
            raise DataError(
                "a price needs a source or a stated assumption",
                file=file,
                row=number,
                field="source",
            )
        candidate = Candidate(
            id=values["id"],
            type=values["type"],
            commodity=values["commodity"],
            holders=_names(values["holders"]),
            regions=_names(values["regions"]) or ("EU27",),
            country=values["country"].upper(),
            suppliers=_names(values["suppliers"]),
            output=values["output"],
            input=values["input"],
            cost_basis=basis,
            source=values["source"],
            year=values["year"],
            assumption=values["assumption"],
            **numbers,
        )
        MEASURE_KINDS[candidate.type].check(candidate, file, number)
        candidates.append(candidate)
    if not candidates:
        raise DataError("the measure catalogue has no rows", file=file)
    return candidates


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _number(text: str, default, file: Path, row: int, name: str) -> float:
    if text == "":
        if default is None:
            raise DataError("a number is required", file=file, row=row, field=name)
        return default
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"'{text}' is not a number", file=file, row=row, field=name) from None
    if math.isnan(value) or (math.isinf(value) and name != "max_amount"):
        raise DataError(f"'{text}' is not a finite number", file=file, row=row, field=name)
    if value < 0:
        raise DataError(f"must be >= 0 (got {text})", file=file, row=row, field=name)
    return value
