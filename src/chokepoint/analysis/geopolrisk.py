"""GeoPolRisk: geopolitical supply risk of a raw material for an importing economy.

The method of Koyamparambath et al., as implemented in geopolrisk-py (JOSS, doi
10.21105/joss.09600)::

    score = HHI · Σ_i g_i · f_i / (p + F)

``HHI`` is the Herfindahl-Hirschman index of world production on the 0-1 scale, ``f_i``
the imports (tonnes) from partner ``i``, ``g_i`` the partner's political (in)stability,
``(2.5 − WGI-PV estimate) / 5`` clipped to 0-1 (0.5 where there is no score), ``F`` the
total imports and ``p`` the importer's own production. For a region, trade between its
members counts in ``F`` but with ``g = 0``. The characterisation factor for life-cycle
assessment is ``CF = score · price / CF_Cu`` with the import price in USD/kg and the
package's copper reference ``CF_Cu``.

The formulas are pure functions; :func:`geopolrisk_table` applies them to the shipped
reference tables (:mod:`chokepoint.importers.reference`). ``bench/geopolrisk_check.py``
compares the results with geopolrisk-py's own on the same databases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import cast

import numpy as np
import pandas as pd

from chokepoint.analysis.criticality import COUNTRY_ALIASES
from chokepoint.importers.reference import ReferenceData, load_reference
from chokepoint.network.countries import EU27

MISSING_STABILITY = 0.5
"""Stability score of a partner without one (geopolrisk-py's rule)."""
CF_COPPER = 0.409412948
"""geopolrisk-py's reference: the average CF of copper for OECD countries, 2017-2021."""
KG_PER_TONNE = 1000.0


def production_hhi(production: Mapping[str, float] | pd.Series) -> float:
    """HHI of production on the 0-1 scale (``Σ q_c² / (Σ q_c)²``)."""
    values = np.asarray(
        list(production.values()) if isinstance(production, Mapping) else production
    )
    values = values.astype(float)
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("production must be finite and non-negative")
    total = values.sum()
    if not total > 0:
        raise ValueError("world production is zero")
    return float(np.sum(values * values) / (total * total))


def stability_score(estimate: float | None) -> float:
    """Political (in)stability on 0-1 (1 = least stable) from a WGI-PV estimate."""
    if estimate is None or not math.isfinite(estimate):
        return MISSING_STABILITY
    return float(min(1.0, max(0.0, (2.5 - estimate) / 5.0)))


def import_risk(
    imports: Mapping[str, float],
    stability: Mapping[str, float],
    domestic_production: float = 0.0,
    *,
    members: Iterable[str] = (),
) -> float:
    """``Σ_i g_i f_i / (p + F)``; partners in ``members`` weigh 0 but count in ``F``."""
    inside = set(members)
    total = 0.0
    weighted = 0.0
    for partner, quantity in imports.items():
        if not (math.isfinite(quantity) and quantity >= 0):
            raise ValueError(f"imports from {partner} are {quantity}, expected ≥ 0")
        total += quantity
        if partner not in inside:
            weighted += quantity * stability.get(partner, MISSING_STABILITY)
    denominator = total + domestic_production
    if not denominator > 0:
        return 0.0
    return weighted / denominator


def geopolrisk_score(hhi: float, risk: float) -> float:
    """The GeoPolRisk score: production concentration times import risk."""
    return hhi * risk


def characterization_factor(score: float, price: float, reference: float = CF_COPPER) -> float:
    """The CF in kg Cu-eq/kg: ``score · price / reference`` (price in USD/kg)."""
    return score * price / reference


def geopolrisk_table(
    ref: ReferenceData | None = None,
    *,
    region: str = "EU",
    years: Iterable[int] | None = None,
    definitions: Iterable[tuple[str, str, Iterable[str], Iterable[str]]] | None = None,
) -> pd.DataFrame:
    """Score, CF and parts for each material (and stage) and year the data cover.

    ``region`` is ``EU`` (the 27 members as one economy) or a member state's ISO3 code.
    ``definitions`` are ``(material, stage, WMD commodities, HS6 codes)``; by default the
    rows of the materials map that have both.
    """
    ref = load_reference() if ref is None else ref
    members = list(EU27) if region.upper() in {"EU", "EU27"} else [region.upper()]
    if not set(members) <= set(EU27):
        raise ValueError(f"region must be EU or an EU member state, got '{region}'")
    stability = _stability(ref)
    records = []
    for material, stage, sheets, codes in _definitions(ref, definitions):
        prod = ref.production[ref.production["commodity"].isin(set(sheets))]
        trade = ref.imports[ref.imports["hs6"].isin(set(codes))]
        trade = trade[trade["importer"].isin(members)]
        wanted = sorted(set(prod["year"]) & set(trade["year"]))
        for year in wanted if years is None else sorted(set(years) & set(wanted)):
            records.append(
                _one(material, stage, year, prod, trade, stability.get(year, {}), members)
            )
    return pd.DataFrame.from_records(records, columns=GEOPOLRISK_COLUMNS)


GEOPOLRISK_COLUMNS = [
    "material",
    "stage",
    "region",
    "year",
    "hhi",
    "import_risk",
    "score",
    "price_usd_per_kg",
    "cf",
    "imports_t",
    "production_t",
]


def _definitions(
    ref: ReferenceData, definitions: Iterable[tuple[str, str, Iterable[str], Iterable[str]]] | None
) -> list[tuple[str, str, list[str], list[str]]]:
    if definitions is not None:
        return [(m, s, list(w), list(h)) for m, s, w, h in definitions]
    rows = ref.materials[(ref.materials["wmd"] != "") & (ref.materials["hs6"] != "")]
    return [
        (material, stage, wmd.split(";"), hs6.split(";"))
        for material, stage, wmd, hs6 in zip(
            rows["material"], rows["stage"], rows["wmd"], rows["hs6"], strict=True
        )
    ]


def _stability(ref: ReferenceData) -> dict[int, dict[str, float]]:
    """Year → partner code (as in the trade table) → stability score."""
    gov = ref.governance
    table: dict[int, dict[str, float]] = {}
    for year, part in gov.groupby("year"):
        scores = {
            c: stability_score(e) for c, e in zip(part["country"], part["estimate"], strict=True)
        }
        for alias, code in COUNTRY_ALIASES.items():
            if code in scores:
                scores[alias] = scores[code]
        table[int(cast(int, year))] = scores
    return table


def _one(
    material: str,
    stage: str,
    year: int,
    prod: pd.DataFrame,
    trade: pd.DataFrame,
    stability: Mapping[str, float],
    members: list[str],
) -> dict[str, object]:
    this = prod[prod["year"] == year]
    kilograms = this["unit"].eq("kg")
    tonnes = this["quantity"].where(~kilograms, this["quantity"] / KG_PER_TONNE)
    world = this.groupby("country")["quantity"].sum()
    own = float(tonnes[this["country"].isin(members)].sum())
    flows = trade[trade["year"] == year]
    imports = flows.groupby("partner")["quantity_t"].sum(min_count=1).fillna(0.0)
    value = float(flows["value_kusd"].sum())
    total = float(imports.sum())
    hhi = production_hhi(world)
    risk = import_risk(cast(dict[str, float], imports.to_dict()), stability, own, members=members)
    score = geopolrisk_score(hhi, risk)
    price = value / total if total > 0 else 0.0  # kUSD per tonne = USD per kg
    return {
        "material": material,
        "stage": stage,
        "region": "EU27" if len(members) > 1 else members[0],
        "year": year,
        "hhi": hhi,
        "import_risk": risk,
        "score": score,
        "price_usd_per_kg": price,
        "cf": characterization_factor(score, price),
        "imports_t": total,
        "production_t": own,
    }
