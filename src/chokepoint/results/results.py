"""What a simulation produced: the summary per draw, risk figures over draws, daily bands,
licensing diagnostics, optional daily trajectories and the metadata of the run.

Pure functions turn per-draw outcomes into risk figures (:func:`risk_figures`); the
:class:`Results` container writes everything atomically as Parquet and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import xarray as xr

from chokepoint.errors import ScenarioError
from chokepoint.files import atomic_folder, present, write_error
from chokepoint.scenario import Scenario

METRICS = (
    "time_to_survive_days",
    "time_to_recover_days",
    "lost_output",
    "lost_output_share",
    "lost_value",
    "lost_output_input",
    "lost_output_demand",
    "firms_stopped_peak",
)
"""Outcomes per product, region and draw (see docs/scenarios.md)."""

LOSSES = (
    "lost_output",
    "lost_output_share",
    "lost_value",
    "lost_output_input",
    "lost_output_demand",
)
"""Outcomes whose bad tail matters: reported with p99 and CVaR95 too."""


def cvar(values: np.ndarray, level: float = 0.95) -> float:
    """Conditional value at risk: the mean of the worst ``1 - level`` of the draws.

    With N draws it averages the ``ceil((1 - level) * N)`` largest values (at least one).
    """
    values = np.sort(np.asarray(values, dtype=float))[::-1]
    if len(values) == 0:
        return math.nan
    count = max(1, math.ceil((1.0 - level) * len(values) - 1e-9))
    return float(values[:count].mean())


def risk_figures(summary: pd.DataFrame) -> pd.DataFrame:
    """Per product and region: stoppage probability and mean/p5/p50/p95 of every outcome;
    p99 and CVaR95 of the losses. Time to survive and recover are summarised over the
    draws in which the line stopped (and recovered)."""
    rows = []
    for (product, region), part in summary.groupby(["product", "region"], sort=False):
        row = {
            "product": product,
            "region": region,
            "measured_as": part["measured_as"].iloc[0],
            "draws": len(part),
            "stoppage_probability": float(part["time_to_survive_days"].notna().mean()),
        }
        for metric in METRICS:
            values = part[metric].to_numpy(float)
            finite = values[~np.isnan(values)]
            row[f"{metric}_mean"] = float(finite.mean()) if len(finite) else None
            quantiles = (5, 50, 95, 99) if metric in LOSSES else (5, 50, 95)
            for q in quantiles:
                row[f"{metric}_p{q}"] = float(np.percentile(finite, q)) if len(finite) else None
            if metric in LOSSES:
                row[f"{metric}_cvar95"] = cvar(finite) if len(finite) else None
        rows.append(row)
    return pd.DataFrame(rows)


def measures_table(scenario: Scenario, costs: pd.DataFrame) -> pd.DataFrame:
    """Per measure with a cost: its type, label and mean / p5 / p95 cost over draws."""
    columns = ["event", "type", "label", "cost_mean", "cost_p5", "cost_p95"]
    if costs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, part in costs.sort_values(["event", "draw"]).groupby("event", sort=True):
        event = int(cast(int, key))
        item = scenario.events[event]
        values = part["cost"].to_numpy(float)
        rows.append(
            {
                "event": event,
                "type": item.type,
                "label": item.title,
                "cost_mean": float(values.mean()),
                "cost_p5": float(np.percentile(values, 5)),
                "cost_p95": float(np.percentile(values, 95)),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def licence_table(per_draw: pd.DataFrame) -> pd.DataFrame:
    """Per licensed flow: contracts, window and mean gated days per contract over draws."""
    columns = ["event", "link", "contracts", "window_days", "gated_days_per_contract"]
    if per_draw.empty:
        return pd.DataFrame(columns=columns)
    ordered = per_draw.sort_values(["event", "order", "draw"], kind="stable")
    return ordered.groupby(["event", "order"], as_index=False, sort=True).agg(
        link=("link", "first"),
        contracts=("contracts", "first"),
        window_days=("window_days", "first"),
        gated_days_per_contract=("gated_days", "mean"),
    )[columns]


@dataclass
class Results:
    """What a simulation produced. ``summary`` has one row per product, region and draw."""

    scenario: Scenario
    summary: pd.DataFrame
    stats: pd.DataFrame
    licences: pd.DataFrame
    metadata: dict
    trajectories: xr.Dataset | None = None
    bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    licence_draws: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per licensed flow and draw: gated days per contract and mean processing delay."""
    measures: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per measure (stockpile, new capacity, substitution): its cost over draws (EUR)."""
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Daily cross-border shipments, goods in transit and exporters' stocks of output by
    exporter country, destination and commodity (mean and p5/p50/p95 over the first
    ``metadata["flow_draws"]`` draws, beside the no-shock baseline)."""

    def to_dict(self) -> dict:
        """A JSON-ready summary: metadata, statistics and licensing diagnostics."""
        from chokepoint.reporting.tables import to_records

        return {
            "metadata": self.metadata,
            "events": self.events(),
            "products": to_records(self.stats),
            "licensing": to_records(self.licence_summary()),
            "measures": to_records(self.measures),
        }

    def events(self) -> list[dict]:
        """The scenario's events in words and days, for reports."""
        scenario = self.scenario
        listed = []
        for index, event in enumerate(scenario.events):
            start, end = scenario.window(event)
            listed.append(
                {
                    "index": index,
                    "type": event.type,
                    "kind": event.kind,
                    "label": event.title,
                    "start_day": start,
                    "end_day": end,
                    "start_date": as_date(scenario, start).isoformat(),
                    "end_date": as_date(scenario, end).isoformat(),
                }
            )
        return listed

    def licence_summary(self) -> pd.DataFrame:
        """Licensed flows by event: links, contracts and mean gated days per contract."""
        if self.licences.empty:
            return pd.DataFrame(
                columns=["event", "links", "contracts", "window_days", "gated_days_per_contract"]
            )
        return self.licences.groupby("event", as_index=False).agg(
            links=("link", "count"),
            contracts=("contracts", "first"),
            window_days=("window_days", "first"),
            gated_days_per_contract=("gated_days_per_contract", "mean"),
        )

    def write(self, out: str | Path) -> Path:
        """Write Parquet tables, ``result.json`` and (when kept) ``trajectories.nc`` (NetCDF)
        into ``out``, atomically."""
        folder = Path(out)
        if present(folder) and (not folder.is_dir() or any(folder.iterdir())):
            raise ScenarioError("output folder exists and is not empty", file=folder)
        writers = {
            "stats.parquet": lambda path: self.stats.to_parquet(path, index=False),
            "draws.parquet": lambda path: self.summary.to_parquet(path, index=False),
            "licences.parquet": lambda path: self.licences.to_parquet(path, index=False),
            "measures.parquet": lambda path: self.measures.to_parquet(path, index=False),
            "result.json": lambda path: path.write_text(
                json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            ),
        }
        if self.trajectories is not None:  # kept with keep="daily" (--keep daily)
            trajectories = self.trajectories
            writers["trajectories.nc"] = lambda path: trajectories.to_netcdf(path, engine="scipy")
        if not self.bands.empty:
            writers["bands.parquet"] = lambda path: self.bands.to_parquet(path, index=False)
        if not self.flows.empty:
            writers["flows.parquet"] = lambda path: self.flows.to_parquet(path, index=False)
        with atomic_folder(folder) as staging:
            for name, write in writers.items():
                try:
                    write(staging / name)
                except OSError as exc:
                    raise write_error(exc, folder / name) from None
        return folder


