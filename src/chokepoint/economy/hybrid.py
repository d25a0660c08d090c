"""The hybrid link: physical shortfalls of mapped producers become ARIO capacity losses.

For every producer of a mapped product, the physical engine's daily shortfall (baseline
production of the same scenario without events, minus production in each draw) times the
product's unit value is output lost in euros. It falls on the MRIO industry (region, sector)
of the producer's country and the product's sector, with the mapping's weight; a producer
placed in the pseudo-country ``EU27`` ("other member states") is spread over the EU regions
that have no producer of their own of that product, in proportion to the sector's output
there. Divided by the industry's daily output, the sum is the industry's capacity loss Δ
(capped at 1) on that day, the same quantity as BoARIO's arbitrary production-capacity
loss. The ARIO model then carries the loss through the economy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from chokepoint.economy.events import CapacityLoss
from chokepoint.economy.mrio import MRIO
from chokepoint.network.countries import EU27

OTHER_EU = "EU27"
"""The pseudo-country of producers in 'other EU member states'."""

LINK_COLUMNS = [
    "producer",
    "commodity",
    "country",
    "region",
    "sector",
    "industry",
    "weight",
    "unit_value",
    "mapping_row",
]


@dataclass(frozen=True, eq=False)
class Links:
    """Producer → MRIO industry links (``table``) and the producers left out, with why."""

    table: pd.DataFrame
    skipped: pd.DataFrame  # producer, commodity, country, reason


def producer_links(
    producers: pd.DataFrame,
    commodity_values: pd.Series,
    mrio: MRIO,
    mapping: pd.DataFrame,
    country_regions: dict[str, str],
) -> Links:
    """Link every producer of a mapped product to MRIO industries.

    ``producers`` has id, country and commodity; ``commodity_values`` is EUR per unit by
    commodity id; ``mapping`` is a checked sector mapping with its resolved ``sector``;
    ``country_regions`` maps ISO3 to MRIO regions. The weight of a link is the mapping's
    weight times, for ``EU27`` producers, the region's share of the sector's EU output.
    """
    eu_regions = {country_regions[c] for c in EU27 if c in country_regions}
    output = pd.Series(mrio.x, index=mrio.industries)
    links, skipped = [], []
    entry: Any  # namedtuples of the mapping's and producers' columns
    maker: Any
    for entry in mapping.itertuples(index=False):
        makers = producers[producers["commodity"] == entry.product]
        value = entry.unit_value
        if not np.isfinite(value):
            value = float(commodity_values.get(entry.product, np.nan))
        own = {country_regions[c] for c in makers["country"] if c in EU27 and c in country_regions}
        for maker in makers.itertuples(index=False):
            targets = _targets(
                maker.country, entry.sector, own, eu_regions, country_regions, output
            )
            if not targets:
                skipped.append(
                    (maker.id, entry.product, maker.country, "country has no region in the MRIO")
                )
                continue
            for region, share in targets:
                links.append(
                    (
                        maker.id,
                        entry.product,
                        maker.country,
                        region,
                        entry.sector,
                        mrio.index_of(region, entry.sector),
                        entry.weight * share,
                        value,
                        int(entry.row),
                    )
                )
    table = pd.DataFrame(links, columns=LINK_COLUMNS)
    return Links(
        table, pd.DataFrame(skipped, columns=["producer", "commodity", "country", "reason"])
    )


def _targets(
    country: str,
    sector: str,
    own: set[str],
    eu_regions: set[str],
    country_regions: dict[str, str],
    output: pd.Series,
) -> list[tuple[str, float]]:
    if country != OTHER_EU:
        region = country_regions.get(country)
        return [(region, 1.0)] if region is not None else []
    others = sorted(eu_regions - own) or sorted(eu_regions)
    sizes = np.array([output.get((region, sector), 0.0) for region in others])
    if sizes.sum() <= 0:
        return []
    return [(r, s) for r, s in zip(others, sizes / sizes.sum(), strict=True) if s > 0]


@dataclass(frozen=True, eq=False)
class Coupling:
    """The capacity loss handed to ARIO and what it was made of.

    ``loss`` holds Δ ``[day, industry, draw]``; ``lost_value`` the euros of output lost per
    link and draw over the horizon; ``capped`` how many (day, industry, draw) values were
    cut to 1; ``unvalued`` the physical units lost by links without a unit value.
    """

    loss: CapacityLoss
    lost_value: np.ndarray
    capped: int
    unvalued: pd.DataFrame


def shortfall_capacity_loss(
    links: pd.DataFrame,
    shortfall: np.ndarray,
    producer_ids: list[str],
    mrio: MRIO,
    *,
    eur_per_unit: float,
    steps_per_year: int = 365,
) -> Coupling:
    """Turn daily shortfalls ``[day, producer, draw]`` (units) into capacity losses.

    ``producer_ids`` labels the producer axis. Δ of an industry on a day is the euros of
    output lost by its links divided by its daily output (in euros), capped at 1.
    """
    position = {p: k for k, p in enumerate(producer_ids)}
    valued = links[np.isfinite(links["unit_value"].to_numpy(float))]
    unvalued = links[~links.index.isin(valued.index)]
    rows = np.unique(valued["industry"].to_numpy(int))
    days, _, draws = shortfall.shape
    daily_output = mrio.x[rows] / steps_per_year * eur_per_unit
    if len(valued):
        columns = [position[p] for p in valued["producer"]]
        euros = valued["weight"].to_numpy(float) * valued["unit_value"].to_numpy(float)
        lost = shortfall[:, columns, :] * euros[None, :, None]  # [day, link, draw]
        to_rows = sp.csr_matrix(
            (
                np.ones(len(valued)),
                (np.searchsorted(rows, valued["industry"].to_numpy(int)), np.arange(len(valued))),
            ),
            shape=(len(rows), len(valued)),
        )
        by_row = np.einsum("rl,dlk->drk", to_rows.toarray(), lost)
        share = np.zeros_like(by_row)
        np.divide(
            by_row, daily_output[None, :, None], out=share, where=daily_output[None, :, None] > 0
        )
        lost_value = lost.sum(axis=0)
    else:
        share = np.zeros((days, 0, draws))
        lost_value = np.zeros((0, draws))
    capped = int((share > 1.0).sum())
    units = shortfall[:, [position[p] for p in unvalued["producer"]], :].sum(axis=0)
    missing = unvalued[["producer", "commodity", "country", "region", "sector"]].assign(
        lost_units_mean=units.mean(axis=1) if len(unvalued) else []
    )
    return Coupling(
        CapacityLoss(rows.astype(np.int64), np.clip(share, 0.0, 1.0)),
        lost_value,
        capped,
        missing.drop_duplicates(["producer"]).reset_index(drop=True),
    )
