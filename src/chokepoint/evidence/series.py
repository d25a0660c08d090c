"""Model series that observations are compared with: the one adapter from trajectories.

An observed series is named ``<measure>:<from>><to>:<product>`` (validation/README.md),
e.g. ``exports:CHN>WORLD:gallium_wrought_unwrought``. A :class:`SeriesSpec` says which
model quantity stands for it: the measure, the exporter, the destination (a country, a
region such as EU27, or WORLD for every destination) and the model commodities.

:func:`model_series` turns daily trajectories (``simulate(..., keep="daily")`` or one chunk
of them) into the spec's daily quantity per draw; :func:`monthly` sums it over calendar
months. Everything else in :mod:`chokepoint.evidence` reads model series only through these
two functions, so pointing them at a new engine output changes one place. A month of a
share (``stopped``) is its mean over the month's days; of a quantity, the sum.

Where the trajectories carry an ``exports`` variable (day, flow, draw; flows labelled
``exporter>destination:commodity``, buyers outside the network under ``ROW``) it is used.
Engines without it fall back to ``delivered``: deliveries to the final-demand rows of the
commodities whose every network supplier is in the exporter country. That equals the
exports only when those buyers hold no stock of their own (as in the test networks); the
fallback refuses any other case rather than return a number that is not the exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import xarray as xr

from chokepoint.errors import ChokepointError
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import region_codes

MEASURES = ("exports", "output", "stopped")
"""``exports``: cross-border shipments; ``output``: a product's output in a region (the
``output`` trajectory of ``PRODUCT@REGION``; ``commodities`` then holds the product);
``stopped``: the share of a product's firms (plants) in a region that are stopped (the
``firms_stopped`` trajectory of ``PRODUCT@REGION``, 0 to 1) — what counts of "plants
stopped" measure, divided by the number of plants."""
SHARES = ("stopped",)
"""Measures that are shares of a whole: a month is their mean over its days, not the sum."""


@dataclass(frozen=True)
class SeriesSpec:
    """The model quantity an observed series is compared with."""

    measure: str
    exporter: str
    destination: str
    commodities: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ChokepointError(
                f"unknown measure '{self.measure}' (expected {' or '.join(MEASURES)})"
            )
        if not self.commodities:
            raise ChokepointError("a series needs at least one model commodity")

    @property
    def month(self) -> str:
        """How a month of the daily series is formed: ``sum`` (quantities) or ``mean``
        (shares)."""
        return "mean" if self.measure in SHARES else "sum"


def parse_series(label: str) -> tuple[str, str, str, str]:
    """``measure:FROM>TO:product`` as (measure, from, to, product)."""
    parts = label.split(":")
    if len(parts) != 3 or ">" not in parts[1]:
        raise ChokepointError(f"series '{label}': expected measure:FROM>TO:product")
    origin, _, destination = parts[1].partition(">")
    return parts[0], origin, destination, parts[2]


def _matches(destination: str, wanted: str, exporter: str) -> bool:
    if destination == exporter:
        return False
    if wanted == "WORLD" or destination == wanted:
        return True
    return destination in region_codes(wanted) if wanted in {"EU", "EU27"} else False


def _exports(trajectories: xr.Dataset, spec: SeriesSpec) -> xr.DataArray:
    labels = [str(f) for f in trajectories["flow"].to_numpy()]
    chosen = []
    for label in labels:
        route, _, commodity = label.partition(":")
        origin, _, destination = route.partition(">")
        if (
            origin == spec.exporter
            and commodity in spec.commodities
            and _matches(destination, spec.destination, spec.exporter)
        ):
            chosen.append(label)
    exports = trajectories["exports"]
    if not chosen:
        return xr.zeros_like(exports.isel(flow=0, drop=True))
    return exports.sel(flow=chosen).sum("flow")


