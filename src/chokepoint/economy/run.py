"""Run a scenario through the physical engine and the economy: value added lost by country
and sector.

``run_economy(scenario, mrio)`` simulates the scenario (and the same scenario without events,
for the baseline), links mapped producers to MRIO industries (:mod:`.hybrid`), runs the ARIO
model over the scenario's horizon for every draw, and summarises the value added lost.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.economy.ario import ARIOModel, ARIOParameters, build_ario, run_ario
from chokepoint.economy.events import CapacityLoss
from chokepoint.economy.hybrid import Links, producer_links, shortfall_capacity_loss
from chokepoint.economy.mapping import (
    country_regions,
    load_region_mapping,
    load_sector_mapping,
    resolve_sectors,
    sector_mapping_path,
)
from chokepoint.economy.mrio import MRIO, load_mrio
from chokepoint.errors import DataError
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import EU27
from chokepoint.scenario import Scenario, load_scenario
from chokepoint.simulation.run import Results, network_for, simulate

QUANTILES = (5, 50, 95)
SHORTFALL_NOISE = 1e-9
"""Shortfalls below this share of baseline production are rounding noise, not losses."""


@dataclass(frozen=True, eq=False)
class EconomyResults:
    """Value added lost, in euros over the scenario's horizon (``loss_*`` columns).

    ``industries``: one row per MRIO industry (region, sector, countries, eu, constrained —
    directly hit by the hybrid link —, value_added over the horizon, loss mean/p5/p50/p95,
    loss_share of value added); ``regions``: the same per MRIO region; ``eu_sectors``: per
    sector summed over EU regions; ``daily``: loss per day and region (and ``EU`` total);
    ``links``: producer → industry links with the capacity loss they caused; ``unvalued``:
    mapped producers whose product has no unit value (their loss is not counted);
    ``skipped``: producers of mapped products whose country has no MRIO region.
    """

    scenario: Scenario
    industries: pd.DataFrame
    regions: pd.DataFrame
    eu_sectors: pd.DataFrame
    daily: pd.DataFrame
    links: pd.DataFrame
    unvalued: pd.DataFrame
    skipped: pd.DataFrame
    metadata: dict
    physical: Results | None = field(default=None, repr=False)

    def monthly(self, region: str = "EU") -> pd.DataFrame:
        """Value added lost per calendar month in ``region`` (mean over draws, euros)."""
        daily = self.daily[self.daily["region"] == region]
        month = daily["date"].dt.to_period("M").astype(str)
        return (
            daily.assign(month=month).groupby("month", sort=True)["loss_mean"].sum().reset_index()
        )

    def eu_total(self) -> dict[str, float]:
        """EU value added lost over the horizon: mean and quantiles over draws (euros)."""
        row = self.regions[self.regions["region"] == "EU"].iloc[0]
        return {k: float(row[k]) for k in ("loss_mean", "loss_p5", "loss_p50", "loss_p95")}

    def to_dict(self) -> dict:
        """A JSON-ready summary (tables as lists of records, NaN as null)."""

        from chokepoint.reporting.tables import to_records as records

        daily = self.daily.assign(date=self.daily["date"].astype(str))
        eu_regions = set(self.regions.loc[self.regions["eu"], "region"])
        return {
            "metadata": self.metadata,
            "eu_total": self.eu_total(),
            "regions": records(self.regions),
            "eu_sectors": records(self.eu_sectors),
            "industries": records(self.industries[self.industries["loss_mean"].abs() > 0]),
            "daily": records(daily[daily["region"].isin(eu_regions)]),
            "links": records(self.links),
            "unvalued": records(self.unvalued),
            "skipped": records(self.skipped),
        }


def run_economy(
    scenario: Scenario | str | Path,
    mrio: MRIO | str | Path = "test",
    *,
    network: SupplyNetwork | str | Path | None = None,
    draws: int | None = None,
    seed: int | None = None,
    mapping: str | Path | None = None,
    parameters: ARIOParameters | None = None,
    eur_per_unit: float | None = None,
    memory_budget: int = 1 << 30,
) -> EconomyResults:
    """Simulate ``scenario`` and carry its shortfalls through the MRIO ``mrio``.

    ``scenario`` is a :class:`Scenario`, a preset name or a YAML path; ``network`` as for
    :func:`chokepoint.simulation.run.simulate` (default: the scenario's). ``draws`` and ``seed``
    override the scenario's. ``mrio`` is an :class:`MRIO`, ``"test"`` or a path
    :func:`load_mrio` reads; ``parameters`` the ARIO parameters (BoARIO's defaults); ``mapping``
    a sector mapping file (default: the shipped one for the MRIO's system);
    ``eur_per_unit`` overrides the euros per money unit read from the table's unit;
    ``memory_budget`` (bytes) bounds how many draws run through ARIO at once.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    loaded = loaded.with_overrides(draws=draws, seed=seed)
    net = network_for(loaded, network)
    table = mrio if isinstance(mrio, MRIO) else load_mrio(mrio)
    euros = eur_per_unit if eur_per_unit is not None else table.eur_per_unit
    if euros is None or not euros > 0:
        raise DataError(
            f"unknown money unit '{table.unit}': give euros per unit (--eur-per-unit)",
            file=table.name,
        )
    mapping_file = Path(mapping) if mapping is not None else sector_mapping_path(table)
    sectors = resolve_sectors(load_sector_mapping(mapping_file), table, mapping_file)
    known = set(net.commodities["id"])
    for product, row in zip(sectors["product"], sectors["row"], strict=True):
        if product not in known:
            raise DataError(
                f"unknown product '{product}' (not a commodity of the network)",
                file=mapping_file,
                row=int(row),
                field="product",
            )
    regions = country_regions(load_region_mapping(), table)
    values = net.commodities.set_index("id")["value"]
    links = producer_links(net.producers, pd.to_numeric(values), table, sectors, regions)

    physical = simulate(loaded, net, keep="daily")
    quiet = simulate(loaded.with_overrides(events=[], draws=1), net, keep="daily")
    assert physical.trajectories is not None and quiet.trajectories is not None  # keep="daily"
    producer_ids = [str(p) for p in physical.trajectories["producer"].values]
    production = physical.trajectories["production"].transpose("day", "producer", "draw").values
    baseline = quiet.trajectories["production"].isel(draw=0).transpose("day", "producer").values
    shortfall = np.maximum(baseline[:, :, None] - production, 0.0)
    shortfall[shortfall <= SHORTFALL_NOISE * np.abs(baseline)[:, :, None]] = 0.0

    params = parameters or ARIOParameters()
    coupling = shortfall_capacity_loss(
        links.table,
        shortfall,
        producer_ids,
        table,
        eur_per_unit=euros,
        steps_per_year=params.steps_per_year,
    )
    model = build_ario(table, params)
    region_names = table.regions
    region_of = pd.Index(region_names).get_indexer(table.industries.get_level_values(0))
    steps, total = loaded.horizon_days, loaded.draws
    loss_by_industry, daily_by_region, shortage = _run_draws(
        model, coupling.loss, steps, total, region_of, len(region_names), euros, memory_budget
    )

    eu = {region for country, region in regions.items() if country in EU27}
    constrained = np.zeros(table.n_industries, dtype=bool)
    constrained[coupling.loss.rows] = coupling.loss.values.max(axis=(0, 2)) > 0
    horizon_share = steps / params.steps_per_year
    value_added = np.maximum(table.value_added, 0.0) * euros * horizon_share
    labels = _country_labels(regions)
    industries = _industry_table(table, loss_by_industry, value_added, constrained, eu, labels)
    industries["stock_limited_days_mean"] = shortage / total
    link_table = _link_table(links, coupling, loaded.draws)
    from chokepoint import __version__

    metadata = {
        **{k: physical.metadata[k] for k in ("scenario", "seed", "draws", "start", "horizon_days")},
        "scenario_hash": physical.metadata["scenario_hash"],
        "network": physical.metadata["network"],
        "data_version": physical.metadata["data_version"],
        "package_version": __version__,
        "mrio": table.name,
        "mrio_system": table.system,
        "mrio_industries": table.n_industries,
        "mrio_unit": table.unit,
        "eur_per_unit": euros,
        "mapping": str(mapping_file),
        "ario_parameters": {
            k: (dict(v) if isinstance(v, dict) else v)
            for k, v in dataclasses.asdict(params).items()
        },
        "capacity_loss_capped": coupling.capped,
        "direct_output_lost_eur_mean": float(coupling.lost_value.sum(axis=0).mean())
        if coupling.lost_value.size
        else 0.0,
    }
    return EconomyResults(
        scenario=loaded,
        industries=industries,
        regions=_region_table(industries, loss_by_industry, eu, labels),
        eu_sectors=_eu_sector_table(industries, loss_by_industry, eu),
        daily=_daily_table(daily_by_region, region_names, eu, loaded),
        links=link_table,
        unvalued=coupling.unvalued.assign(
            unit=coupling.unvalued["commodity"].map(net.commodities.set_index("id")["unit"])
        ),
        skipped=links.skipped,
        metadata=metadata,
        physical=physical,
    )


def _run_draws(
    model: ARIOModel,
    loss: CapacityLoss,
    steps: int,
    total: int,
    region_of: np.ndarray,
    n_regions: int,
    euros: float,
    memory_budget: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the ARIO model on every draw of ``loss``, in chunks that fit the memory budget:
    value added lost per industry and draw (EUR), per day, region and draw, and the steps
    each industry was stock-limited."""
    table_industries = model.n_industries
    per_draw = 8 * (4 * table_industries + steps * n_regions)
    chunk = int(max(1, min(total, memory_budget // max(per_draw, 1))))
    loss_by_industry = np.zeros((table_industries, total))
    daily_by_region = np.zeros((steps, n_regions, total))
    shortage = np.zeros(table_industries)
    for begin in range(0, total, chunk):
        end = min(begin + chunk, total)
        part = dataclasses.replace(loss, values=loss.values[:, :, begin:end])
        result = run_ario(model, steps, capacity_loss=part, keep_production=False, groups=region_of)
        assert result.grouped_value_added_loss is not None  # groups were given
        loss_by_industry[:, begin:end] = result.value_added_loss * euros
        daily_by_region[:, :, begin:end] = result.grouped_value_added_loss * euros
        shortage += result.shortage_steps.sum(axis=1)

    return loss_by_industry, daily_by_region, shortage


# ------------------------------------------------------------------------------ tables


def _stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and quantiles over the last axis (draws)."""
    quantiles = np.percentile(values, QUANTILES, axis=-1)
    stats = {"loss_mean": values.mean(axis=-1)}
    for q, column in zip(QUANTILES, quantiles, strict=True):
        stats[f"loss_p{q}"] = column
    return stats


def _country_labels(regions: dict[str, str]) -> dict[str, str]:
    """MRIO region → the countries it stands for (ISO3, or a count when many)."""
    members: dict[str, list[str]] = {}
    for country, region in regions.items():
        members.setdefault(region, []).append(country)
    return {
        region: ", ".join(sorted(c)) if len(c) <= 3 else f"{len(c)} countries"
        for region, c in members.items()
    }


def _industry_table(
    mrio: MRIO,
    loss: np.ndarray,
    value_added: np.ndarray,
    constrained: np.ndarray,
    eu: set[str],
    labels: dict[str, str],
) -> pd.DataFrame:
    table = mrio.industries.to_frame(index=False)
    table["countries"] = table["region"].map(labels).fillna("")
    table["eu"] = table["region"].isin(eu)
    table["constrained"] = constrained
    table["value_added"] = value_added
    for name, column in _stats(loss).items():
        table[name] = column
    share = np.full(len(table), np.nan)
    np.divide(table["loss_mean"], value_added, out=share, where=value_added > 0)
    table["loss_share"] = share
    return table


def _region_table(
    industries: pd.DataFrame, loss: np.ndarray, eu: set[str], labels: dict[str, str]
) -> pd.DataFrame:
    rows = []
    groups = [(r, industries["region"] == r) for r in dict.fromkeys(industries["region"])]
    groups.append(("EU", industries["eu"]))
    for region, mask in groups:
        selected = mask.to_numpy()
        stats = _stats(loss[selected].sum(axis=0))
        value_added = float(industries.loc[selected, "value_added"].sum())
        rows.append(
            {
                "region": region,
                "countries": "EU27" if region == "EU" else labels.get(region, ""),
                "eu": region == "EU" or region in eu,
                "value_added": value_added,
                **{k: float(v) for k, v in stats.items()},
                "loss_share": float(stats["loss_mean"]) / value_added if value_added > 0 else None,
            }
        )
    return pd.DataFrame(rows)


def _eu_sector_table(industries: pd.DataFrame, loss: np.ndarray, eu: set[str]) -> pd.DataFrame:
    inside = industries["eu"].to_numpy()
    rows = []
    for sector in dict.fromkeys(industries["sector"]):
        mask = inside & (industries["sector"] == sector).to_numpy()
        if not mask.any():
            continue
        stats = _stats(loss[mask].sum(axis=0))
        value_added = float(industries.loc[mask, "value_added"].sum())
        rows.append(
            {
                "sector": sector,
                "value_added": value_added,
                **{k: float(v) for k, v in stats.items()},
                "loss_share": float(stats["loss_mean"]) / value_added if value_added > 0 else None,
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values("loss_mean", ascending=False, ignore_index=True) if rows else table


def _daily_table(
    daily: np.ndarray, regions: list[str], eu: set[str], scenario: Scenario
) -> pd.DataFrame:
    steps = daily.shape[0]
    inside = np.array([r in eu for r in regions])
    series = {region: daily[:, k, :] for k, region in enumerate(regions)}
    series["EU"] = daily[:, inside, :].sum(axis=1)
    dates = pd.date_range(scenario.start, periods=steps, freq="D")
    frames = []
    for region, values in series.items():
        stats = _stats(values)
        frames.append(
            pd.DataFrame({"day": np.arange(steps), "date": dates, "region": region, **stats})
        )
    return pd.concat(frames, ignore_index=True)


def _link_table(links: Links, coupling, draws: int) -> pd.DataFrame:
    table = links.table.copy()
    lost = np.zeros((len(table), draws))
    valued = np.isfinite(table["unit_value"].to_numpy(float))
    if valued.any():
        lost[valued] = coupling.lost_value
    table["lost_output_eur_mean"] = lost.mean(axis=1)
    rows = coupling.loss.rows
    values = coupling.loss.values
    peak = dict(zip(rows, values.max(axis=(0, 2)), strict=True)) if len(rows) else {}
    mean = dict(zip(rows, values.mean(axis=(0, 2)), strict=True)) if len(rows) else {}
    table["industry_capacity_loss_peak"] = table["industry"].map(peak).fillna(0.0)
    table["industry_capacity_loss_mean"] = table["industry"].map(mean).fillna(0.0)
    return table.drop(columns=["industry"])
