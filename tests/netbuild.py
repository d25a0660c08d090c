"""Small hand-built networks for engine tests (tables as DataFrames)."""

from __future__ import annotations

import pandas as pd

from chokepoint.network.container import SupplyNetwork

A = "test figure"


def network(
    producers: list[tuple],
    links: list[tuple],
    *,
    recipes: list[tuple] | None = None,
    demand: list[tuple] | None = None,
    stocks: list[tuple] | None = None,
    commodities: list[tuple] | None = None,
) -> SupplyNetwork:
    """Build a network from tuples.

    producers: (id, country, commodity, capacity, output[, exports])
    links: (supplier, customer, share[, alternative, qualification_days, partial,
    transit_days]); transit 0 unless given ("" for the default rule)
    recipes: (output, input, quantity, unit)
    demand: (id, region, commodity, quantity, unit)
    stocks: (holder, commodity, quantity, days_of_cover, target_days, unit[, firms,
    firm_cover_spread])
    commodities: (id, unit, stage, value[, family])
    """
    commodities = commodities or [
        ("ore", "t", "mining", 100.0),
        ("good", "unit", "product", 1000.0),
    ]
    recipes = recipes if recipes is not None else [("good", "ore", 1.0, "t/unit")]
    demand = demand or []
    stocks = stocks or []
    tables = {
        "sources": pd.DataFrame(columns=["id", "title", "publisher", "url", "year", "kind"]),
        "commodities": pd.DataFrame(
            [
                {
                    "id": c,
                    "name": c,
                    "unit": u,
                    "stage": s,
                    "material": "test",
                    "value": str(v),
                    "family": row[4] if len(row) > 4 else "",
                    "assumption": A,
                }
                for row in commodities
                for c, u, s, v in [row[:4]]
            ]
        ),
        "producers": pd.DataFrame(
            [
                {
                    "id": i,
                    "name": i,
                    "country": c,
                    "commodity": k,
                    "capacity": str(cap),
                    "output": str(row[4]),
                    "exports": str(row[5]) if len(row) > 5 else "",
                    "assumption": A,
                }
                for row in producers
                for i, c, k, cap in [row[:4]]
            ]
        ),
        "links": pd.DataFrame(
            [
                {
                    "supplier": link[0],
                    "customer": link[1],
                    "share": str(link[2]),
                    "alternative": str(link[3] if len(link) > 3 else False).lower(),
                    "qualification_days": str(link[4] if len(link) > 4 else 0),
                    "partial": str(link[5] if len(link) > 5 else False).lower(),
                    "transit_days": str(link[6] if len(link) > 6 else 0),
                    "assumption": A,
                }
                for link in links
            ],
            columns=[
                "supplier",
                "customer",
                "share",
                "alternative",
                "qualification_days",
                "partial",
                "transit_days",
                "assumption",
            ],
        ),
        "recipes": pd.DataFrame(
            [
                {"output": o, "input": i, "quantity": str(q), "unit": u, "assumption": A}
                for o, i, q, u in recipes
            ],
            columns=["output", "input", "quantity", "unit", "assumption"],
        ),
        "demand": pd.DataFrame(
            [
                {
                    "id": i,
                    "region": r,
                    "commodity": c,
                    "quantity": str(q),
                    "unit": u,
                    "assumption": A,
                }
                for i, r, c, q, u in demand
            ],
            columns=["id", "region", "commodity", "quantity", "unit", "assumption"],
        ),
        "stocks": pd.DataFrame(
            [
                {
                    "holder": h,
                    "commodity": c,
                    "quantity": "" if q is None else str(q),
                    "days_of_cover": "" if d is None else str(d),
                    "target_days": "" if row[4] is None else str(row[4]),
                    "unit": row[5],
                    "firms": str(row[6]) if len(row) > 6 else "",
                    "firm_cover_spread": str(row[7]) if len(row) > 7 else "",
                    "assumption": A,
                }
                for row in stocks
                for h, c, q, d in [row[:4]]
            ],
            columns=[
                "holder",
                "commodity",
                "quantity",
                "days_of_cover",
                "target_days",
                "unit",
                "firms",
                "firm_cover_spread",
                "assumption",
            ],
        ),
    }
    return SupplyNetwork.from_tables(tables, name="test")


def chain(
    stock: float, *, alternative: tuple | None = None, plant_capacity: float = 365 * 1.5
) -> SupplyNetwork:
    """mine (CHN) → plant (DEU, holds ``stock`` t of ore, uses 1 t/day) → EU demand 1/day.

    ``alternative``: (country, capacity per year, qualification days) of a standby mine.
    """
    producers = [
        ("mine", "CHN", "ore", 730.0, 365.0),
        ("plant", "DEU", "good", plant_capacity, 365.0),
    ]
    links = [("mine", "plant", 1.0), ("plant", "eu", 1.0)]
    if alternative is not None:
        country, capacity, qualification = alternative
        producers.append(("alt", country, "ore", capacity, 0.0))
        links.append(("alt", "plant", 0.0, True, qualification))
    return network(
        producers,
        links,
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", stock, None, stock, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )


def mine_and_buyer() -> SupplyNetwork:
    """A Chinese mine shipping 10 t a day (half its capacity) to one German buyer that holds
    no stock: the buyer's receipts are China's exports (calibration and episode tests)."""
    return network(
        [("mine", "CHN", "ore", 7300.0, 3650.0)],
        [("mine", "buyer", 1.0)],
        recipes=[],
        commodities=[("ore", "t", "mining", 100.0)],
        demand=[("buyer", "DEU", "ore", 3650.0, "t")],
        stocks=[("buyer", "ore", 0.0, None, 0.0, "t")],
    )


def firms_chain(firms: int, spread: float, cover: float = 20.0) -> SupplyNetwork:
    """A Chinese mine → a German plant (declared as ``firms`` firms whose ore covers spread
    ±``spread`` around ``cover`` days) → EU demand for the plant's good, one a day."""
    return network(
        [("mine", "CHN", "ore", 730.0, 365.0), ("plant", "DEU", "good", 547.5, 365.0)],
        [("mine", "plant", 1.0), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[
            ("plant", "ore", None, cover, None, "t", firms, spread),
            ("eu", "good", 0.0, None, 0.0, "unit"),
        ],
    )