def _fallback(trajectories: xr.Dataset, spec: SeriesSpec, net: SupplyNetwork) -> xr.DataArray:
    demand = net.demand[net.demand["commodity"].isin(spec.commodities)]
    country = dict(zip(net.producers["id"], net.producers["country"], strict=True))
    makers = net.producers[
        net.producers["commodity"].isin(spec.commodities)
        & (net.producers["country"] == spec.exporter)
    ]["id"]
    abroad = net.links[
        net.links["supplier"].isin(makers)
        & net.links["customer"].map(lambda c: country.get(c, spec.exporter) != spec.exporter)
    ]
    if len(abroad):
        raise ChokepointError(
            f"the engine reports no exports and {spec.exporter} ships to producers abroad "
            f"('{abroad['customer'].iloc[0]}'), whose receipts are not in the trajectories"
        )
    chosen = []
    for row in demand.itertuples(index=False):
        if not _matches(str(row.region), spec.destination, spec.exporter):
            continue
        suppliers = net.links.loc[net.links["customer"] == row.id, "supplier"]
        origins = {country.get(s) for s in suppliers}
        if origins == {spec.exporter}:
            chosen.append(str(row.id))
        elif spec.exporter in origins:
            raise ChokepointError(
                f"the engine reports no exports and buyer '{row.id}' has suppliers outside "
                f"{spec.exporter}: its deliveries are not {spec.exporter}'s exports"
            )
    if "stock" in trajectories:
        held = [f"{d}:{c}" for d in chosen for c in spec.commodities]
        slots = [s for s in held if s in set(trajectories["slot"].to_numpy().astype(str))]
        if slots and float(np.abs(trajectories["stock"].sel(slot=slots)).max()) > 0:
            raise ChokepointError(
                "the engine reports no exports and the buyers hold stock: their deliveries "
                "are not the shipments"
            )
    delivered = trajectories["delivered"]
    if not chosen:
        return xr.zeros_like(delivered.isel(demand=0, drop=True))
    return delivered.sel(demand=chosen).sum("demand")


def model_series(
    trajectories: xr.Dataset, spec: SeriesSpec, network: SupplyNetwork | None = None
) -> xr.DataArray:
    """The spec's daily quantity per draw, dims (draw, day), from daily trajectories.

    ``network`` is needed only by the fallback for engines without an ``exports`` output.
    """
    if spec.measure in ("output", "stopped"):
        labels = [f"{c}@{spec.destination}" for c in spec.commodities]
        missing = sorted(set(labels) - set(trajectories["product_region"].to_numpy().astype(str)))
        if missing:
            raise ChokepointError(f"the model has no product and region '{missing[0]}'")
        if spec.measure == "stopped":
            if len(labels) != 1:
                raise ChokepointError("a stopped series names one product")
            share = trajectories["firms_stopped"].sel(product_region=labels[0], drop=True)
            if not np.isfinite(share.to_numpy()).all():
                raise ChokepointError(
                    f"'{labels[0]}' is measured as deliveries (the region makes too little of "
                    "it): it has no firms whose stopping could be counted"
                )
            return share.transpose("draw", "day")
        return trajectories["output"].sel(product_region=labels).sum("product_region")
    if "exports" in trajectories:
        return _exports(trajectories, spec).transpose("draw", "day")
    if network is None:
        raise ChokepointError("the engine reports no exports; the fallback needs the network")
    return _fallback(trajectories, spec, network).transpose("draw", "day")


def monthly(daily: xr.DataArray, how: str = "sum") -> pd.DataFrame:
    """Sums (``how="mean"``: means) over the calendar months that the days cover in full:
    rows are draws, columns months (``pandas.Period``, monthly). A spec's
    :attr:`SeriesSpec.month` says which."""
    days = pd.DatetimeIndex(daily["day"].to_numpy())
    months = days.to_period("M")
    values = np.asarray(daily.transpose("draw", "day").to_numpy(), dtype=float)
    frame = pd.DataFrame(values, index=daily["draw"].to_numpy(), columns=days)
    grouped = frame.T.groupby(months)
    if how not in ("sum", "mean"):
        raise ValueError(f"how: expected sum or mean, got {how!r}")
    sums = (grouped.sum() if how == "sum" else grouped.mean()).T
    counts = cast(dict, pd.Series(1, index=days).groupby(months).sum().to_dict())
    full = [m for m in cast(list[pd.Period], list(sums.columns)) if counts[m] == m.days_in_month]
    result = sums[full]
    result.columns = pd.PeriodIndex(full, freq="M")
    result.index.name = "draw"
    return result
