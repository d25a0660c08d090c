"""Validation at the boundary: small named checks, run once when a network is loaded.

Each ``check_*`` function raises a :class:`~chokepoint.errors.DataError` naming the file,
the 1-based data row and the field at fault; :func:`validate_tables` runs them in order
and returns the non-fatal warnings. Tables reach these checks already parsed by their
schema (types, required values, enumerations).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from chokepoint.errors import DataError
from chokepoint.network.assumptions import numeric_columns, ranged_columns, ranged_tables
from chokepoint.network.countries import location_problem
from chokepoint.network.schema import TABLE_KEYS, schemas
from chokepoint.network.structure import link_flows, recipe_cycle, requirements

SHARE_TOLERANCE = 0.01
"""Non-alternative link shares of one customer's input must sum to 1 within this."""

SUPPLY_TOLERANCE = 0.01
"""Links may draw at most this fraction more than a supplier's baseline output."""

MAX_QUANTITY = 1e15
"""Largest number (in size) a network table may hold: quantities per year, stocks, values
(EUR per unit), recipe coefficients. The largest material flows (cement, ~4e9 t a year;
chips, ~1e12 units) are far below it; above it sums of flows lose their precision."""

MAX_DAYS = 36_500
"""Longest duration (in days) a network table may hold: 100 years."""

DATA_TABLES = ("commodities", "producers", "links", "recipes", "stocks", "demand")


