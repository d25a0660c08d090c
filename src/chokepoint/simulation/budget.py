"""The work a run asks for, estimated before it starts, and the limits it must stay within.

A run costs about one update per link, day and draw (the engine's unit of work; about
1e8 updates a second on two cores, bench/README.md "Shortage engine" and "Scale"), and
holds in memory the engine's working arrays for one chunk of draws (with the holders'
rings of goods in transit and the trade flows of the first draws) plus what it keeps for
every draw (the summary rows, the daily bands of the first draws, and with ``keep="daily"``
every row's daily trajectory). :func:`estimate` turns the sizes of a scenario and its
network into those two figures (an upper estimate, not a measurement); :func:`check`
refuses a run over :data:`MAX_UPDATES` or over the memory of the machine unless it is
explicitly allowed (``allow_large``, ``chokepoint run --allow-large``).

Pure functions of sizes; the only I/O is reading the machine's memory size.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chokepoint.compile.transit import SEA_DAYS
from chokepoint.errors import ScenarioError

MAX_UPDATES = 1e11
"""Most link·day·draw updates a run may ask for without ``allow_large``: some 15–20
minutes of engine time on the project's 2-core machine."""

MAX_DRAWS = 100_000
"""Most draws a run may ask for without ``allow_large``: beyond it the Monte Carlo error of
every reported figure is far below the uncertainty of its inputs."""

MEMORY_SHARE = 0.8
"""Share of the machine's physical memory a run may plan to use without ``allow_large``."""

BASE_BYTES = 400 * 2**20
"""Memory of the interpreter, its libraries and the compiled network, before any draw."""

_FLOAT = 8
_BYTES_PER_LINK = 2048
"""The network's tables, the compiled model and the kernel's index lists, per link (measured:
``bench/scale.py`` held 4.5 GiB at 410,000 links × 100 draws, 0.8 GiB above the estimate
before it counted the kernel's per-producer and per-slot state, so an upper figure)."""
_SUMMARY_BYTES_PER_ROW = 160  # one row per product group and draw, ~12 columns, and a copy


@dataclass(frozen=True)
class Sizes:
    """The sizes of a run's rows and groups: of the compiled run where it is known, else upper
    estimates from the network's tables (:func:`workload_of`)."""

    links: int
    producers: int
    demands: int
    slots: int
    product_groups: int
    stock_groups: int
    transit_slots: int = 0
    """Holders a link with a transit time delivers to (each has a ring of arrival days)."""
    ring_days: int = 0
    """Length of the transit rings: the longest transit + 1 day."""
    trade_groups: int = 0
    """Exporter country × destination × commodity groups whose daily flows are recorded."""


@dataclass(frozen=True, kw_only=True)
class Workload(Sizes):
    """The sizes a run's cost depends on: its rows and groups, and what it asks for."""

    draws: int
    horizon_days: int
    gated_links: int
    """Links an export measure may gate (their rows are kept per day and draw)."""
    keep_daily: bool = False
    chunk_size: int = 500
    band_draws: int = 1000
    flow_draws: int = 200
    """Draws whose trade flows are recorded (the first ones)."""


@dataclass(frozen=True)
class Estimate:
    """What a run will cost: engine updates and peak memory (bytes, an upper estimate)."""

    updates: float
    memory_bytes: float
    draws: int = 0

    def describe(self) -> str:
        return f"{self.updates:.3g} link·day·draw updates, about {gib(self.memory_bytes)}"


def gib(size: float) -> str:
    """A size in bytes as GiB (or MiB below 1 GiB), for messages."""
    if size < 2**30:
        return f"{size / 2**20:,.0f} MiB"
    return f"{size / 2**30:,.1f} GiB"


def estimate(work: Workload) -> Estimate:
    """Updates and peak memory of a run of ``work`` (see the module docstring)."""
    days, draws = work.horizon_days, work.draws
    chunk = min(work.chunk_size, draws)
    rows_per_day = work.product_groups + work.stock_groups + 1 + work.gated_links
    # per chunk: the [link, draw] working arrays, the daily recording, the holders' transit
    # rings (with keep_daily, the links' rings too), and the trade flows of the flow draws
    # (float32 shipments and goods in transit, and their rings)
    rings = work.transit_slots + (work.links if work.keep_daily else 0)
    state = 3 * work.links + 14 * work.producers + 10 * work.slots  # the kernel's [row, draw]
    chunk_bytes = _FLOAT * chunk * (state + days * rows_per_day + rings * work.ring_days)
    flow = chunk if work.keep_daily else min(draws, work.flow_draws, chunk)
    chunk_bytes += work.trade_groups * flow * (2 * 4 * days + _FLOAT * work.ring_days)
    kept = draws * work.product_groups * _SUMMARY_BYTES_PER_ROW
    banded = min(draws, work.band_draws)
    kept += 2 * 4 * days * banded * (work.product_groups + work.stock_groups)  # float32, copy
    kept += 2 * 4 * days * min(draws, work.flow_draws) * 2 * work.trade_groups
    if work.keep_daily:
        # production, exporter stock, deliveries, unmet, stocks, gates, shipments, goods in
        # transit (and its copy) per row; output, shortfall and firms stopped per group
        rows = 2 * work.producers + 2 * work.demands + work.slots + work.gated_links
        rows += 3 * work.links + 3 * work.product_groups + 2 * work.trade_groups
        kept += 2 * _FLOAT * days * draws * rows  # chunks and concat
    updates = float(work.links) * days * draws
    memory = float(BASE_BYTES + _BYTES_PER_LINK * work.links + chunk_bytes + kept)
    return Estimate(updates=updates, memory_bytes=memory, draws=draws)