def bands_table(
    kind: str, items, regions, reference: np.ndarray, parts: list[np.ndarray], scenario: Scenario
) -> pd.DataFrame:
    """Daily mean and p5/p50/p95 over draws, beside the no-shock baseline, in long form."""
    if not parts or reference.shape[1] == 0:
        return pd.DataFrame()
    values = np.ascontiguousarray(np.concatenate(parts, axis=2))  # [day, group, draw]
    horizon, groups = reference.shape
    p5, p50, p95 = np.percentile(values, [5, 50, 95], axis=2)
    dates = pd.date_range(scenario.start, periods=horizon, freq="D")
    return pd.DataFrame(
        {
            "kind": kind,
            "item": np.repeat(np.asarray(items, dtype=object), horizon),
            "region": np.repeat(np.asarray(regions, dtype=object), horizon),
            "day": np.tile(np.arange(horizon), groups),
            "date": np.tile(dates, groups),
            "baseline": reference.T.ravel(),
            "mean": values.mean(axis=2, dtype=np.float64).T.ravel(),
            "p5": p5.T.ravel(),
            "p50": p50.T.ravel(),
            "p95": p95.T.ravel(),
        }
    )


def flows_table(
    kind: str,
    labels: pd.DataFrame,
    reference: np.ndarray,
    parts: list[np.ndarray],
    scenario: Scenario,
) -> pd.DataFrame:
    """Daily flows per exporter country, destination and commodity (``labels``), in long
    form: baseline, mean and p5/p50/p95 over draws (``parts`` of ``[day, group, draw]``).
    ``kind`` says what is counted: ``shipped`` (departures, what customs count) or
    ``in_transit`` (goods under way at the end of the day)."""
    if not parts or reference.shape[1] == 0:
        return pd.DataFrame()
    long = bands_table(kind, labels["commodity"], labels["destination"], reference, parts, scenario)
    long.insert(1, "exporter", np.repeat(labels["exporter"].to_numpy(object), reference.shape[0]))
    return long.rename(columns={"item": "commodity", "region": "destination"})


def as_date(scenario: Scenario, day: int) -> dt.date:
    return scenario.start + dt.timedelta(days=int(day))
