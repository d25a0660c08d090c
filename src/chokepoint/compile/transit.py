"""Transit times of links: the data's ``transit_days``, else a default rule by geography.

A shipment leaves its supplier on one day and reaches its customer ``transit_days`` later
(whole days). Where the links table leaves the column blank, the rule below applies; every
figure in it is a stated assumption with a range, except the intercontinental sea leg,
which rests on the one transit time the evidence gives (China to the EU by sea, 4-6 weeks:
Schaeffler, reported by Politico, June 2025)
and is applied to every intercontinental lane.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from chokepoint.network.countries import EU27, region_codes

SEA_DAYS = 35.0
"""Intercontinental lanes, by sea: the middle of 4-6 weeks (28-42 days) China to the EU
(Schaeffler via Politico, June 2025). Used for every intercontinental lane: an assumption
outside China-EU."""

CONTINENT_DAYS = 7.0
"""Cross-border within a continent outside Europe (e.g. Myanmar to China by road, China to
Japan by short-sea): a stated assumption, range 3-14 days."""

EUROPE_DAYS = 2.0
"""Cross-border within Europe by road (e.g. Germany to France): a stated assumption, range
1-4 days."""

DOMESTIC_DAYS = 0.0
"""Within a country, or between a member state and the EU aggregate: delivered the day it
ships (the engine's day is its time step)."""

AIR_DAYS = 5.0
"""Air freight door to door (pick-up, flight, customs, delivery): a stated assumption, range
3-10 days; the default of the ``air_freight`` measure."""

AIR_COST_MULTIPLE = 5.0
"""Air freight costs about five times sea freight (Schaeffler's CEO, reported by Politico,
June 2025): the default of the ``air_freight`` measure."""


@lru_cache(maxsize=1)
def _continents() -> dict[str, str]:
    from chokepoint.network.countries import _converter

    table = _converter().data[["ISO3", "continent"]].dropna()
    found = {str(c).upper(): str(k) for c, k in zip(table["ISO3"], table["continent"], strict=True)}
    found.update({code: "Europe" for code in EU27})
    return found


REGION_CONTINENT = {"EU27": "Europe", "EU": "Europe"}
"""Continents of the region codes that stand for countries."""


def continent(code: str) -> str | None:
    """Continent of a country (``EU27`` is in Europe; ``ROW`` and unknown codes: None)."""
    if code in REGION_CONTINENT:
        return REGION_CONTINENT[code]
    return _continents().get(code)


def crosses_border(supplier_country: np.ndarray, customer_location: np.ndarray) -> np.ndarray:
    """Whether each flow leaves its supplier's country: a flow between a member state and
    the ``EU27`` aggregate (member state unknown) counts as domestic, like any flow within
    one country."""
    inside = np.array(
        [
            a == b or a in region_codes(b) or b in region_codes(a)
            for a, b in zip(supplier_country, customer_location, strict=True)
        ],
        dtype=bool,
    )
    return ~inside


def rule_days(supplier_country: str, customer_location: str, sea_days: float = SEA_DAYS) -> float:
    """Default transit days from a supplier's country to a customer's location.

    Domestic (same country, or a member state and the EU aggregate): 0; else within Europe
    2, within another continent 7, between continents (or to or from the rest of the
    world, ``ROW``) ``sea_days`` (35) by sea.
    """
    a, b = supplier_country, customer_location
    if not crosses_border(np.array([a]), np.array([b]))[0]:
        return DOMESTIC_DAYS
    first, second = continent(a), continent(b)
    if first is None or second is None or first != second:
        return sea_days
    return EUROPE_DAYS if first == "Europe" else CONTINENT_DAYS


def link_transit(
    given: np.ndarray,
    supplier_country: np.ndarray,
    customer_location: np.ndarray,
    on: bool,
    sea_days: float | None = None,
) -> np.ndarray:
    """Whole transit days per link: the given value (rounded), else the rule (with
    ``sea_days`` between continents, :data:`SEA_DAYS` unless given); 0 when off."""
    sea = SEA_DAYS if sea_days is None else float(sea_days)
    given = np.asarray(given, dtype=float)
    if not on:
        return np.zeros(len(given), dtype=np.int64)
    days = np.array(
        [
            rule_days(str(a), str(b), sea) if np.isnan(g) else g
            for g, a, b in zip(given, supplier_country, customer_location, strict=True)
        ],
        dtype=float,
    )
    return np.floor(days + 0.5).astype(np.int64)