def physical_memory() -> float | None:
    """Bytes of physical memory of this machine, None when the system does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check(
    cost: Estimate,
    *,
    allow_large: bool = False,
    memory: float | None = None,
    file: str | None = None,
) -> None:
    """Refuse a run over the work limit or over ``MEMORY_SHARE`` of ``memory`` (default:
    this machine's) unless ``allow_large``; the error states the estimate."""
    if allow_large:
        return
    hint = "; lower draws or horizon_days, or pass --allow-large (allow_large=True)"
    if cost.draws > MAX_DRAWS:
        raise ScenarioError(
            f"{cost.draws:,} draws is more than the limit of {MAX_DRAWS:,} ({cost.describe()})"
            f"{hint}",
            file=file,
            field="draws",
        )
    if cost.updates > MAX_UPDATES:
        raise ScenarioError(
            f"the run asks for {cost.describe()}: more than the limit of {MAX_UPDATES:.0e} "
            f"updates{hint}",
            file=file,
            field="draws",
        )
    memory = physical_memory() if memory is None else memory
    if memory is not None and cost.memory_bytes > MEMORY_SHARE * memory:
        raise ScenarioError(
            f"the run needs {cost.describe()}, more than {MEMORY_SHARE:.0%} of this machine's "
            f"{gib(memory)} of memory{hint}",
            file=file,
            field="draws",
        )


def workload_of(
    scenario,
    net,
    *,
    keep_daily: bool,
    chunk_size: int,
    band_draws: int,
    compiled: Sizes | None = None,
) -> Workload:
    """The workload of ``scenario`` on the network ``net``: the exact sizes of the compiled
    run when ``compiled`` gives them (holders declared as firms are split at compile time,
    so only the compiled sizes count them), else upper estimates from the network's tables."""
    from chokepoint.network.countries import expand_region

    links, producers = net.links, net.producers
    exporters = {
        iso
        for event in scenario.events
        for code in (getattr(event, "exporter", None) or [])
        for iso in expand_region(code.upper())
    }
    country = producers.set_index("id")["country"]
    # licensing gives each gated link its own daily pattern; a ban or quota, one per event
    licensing = any(getattr(event, "contracts", None) is not None for event in scenario.events)
    gated = int(country.reindex(links["supplier"]).isin(exporters).sum()) if exporters else 0
    gated = gated if licensing else min(gated, len(scenario.events))
    sizes = compiled if compiled is not None else _table_sizes(scenario, net)
    return Workload(
        draws=scenario.draws,
        horizon_days=scenario.horizon_days,
        gated_links=gated,
        keep_daily=keep_daily,
        chunk_size=chunk_size,
        band_draws=band_draws,
        **dataclasses.asdict(sizes),
    )


def _table_sizes(scenario, net) -> Sizes:
    """Upper estimates of the compiled sizes from the network's tables: products by region
    (with EU27 and family rows), holders of cross-border (or timed) inputs, and exporter
    country × destination × commodity; new plants and switched suppliers add a few rows."""
    links, producers, demand = net.links, net.producers, net.demand
    extra = len(scenario.events)
    country = producers.set_index("id")["country"]
    where = pd.concat([country, demand.set_index("id")["region"]])
    made = producers.set_index("id")["commodity"]
    route = pd.DataFrame(
        {
            "exporter": country.reindex(links["supplier"]).to_numpy(),
            "to": where.reindex(links["customer"]).to_numpy(),
            "customer": links["customer"].to_numpy(),
            "commodity": made.reindex(links["supplier"]).to_numpy(),
        }
    )
    timed = links["transit_days"].fillna(0).to_numpy() > 0 if "transit_days" in links else False
    abroad = route[(route["exporter"] != route["to"]).to_numpy() | timed]
    given = float(links["transit_days"].max()) if "transit_days" in links else 0.0
    longest = max(SEA_DAYS, scenario.settings.sea_days or 0.0, given)
    return Sizes(
        links=len(links) + extra,
        producers=len(producers) + extra,
        demands=len(demand),
        slots=len(links) + len(demand) + extra,
        product_groups=3 * len(demand[["commodity", "region"]].drop_duplicates()) + extra,
        stock_groups=2 * len(net.commodities),
        transit_slots=len(abroad[["customer", "commodity"]].drop_duplicates()) + extra,
        ring_days=int(np.nan_to_num(longest, nan=SEA_DAYS)) + 1,
        trade_groups=len(abroad[["exporter", "to", "commodity"]].drop_duplicates()) + extra,
    )


def check_run(
    scenario,
    net,
    *,
    keep_daily: bool = False,
    chunk_size: int = 500,
    band_draws: int = 1000,
    allow_large: bool = False,
    compiled: Sizes | None = None,
) -> Estimate:
    """Estimate a run of ``scenario`` on ``net`` (with the compiled sizes when given) and
    :func:`check` it; return the estimate."""
    work = workload_of(
        scenario,
        net,
        keep_daily=keep_daily,
        chunk_size=chunk_size,
        band_draws=band_draws,
        compiled=compiled,
    )
    cost = estimate(work)
    check(cost, allow_large=allow_large, file=scenario.path)
    return cost
