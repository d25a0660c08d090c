"""The network as the engine sees it: exports beyond the network and firms that differ.

Two rewrites of the tables before the model is built, both driven by optional columns:

* a producer's ``exports`` (per year, customs statistics) that its network links do not
  carry go to *buyers outside the network*: a demand row ``beyond:<producer>`` in ``ROW``
  fed by one link, so export measures restrict those sales like any cross-border flow and
  the results report the producer's total exports;
* a holder declared as ``firms`` N > 1 (stocks table) becomes N producer rows
  ``<holder>#1 .. #N``, each with 1/N of the capacity, output and exports, its own
  inputs and its own stocks; a row's ``firm_cover_spread`` s spreads that commodity's
  days of cover evenly over ``d (1 - s) .. d (1 + s)`` (firm i of N: ``d (1 - s + 2 s (i +
  0.5) / N)``), so their mean is the row's cover and the firms run out one after another.

Scenario references keep using the network's ids: :attr:`EngineTables.holder` maps each
producer row to the network producer it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.compile.transit import crosses_border
from chokepoint.errors import DataError
from chokepoint.network.structure import NetworkTables, Tables, link_flows

BEYOND = "beyond:"
"""Prefix of the demand rows that stand for buyers outside the network."""

OUTSIDE_REGION = "ROW"
"""Where the buyers outside the network are placed (their country is unknown)."""


@dataclass(frozen=True)
class EngineTables(NetworkTables):
    """The six tables the model is built from (the network's, rewritten)."""

    holder: dict[str, str] = field(default_factory=dict)
    """Producer row id → the network producer it is a firm of (only split holders)."""


def engine_tables(net: Tables) -> EngineTables:
    """The network's tables with exports beyond the network and firms spelled out."""
    tables = {
        "commodities": net.commodities,
        "producers": net.producers,
        "links": net.links,
        "recipes": net.recipes,
        "stocks": net.stocks,
        "demand": net.demand,
    }
    tables = _beyond_network(tables, net)
    tables, holder = _split_firms(tables)
    return EngineTables(**tables, holder=holder)


def _beyond_network(tables: dict[str, pd.DataFrame], net: Tables) -> dict[str, pd.DataFrame]:
    """A buyer outside the network for each producer whose exports exceed what its
    cross-border links carry (capped at what its network customers leave)."""
    producers = tables["producers"]
    if "exports" not in producers.columns or producers["exports"].isna().all():
        return tables
    flows = link_flows(net)
    crossing = crosses_border(
        flows["supplier_country"].astype(str).to_numpy(),
        flows["customer_location"].astype(str).to_numpy(),
    )
    abroad = flows[crossing].groupby("supplier")["flow"].sum()
    drawn = flows.groupby("supplier")["flow"].sum()
    units = tables["commodities"].set_index("id")["unit"]
    demand, links, stocks = [], [], []
    row: Any  # a namedtuple of the table's columns
    for row in producers.itertuples(index=False):
        if pd.isna(row.exports):
            continue
        free = max(float(row.output) - float(drawn.get(row.id, 0.0)), 0.0)
        beyond = min(max(float(row.exports) - float(abroad.get(row.id, 0.0)), 0.0), free)
        if beyond <= 0:
            continue
        buyer = f"{BEYOND}{row.id}"
        unit = str(units.get(row.commodity, ""))
        demand.append(
            {"id": buyer, "region": OUTSIDE_REGION, "commodity": row.commodity}
            | {"quantity": beyond, "unit": unit}
        )
        links.append(
            {"supplier": row.id, "customer": buyer, "share": 1.0, "partial": False}
            | {"alternative": False, "qualification_days": 0.0, "transit_days": 0.0}
        )
        stocks.append(
            {"holder": buyer, "commodity": row.commodity, "quantity": 0.0}
            | {"target_days": 0.0, "unit": unit}
        )
    return tables | {
        "demand": _append(tables["demand"], demand),
        "links": _append(tables["links"], links),
        "stocks": _append(tables["stocks"], stocks),
    }


def _append(table: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """``table`` with ``rows`` added; columns a row leaves out are blank (by type)."""
    if not rows:
        return table
    extra = pd.DataFrame(rows)
    for column in table.columns:
        kind = table[column].dtype.kind
        if column not in extra.columns:
            extra[column] = np.nan if kind == "f" else False if kind == "b" else None
        if kind in "OUT" or pd.api.types.is_string_dtype(table[column]):
            extra[column] = extra[column].fillna("").astype(str)
    extra = extra[list(table.columns)].astype(table.dtypes.to_dict())
    return pd.concat([table, extra], ignore_index=True)


def _firm_counts(stocks: pd.DataFrame, producer_ids: set[str]) -> dict[str, int]:
    """Number of firms per holder declared so (stocks table), checked."""
    if "firms" not in stocks.columns:
        return {}
    counts: dict[str, int] = {}
    row: Any  # a namedtuple of the table's columns
    for number, row in enumerate(stocks.itertuples(index=False), start=1):
        firms = 1 if pd.isna(row.firms) else int(row.firms)
        spread = 0.0 if pd.isna(row.firm_cover_spread) else float(row.firm_cover_spread)
        if not 1 <= firms <= 1000:
            raise DataError("must be between 1 and 1000", file="stocks", row=number, field="firms")
        if not 0.0 <= spread <= 1.0:
            raise DataError(
                "must be between 0 and 1", file="stocks", row=number, field="firm_cover_spread"
            )
        if firms == 1:
            continue
        if row.holder not in producer_ids:
            raise DataError(
                "firms are declared for producers, not final demand",
                file="stocks",
                row=number,
                field="firms",
            )
        if counts.get(row.holder, firms) != firms:
            raise DataError(
                f"'{row.holder}' is declared with {counts[row.holder]} firms on another row",
                file="stocks",
                row=number,
                field="firms",
            )
        counts[row.holder] = firms
    return counts


def _split_firms(
    tables: dict[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """One producer row per firm of every holder declared with ``firms`` > 1."""
    producers, links, stocks = tables["producers"], tables["links"], tables["stocks"]
    counts = _firm_counts(stocks, set(producers["id"]))
    if not counts:
        return tables, {}
    holder = {f"{p}#{i + 1}": p for p, n in counts.items() for i in range(n)}
    firms = {p: [f"{p}#{i + 1}" for i in range(n)] for p, n in counts.items()}

    def spread_rows(table: pd.DataFrame, column: str, divide: list[str]) -> pd.DataFrame:
        table = table.assign(_firms=table[column].map(firms))
        table["_firms"] = table["_firms"].apply(lambda v: v if isinstance(v, list) else None)
        split = table["_firms"].notna()
        whole = table[~split].drop(columns="_firms")
        parts = table[split].explode("_firms")
        parts["_n"] = parts[column].map(counts)
        for name in divide:
            parts[name] = parts[name] / parts["_n"]
        parts[column] = parts["_firms"]
        parts = parts.drop(columns=["_firms", "_n"])
        return pd.concat([whole, parts], ignore_index=True)

    divide = [c for c in ("capacity", "output", "exports") if c in producers.columns]
    producers = spread_rows(producers, "id", divide)
    links = spread_rows(links, "supplier", ["share"])
    links = spread_rows(links, "customer", [])
    stocks = _firm_stocks(stocks, firms)
    return tables | {"producers": producers, "links": links, "stocks": stocks}, holder


def _firm_stocks(stocks: pd.DataFrame, firms: dict[str, list[str]]) -> pd.DataFrame:
    """Each split holder's stocks per firm: 1/N of a quantity, the same days of cover,
    spread by ``firm_cover_spread`` where given (targets scaled alike)."""
    rows: list[dict[str, Any]] = []
    record: dict[Any, Any]
    for record in stocks.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        names = firms.get(row["holder"])
        if names is None:
            rows.append(row)
            continue
        n = len(names)
        spread = row.get("firm_cover_spread")
        spread = 0.0 if spread is None or pd.isna(spread) else float(spread)
        for name, scale in zip(names, cover_scales(n, spread), strict=True):
            firm = dict(row, holder=name)
            if not pd.isna(row["quantity"]):
                firm["quantity"] = row["quantity"] / n * scale
            if not pd.isna(row["days_of_cover"]):
                firm["days_of_cover"] = row["days_of_cover"] * scale
            if not pd.isna(row["target_days"]):
                firm["target_days"] = row["target_days"] * scale
            rows.append(firm)
    return pd.DataFrame(rows, columns=stocks.columns).astype(stocks.dtypes.to_dict())


def cover_scales(n: int, spread: float) -> np.ndarray:
    """The firms' days of cover relative to the holder's: ``1 - s + 2 s (i + 0.5) / n``."""
    return 1.0 - spread + 2.0 * spread * (np.arange(n) + 0.5) / n
