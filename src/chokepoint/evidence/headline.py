"""Headline metrics and the cheap run behind them.

A headline is written ``KIND[:PRODUCT][@REGION]``: ``lost_value`` (mean lost value of the
region's output, summed over its products without counting product families twice),
``lost_value:car_bev@EU27``, ``lost_output_share:car_bev@EU27`` (mean over draws),
``pstop:car_bev@EU27`` (share of draws in which the product stops), ``lost_output``,
``time_to_survive:car_bev@EU27`` (mean days to stoppage, the horizon when it does not stop).
The region defaults to EU27.

:func:`run_summary` runs a scenario on a network for a few draws and returns the per-draw
summary only (no risk tables, no daily bands): the audit and the calibration call it
hundreds of times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from chokepoint.errors import OptionError
from chokepoint.network.container import SupplyNetwork
from chokepoint.results.groups import family_aggregates
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import BALANCE_TOLERANCE, prepare, run_chunk

KINDS = ("lost_value", "lost_output", "lost_output_share", "pstop", "time_to_survive")
"""Headline kinds; the last three need a product."""

NEEDS_PRODUCT = frozenset({"lost_output_share", "pstop", "time_to_survive"})


@dataclass(frozen=True)
class Headline:
    """A headline metric: its kind, the product (None: all products) and the region."""

    kind: str
    product: str | None = None
    region: str = "EU27"

    @property
    def label(self) -> str:
        product = f":{self.product}" if self.product else ""
        return f"{self.kind}{product}@{self.region}"


def parse_headline(text: str) -> Headline:
    """``KIND[:PRODUCT][@REGION]`` as a :class:`Headline` (region EU27 by default)."""
    body, _, region = text.strip().partition("@")
    kind, _, product = body.partition(":")
    region = (region or "EU27").upper()
    region = "EU27" if region == "EU" else region
    if kind not in KINDS:
        raise OptionError("metric", f"unknown kind '{kind}' (expected one of {', '.join(KINDS)})")
    if kind in NEEDS_PRODUCT and not product:
        raise OptionError("metric", f"{kind} needs a product, e.g. {kind}:car_bev@EU27")
    return Headline(kind, product or None, region)


def headline_value(
    summary: pd.DataFrame, headline: Headline, families: set[str], horizon: int
) -> float:
    """The headline from a per-draw summary (one row per product, region and draw)."""
    rows = summary[summary["region"] == headline.region]
    if headline.product is not None:
        rows = rows[rows["product"] == headline.product]
        if rows.empty:
            raise OptionError("metric", f"no results for '{headline.product}' in {headline.region}")
    else:
        rows = rows[~rows["product"].isin(families)]
    if headline.kind == "pstop":
        return float(rows["time_to_survive_days"].notna().mean())
    if headline.kind == "time_to_survive":
        return float(rows["time_to_survive_days"].fillna(float(horizon)).mean())
    column = headline.kind
    per_draw = rows.groupby("draw")[column].sum(min_count=1).fillna(0.0)
    return float(per_draw.mean()) if len(per_draw) else 0.0


def run_summary(
    scenario: Scenario, net: SupplyNetwork, draws: int, threads: int = 2
) -> pd.DataFrame:
    """Per-draw summary of ``draws`` draws (common random numbers: the scenario's seed)."""
    prepared = prepare(scenario, net)
    chunk = run_chunk(prepared, np.arange(draws), threads=threads)
    worst = max(prepared.baseline_balance, chunk.balance)
    if worst > BALANCE_TOLERANCE:
        raise RuntimeError(f"mass balance violated: residual {worst:.3g}")
    return chunk.summary


def evaluate(
    scenario: Scenario, net: SupplyNetwork, headline: Headline, draws: int, threads: int = 2
) -> float:
    """The headline of a run of ``draws`` draws."""
    summary = run_summary(scenario, net, draws, threads)
    return headline_value(summary, headline, set(family_aggregates(net)), scenario.horizon_days)