def validate_tables(tables: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[str]:
    """Run every check on parsed tables; return warnings, raise DataError on the first error."""
    t = SimpleNamespace(**tables)
    label = {name: labels.get(name, name) for name in tables}
    check_unique_keys(t, label)
    check_provenance(t, label)
    check_countries(t, label)
    check_references(t, label)
    check_values(t, label)
    check_ranges(t, label)
    check_families(t, label)
    check_magnitudes(t, label)
    check_stocks(t, label)
    check_units(t, label)
    check_recipe_cycles(t, label)
    check_link_commodities(t, label)
    check_shares(t, label)
    check_supplier_balance(t, label)
    return missing_input_warnings(t)


def _fail(message: str, file: str, frame: pd.DataFrame, mask: pd.Series, field: str) -> None:
    """Raise for the first row where ``mask`` is true."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(positions):
        row = int(positions[0])
        raise DataError(message.format(row=frame.iloc[row]), file=file, row=row + 1, field=field)


def check_unique_keys(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Ids are unique per table; producer and demand ids do not clash; no duplicate pairs."""
    for table, key in TABLE_KEYS.items():
        columns = list(key)
        frame = getattr(t, table)
        _fail(
            "duplicate " + "/".join(columns) + " '{row[" + columns[0] + "]}'",
            label[table],
            frame,
            frame.duplicated(subset=columns),
            columns[-1] if len(columns) > 1 else columns[0],
        )
        for column in columns:
            _fail(
                "'{row[" + column + "]}' contains whitespace",
                label[table],
                frame,
                frame[column].str.contains(r"\s", regex=True),
                column,
            )
    _fail(
        "demand id '{row[id]}' is also a producer id",
        label["demand"],
        t.demand,
        t.demand["id"].isin(t.producers["id"]),
        "id",
    )


def check_provenance(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Every data row names a source or states an assumption; cited sources exist."""
    known = set(t.sources["id"])
    for table in DATA_TABLES:
        frame = getattr(t, table)
        _fail(
            "row has neither a source nor an assumption",
            label[table],
            frame,
            frame["source"].eq("") & frame["assumption"].eq(""),
            "source",
        )
        cited = frame["source"].map(lambda s: [x.strip() for x in s.split(";") if x.strip()])
        unknown = cited.map(lambda ids: next((x for x in ids if x not in known), ""))
        _fail(
            "unknown source id '{row[_unknown]}' (not in sources)",
            label[table],
            frame.assign(_unknown=unknown),
            unknown.ne(""),
            "source",
        )


def check_countries(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Producer countries are ISO3 (or ROW/EU27); demand regions are ISO3 or a region code."""
    for table, column, regions in (("producers", "country", False), ("demand", "region", True)):
        frame = getattr(t, table)
        problems = frame[column].map(lambda code, r=regions: location_problem(code, regions=r))
        _fail(
            "{row[_problem]}",
            label[table],
            frame.assign(_problem=problems),
            problems.ne(""),
            column,
        )


def check_references(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Every commodity, producer and node id that a row refers to exists."""
    commodities = set(t.commodities["id"])
    producers = set(t.producers["id"])
    node_ids = producers | set(t.demand["id"])
    references = (
        ("producers", "commodity", commodities, "commodity"),
        ("demand", "commodity", commodities, "commodity"),
        ("recipes", "output", commodities, "commodity"),
        ("recipes", "input", commodities, "commodity"),
        ("stocks", "commodity", commodities, "commodity"),
        ("links", "supplier", producers, "producer"),
        ("links", "customer", node_ids, "producer or demand"),
        ("stocks", "holder", node_ids, "producer or demand"),
    )
    for table, column, known, kind in references:
        frame = getattr(t, table)
        _fail(
            f"unknown {kind} id '{{row[{column}]}}'",
            label[table],
            frame,
            ~frame[column].isin(known),
            column,
        )


def check_values(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Quantities are non-negative, shares within [0, 1], output within capacity."""
    non_negative = (
        ("commodities", "value"),
        ("producers", "capacity"),
        ("producers", "output"),
        ("links", "qualification_days"),
        ("stocks", "quantity"),
        ("stocks", "days_of_cover"),
        ("stocks", "target_days"),
        ("demand", "quantity"),
    )
    for table, column in non_negative:
        frame = getattr(t, table)
        _fail(
            f"{column} must not be negative ({{row[{column}]}})",
            label[table],
            frame,
            frame[column] < 0,
            column,
        )
    p = t.producers
    _fail(
        "output {row[output]} exceeds capacity {row[capacity]}",
        label["producers"],
        p,
        p["output"] > p["capacity"] * (1 + 1e-9),
        "output",
    )
    links = t.links
    _fail(
        "share must be between 0 and 1 (got {row[share]})",
        label["links"],
        links,
        (links["share"] < 0) | (links["share"] > 1),
        "share",
    )
    _fail(
        "a link cannot join a producer to itself",
        label["links"],
        links,
        links["supplier"] == links["customer"],
        "customer",
    )
    recipes = t.recipes
    _fail(
        "quantity must be positive (got {row[quantity]})",
        label["recipes"],
        recipes,
        ~(recipes["quantity"] > 0),
        "quantity",
    )
    _fail(
        "recipe uses its own output as input",
        label["recipes"],
        recipes,
        recipes["output"] == recipes["input"],
        "input",
    )


def _bounds_text(lowest: float, highest: float, exclusive: bool) -> str:
    low = f"above {lowest:g}" if exclusive else f"at least {lowest:g}"
    return low if np.isinf(highest) else f"{low} and at most {highest:g}"


def check_ranges(t: SimpleNamespace, label: dict[str, str]) -> None:
    """low and high come together, around the value of the row's ranged column and within
    that column's valid values; range_of names a numeric column of the table."""
    for table in ranged_tables():
        frame = getattr(t, table).reset_index(drop=True)
        schema = schemas()[table]
        allowed = numeric_columns(schema)
        named = frame["range_of"].astype(str).str.strip()
        _fail(
            f"range_of '{{row[range_of]}}' is not a numeric column of {table}"
            f" ({', '.join(allowed)})",
            label[table],
            frame,
            named.ne("") & ~named.isin(allowed),
            "range_of",
        )
        low, high = frame["low"], frame["high"]
        for given, missing in (("low", "high"), ("high", "low")):
            _fail(
                "give both low and high, or neither",
                label[table],
                frame,
                frame[given].notna() & frame[missing].isna(),
                missing,
            )
        ranged = low.notna()
        column = ranged_columns(table, frame)
        _fail(
            "a range needs a value in its ranged column (principal column or range_of)",
            label[table],
            frame,
            ranged & column.eq(""),
            "low",
        )
        for name in dict.fromkeys(column[ranged & column.ne("")]):
            rows = ranged & column.eq(name)
            value = frame[name].astype(float)
            part = frame.assign(_value=value, _column=name)
            _fail(
                "a range needs a value in '{row[_column]}'",
                label[table],
                part,
                rows & value.isna(),
                name,
            )
            _fail(
                "low {row[low]:g} is above the value {row[_value]:g} of {row[_column]}",
                label[table],
                part,
                rows & (low > value),
                "low",
            )
            _fail(
                "high {row[high]:g} is below the value {row[_value]:g} of {row[_column]}",
                label[table],
                part,
                rows & (high < value),
                "high",
            )
            lowest, highest, exclusive = schema.bounds(name)
            valid = _bounds_text(lowest, highest, exclusive)
            too_low = (low <= lowest) if exclusive else (low < lowest)
            _fail(
                f"low {{row[low]:g}} is outside the valid values of {name} ({valid})",
                label[table],
                part,
                rows & too_low,
                "low",
            )
            _fail(
                f"high {{row[high]:g}} is outside the valid values of {name} ({valid})",
                label[table],
                part,
                rows & (high > highest),
                "high",
            )


def check_families(t: SimpleNamespace, label: dict[str, str]) -> None:
    """A family is not named after another commodity, and its members share one unit."""
    c = t.commodities.reset_index(drop=True)
    ids = set(c["id"])
    _fail(
        "family '{row[family]}' is the id of another commodity",
        label["commodities"],
        c,
        c["family"].isin(ids) & c["family"].ne(c["id"]),
        "family",
    )
    units = c.groupby("family")["unit"].transform("nunique")
    _fail(
        "the commodities of family '{row[family]}' have different units",
        label["commodities"],
        c,
        units > 1,
        "family",
    )


def check_magnitudes(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Every number is finite and within the stated range: durations (unit ``days``) up to
    MAX_DAYS, any other number up to MAX_QUANTITY in size."""
    from chokepoint.network.schema import schemas

    for table, schema in schemas().items():
        frame = getattr(t, table)
        for column in schema.columns:
            if column.type != "float" or column.name not in frame:
                continue
            limit = MAX_DAYS if column.unit == "days" else MAX_QUANTITY
            values = frame[column.name].to_numpy(dtype=float, na_value=np.nan)
            bad = np.isinf(values) | (np.abs(np.nan_to_num(values)) > limit)
            _fail(
                f"{{row[{column.name}]}} is beyond the accepted range (at most {limit:g}"
                + (" days)" if column.unit == "days" else " in size)"),
                label[table],
                frame,
                bad,
                column.name,
            )


def check_units(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Recipe, stock and demand units match the commodities' units."""
    unit = t.commodities.set_index("id")["unit"]
    r = t.recipes
    expected = unit.reindex(r["input"]).to_numpy() + "/" + unit.reindex(r["output"]).to_numpy()
    _fail(
        "unit '{row[unit]}' does not match the commodities' units, expected '{row[_expected]}'",
        label["recipes"],
        r.assign(_expected=expected),
        r["unit"].to_numpy() != expected,
        "unit",
    )
    for table in ("demand", "stocks"):
        frame = getattr(t, table)
        expected = unit.reindex(frame["commodity"]).to_numpy()
        mismatch = frame["unit"].to_numpy() != expected
        if table == "stocks":
            mismatch &= frame["quantity"].notna().to_numpy()  # days_of_cover needs no unit
        _fail(
            "unit '{row[unit]}' does not match commodity '{row[commodity]}' unit "
            "'{row[_expected]}'",
            label[table],
            frame.assign(_expected=expected),
            mismatch,
            "unit",
        )


def check_recipe_cycles(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Recipes form no cycle (a commodity may not end up among its own inputs)."""
    cycle = recipe_cycle(t.recipes)
    if cycle:
        r = t.recipes
        edge = (r["output"] == cycle[0]) & (r["input"] == cycle[1])
        _fail("recipe cycle: " + " -> ".join(cycle), label["recipes"], r, edge, "input")


def check_link_commodities(t: SimpleNamespace, label: dict[str, str]) -> None:
    """A link carries its supplier's commodity, which the customer must use."""
    made = t.producers.set_index("id")["commodity"]
    demanded = t.demand.set_index("id")["commodity"]
    used = set(zip(t.recipes["output"], t.recipes["input"], strict=True))
    links = t.links
    carried = made.reindex(links["supplier"]).to_numpy()
    bad = []
    for customer, commodity in zip(links["customer"], carried, strict=True):
        if customer in made.index:
            bad.append((made[customer], commodity) not in used)
        else:
            bad.append(demanded[customer] != commodity)
    _fail(
        "customer '{row[customer]}' does not use the supplier's commodity '{row[_carried]}'",
        label["links"],
        links.assign(_carried=carried),
        pd.Series(bad, dtype=bool),
        "customer",
    )


def check_stocks(t: SimpleNamespace, label: dict[str, str]) -> None:
    """A stock gives a quantity or days of cover (not both) of a commodity its holder uses."""
    s = t.stocks
    both = s["quantity"].notna() & s["days_of_cover"].notna()
    neither = s["quantity"].isna() & s["days_of_cover"].isna()
    _fail(
        "give either quantity or days_of_cover, not both", label["stocks"], s, both, "days_of_cover"
    )
    _fail("give quantity or days_of_cover", label["stocks"], s, neither, "quantity")
    _fail(
        "quantity needs a unit",
        label["stocks"],
        s,
        s["quantity"].notna() & s["unit"].eq(""),
        "unit",
    )
    made = t.producers.set_index("id")["commodity"]
    demanded = t.demand.set_index("id")["commodity"]
    used = set(zip(t.recipes["output"], t.recipes["input"], strict=True))
    bad = []
    for holder, commodity in zip(s["holder"], s["commodity"], strict=True):
        if holder in made.index:
            bad.append(commodity != made[holder] and (made[holder], commodity) not in used)
        else:
            bad.append(demanded[holder] != commodity)
    _fail(
        "holder '{row[holder]}' neither makes nor uses '{row[commodity]}'",
        label["stocks"],
        s,
        pd.Series(bad, dtype=bool),
        "commodity",
    )


def check_shares(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Shares of one customer's input sum to 1, or to at most 1 when declared partial."""
    links = t.links.reset_index(drop=True)
    if links.empty:
        return
    made = t.producers.set_index("id")["commodity"]
    frame = links.assign(
        _commodity=made.reindex(links["supplier"]).to_numpy(),
        _row=np.arange(len(links)),
        _share=np.where(links["alternative"], 0.0, links["share"]),
    )
    active = frame[~frame["alternative"]]
    groups = active.groupby(["customer", "_commodity"], sort=False)
    summary = groups.agg(total=("_share", "sum"), partial=("partial", "any"), row=("_row", "min"))
    over = summary["total"] > 1 + SHARE_TOLERANCE
    under = ~summary["partial"] & (summary["total"] < 1 - SHARE_TOLERANCE)
    for mask, hint in (
        (over, f"must not exceed 1 ± {SHARE_TOLERANCE}"),
        (under, f"expected 1 ± {SHARE_TOLERANCE}; set partial=true if other suppliers are unknown"),
    ):
        if mask.any():
            (customer, commodity), row = next(iter(summary[mask]["row"].items()))
            total = summary.loc[(customer, commodity), "total"]
            raise DataError(
                f"shares of '{commodity}' supplied to '{customer}' sum to {total:.4g} ({hint})",
                file=label["links"],
                row=int(row) + 1,
                field="share",
            )


def check_supplier_balance(t: SimpleNamespace, label: dict[str, str]) -> None:
    """Links draw no more from a supplier than its baseline output (within tolerance)."""
    if t.links.empty:
        return
    drawn = link_flows(t).groupby("supplier")["flow"].sum()
    output = t.producers.set_index("id")["output"]
    ratio = drawn / output.reindex(drawn.index)
    over = drawn[(drawn > output.reindex(drawn.index) * (1 + SUPPLY_TOLERANCE)) & (drawn > 0)]
    if not over.empty:
        supplier = over.index[0]
        row = int(np.flatnonzero(t.producers["id"].to_numpy() == supplier)[0]) + 1
        raise DataError(
            f"customers' links draw {over.iloc[0]:.6g} per year from '{supplier}' but its output"
            f" is {output[supplier]:.6g} ({ratio[supplier]:.1%})",
            file=label["producers"],
            row=row,
            field="output",
        )


def missing_input_warnings(t: SimpleNamespace) -> list[str]:
    """Producers that use an input nobody is linked to supply (origin unknown, unconstrained)."""
    need = requirements(t)
    need = need[need["node"].isin(t.producers["id"]) & (need["requirement"] > 0)]
    made = t.producers.set_index("id")["commodity"]
    supplied = set(zip(t.links["customer"], made.reindex(t.links["supplier"]), strict=True))
    return [
        f"producer '{node}' has no supplier for its input '{commodity}' (origin unknown)"
        for node, commodity in zip(need["node"], need["commodity"], strict=True)
        if (node, commodity) not in supplied
    ]
