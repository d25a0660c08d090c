"""Run a scenario: check it against the network, compile, run the engine chunk by chunk,
and summarise per final product and region.

``simulate(scenario)`` is the public entry point; :class:`Results` holds the summary per
draw, the statistics over draws, optional daily trajectories (an ``xarray.Dataset``), the
licensing diagnostics and the metadata (scenario, seed, data version, package version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from chokepoint.compile import Exogenous, Rows, compile_exogenous
from chokepoint.engine import Structure, Trajectories, run
from chokepoint.errors import ScenarioError
from chokepoint.importers.countries import EU27, PSEUDO_COUNTRIES, REGIONS, iso3_codes
from chokepoint.metrics import region_codes
from chokepoint.model import Model, build_model
from chokepoint.network import SupplyNetwork, load_default
from chokepoint.scenario import Scenario
from chokepoint.structure import link_flows

BALANCE_TOLERANCE = 1e-6
"""Largest mass-balance residual allowed, relative to the largest daily flow."""

METRICS = (
    "time_to_survive_days",
    "time_to_recover_days",
    "lost_output",
    "lost_output_share",
    "lost_value",
)


# ------------------------------------------------------------------------------ checks


def check_scenario(scenario: Scenario, net: SupplyNetwork) -> None:
    """Check that every id and code an event names exists in the network."""
    known = {
        "commodity": set(net.commodities["id"]),
        "producer": set(net.producers["id"]),
        "node": set(net.producers["id"]) | set(net.demand["id"]),
    }
    for position, event in enumerate(scenario.events):
        for kind, values in event.references().items():
            for value in values:
                problem = _reference_problem(kind, value, known)
                if problem:
                    raise ScenarioError(
                        problem,
                        file=scenario.path,
                        field=f"events[{position}]{_field_of(event, value)}",
                    )
        start = scenario.day(event.start)
        end = scenario.day(event.end, default=scenario.horizon_days)
        if end <= start:
            raise ScenarioError(
                f"the event ends (day {end}) before it starts (day {start})",
                file=scenario.path,
                field=f"events[{position}].end",
            )


def _reference_problem(kind: str, value: str, known: dict[str, set[str]]) -> str:
    if kind == "country":
        code = value.upper()
        if code in REGIONS or code in PSEUDO_COUNTRIES or code in iso3_codes() or code == "EU":
            return ""
        return f"unknown country or region '{value}'"
    if value not in known[kind]:
        label = {"node": "producer or demand"}.get(kind, kind)
        return f"unknown {label} '{value}'"
    return ""


def _field_of(event, value: str) -> str:
    for name, content in event.model_dump().items():
        if content == value or (isinstance(content, list) and value in content):
            return f".{name}"
    return ""


def network_for(scenario: Scenario, network: SupplyNetwork | str | Path | None) -> SupplyNetwork:
    """The network a scenario runs on: the one given, else the scenario's reference."""
    path = network_path(scenario, network)
    if isinstance(network, SupplyNetwork):
        return network
    return load_default() if path is None else SupplyNetwork.from_folder(path)


def network_path(scenario: Scenario, network: SupplyNetwork | str | Path | None) -> Path | None:
    """Folder of the network a run uses, resolved (None: the shipped default or an object).

    A relative ``network:`` in a scenario file is read relative to that file.
    """
    if isinstance(network, SupplyNetwork):
        return None
    reference = str(network) if network is not None else scenario.network
    if reference == "default":
        return None
    path = Path(reference)
    if not path.is_absolute() and scenario.path and network is None:
        path = Path(scenario.path).parent / path
    return path.resolve()


# ----------------------------------------------------------------------------- results


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

    def to_dict(self) -> dict:
        """A JSON-ready summary: metadata, statistics and licensing diagnostics."""
        from chokepoint.report import to_records

        return {
            "metadata": self.metadata,
            "events": self.events(),
            "products": to_records(self.stats),
            "licensing": to_records(self.licence_summary()),
        }

    def events(self) -> list[dict]:
        """The scenario's events in words and days, for reports."""
        scenario = self.scenario
        listed = []
        for index, event in enumerate(scenario.events):
            start = scenario.day(event.start)
            end = scenario.day(event.end, default=scenario.horizon_days)
            listed.append(
                {
                    "index": index,
                    "type": event.type,
                    "kind": event.kind,
                    "label": event.label or event.type.replace("_", " "),
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
        """Write Parquet tables and ``result.json`` into ``out``, atomically."""
        folder = Path(out)
        if folder.exists() and any(folder.iterdir()):
            raise ScenarioError("output folder exists and is not empty", file=folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            self.stats.to_parquet(staging / "stats.parquet", index=False)
            self.summary.to_parquet(staging / "draws.parquet", index=False)
            self.licences.to_parquet(staging / "licences.parquet", index=False)
            if not self.bands.empty:
                self.bands.to_parquet(staging / "bands.parquet", index=False)
            (staging / "result.json").write_text(
                json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            if folder.exists():
                folder.rmdir()
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class _Groups:
    """Final products × regions, and the producers or demands whose output they sum."""

    table: pd.DataFrame  # product, region, source (production|delivery), value
    producer_matrix: np.ndarray  # [group, producer]
    demand_matrix: np.ndarray  # [group, demand]


def _groups(model: Model, net: SupplyNetwork, regions: list[str] | None) -> _Groups:
    """Final products (commodities with final demand) by region.

    A region's row measures the output of its own producers of the product when they meet
    at least half of the region's final demand for it (EU car plants), and otherwise the
    deliveries to the region's final demand (magnets the EU buys abroad). Member states get
    a production row where they make the product.
    """
    products = list(dict.fromkeys(net.demand["commodity"]))
    baseline = link_flows(net)
    rows, producer_rows, demand_rows = [], [], []
    for product in products:
        makers = np.flatnonzero(
            (model.producer_commodity == product) & ~model.virtual & (model.output > 0)
        )
        countries = sorted({c for c in model.producer_country[makers] if c in EU27})
        wanted = regions or ["EU27", *countries]
        for region in wanted:
            codes = region_codes(region)
            buyers = (model.demand_commodity == product) & np.isin(
                model.demand_region.astype(str), list(codes)
            )
            own = makers[np.isin(model.producer_country[makers].astype(str), list(codes))]
            into = baseline[baseline["customer"].isin(model.demand_ids[buyers])]
            needed = into["flow"].sum()
            domestic = into[into["supplier"].isin(model.producer_ids[own])]["flow"].sum()
            producer_row = np.zeros(model.n_producers)
            demand_row = np.zeros(len(model.demand_ids))
            if len(own) and (not buyers.any() or domestic >= 0.5 * needed):
                producer_row[own] = 1.0
                source = "production"
            elif buyers.any():
                demand_row[buyers] = 1.0
                source = "delivery"
            else:
                continue
            rows.append(
                {
                    "product": product,
                    "region": region,
                    "measured_as": source,
                    "value": model.commodity_value.get(product, math.nan),
                }
            )
            producer_rows.append(producer_row)
            demand_rows.append(demand_row)
    return _Groups(
        pd.DataFrame(rows, columns=["product", "region", "measured_as", "value"]),
        np.array(producer_rows).reshape(len(rows), model.n_producers),
        np.array(demand_rows).reshape(len(rows), len(model.demand_ids)),
    )


def _outcomes(
    output: np.ndarray, reference: np.ndarray, first_shock: int, threshold: float
) -> dict[str, np.ndarray]:
    """Per group and draw: time to survive and recover, lost output and its share."""
    ref = reference[:, :, None]
    below = (output < threshold * ref - 1e-9) & (ref > 0)
    below[:first_shock] = False
    horizon = output.shape[0]
    stopped = below.any(axis=0)
    first = np.argmax(below, axis=0)
    last = horizon - 1 - np.argmax(below[::-1], axis=0)
    survive = np.where(stopped, first - first_shock, np.nan)
    recovered = stopped & (last < horizon - 1)
    recover = np.where(recovered, last + 1 - first_shock, np.nan)
    lost = np.maximum(ref - output, 0.0).sum(axis=0)
    total = ref.sum(axis=0)
    share = np.where(total > 0, lost / np.maximum(total, 1e-300), np.nan)
    return {
        "time_to_survive_days": survive,
        "time_to_recover_days": recover,
        "lost_output": lost,
        "lost_output_share": share,
    }


def _stats(summary: pd.DataFrame) -> pd.DataFrame:
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
            for q in (5, 50, 95):
                row[f"{metric}_p{q}"] = float(np.percentile(finite, q)) if len(finite) else None
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- simulate


def _empty_exogenous(model: Model, horizon: int) -> Exogenous:
    virtual = np.flatnonzero(model.virtual)
    capacity = Rows(virtual, np.zeros((horizon, len(virtual), 1)))
    empty = Rows.empty(horizon, 1)
    return Exogenous(
        horizon=horizon,
        draws=np.zeros(1, int),
        capacity=capacity,
        gate=empty,
        quota=empty,
        demand=empty,
        coef=empty,
        scrap=empty,
        reserve=empty,
        reserve_immediate=np.zeros(0, bool),
        link_ready=np.full((model.n_links, 1), np.inf),
    )


def simulate(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    chunk_size: int = 500,
    keep: Literal["summary", "daily"] = "summary",
    regions: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    band_draws: int = 1000,
) -> Results:
    """Run a scenario and summarise it per final product and region.

    ``draws`` and ``seed`` override the scenario's. Draws run in chunks of ``chunk_size``;
    the numbers of a draw do not depend on the chunking. ``keep="daily"`` keeps the daily
    trajectories as an ``xarray.Dataset``. ``progress(done, total)`` is called per chunk.
    Daily bands (p5/p50/p95 of output and EU stocks) use the first ``band_draws`` draws.
    """
    scenario = scenario.with_overrides(draws=draws, seed=seed)
    net = network_for(scenario, network)
    check_scenario(scenario, net)
    try:
        model = build_model(net, scenario)
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None
    settings = scenario.settings
    horizon = scenario.horizon_days
    groups = _groups(model, net, regions)

    stock_labels, stock_groups = _stock_groups(model)
    structure = Structure.of(model)
    product_groups = (groups.producer_matrix, groups.demand_matrix)
    baseline = run(
        model,
        _empty_exogenous(model, horizon),
        restoration_days=settings.restoration_days,
        stock_groups=stock_groups,
        product_groups=product_groups,
        structure=structure,
    )
    reference = baseline.group_output[:, :, 0]
    band_output: list[np.ndarray] = []
    band_stock: list[np.ndarray] = []
    shocks = [scenario.day(e.start) for e in scenario.events if e.kind == "shock"]
    first_shock = max(min(shocks), 0) if shocks else 0

    frames, licences, datasets = [], [], []
    worst_balance = float(baseline.balance.max(initial=0.0))
    total = scenario.draws
    for begin in range(0, total, chunk_size):
        chunk = np.arange(begin, min(begin + chunk_size, total))
        try:
            exo = compile_exogenous(net, model, scenario, chunk)
        except ScenarioError as exc:
            raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None
        traj = run(
            model,
            exo,
            restoration_days=settings.restoration_days,
            keep=keep == "daily",
            stock_groups=stock_groups,
            product_groups=product_groups,
            structure=structure,
        )
        worst_balance = max(worst_balance, float(traj.balance.max(initial=0.0)))
        output = traj.group_output
        result = _outcomes(output, reference, first_shock, settings.survive_threshold)
        for g, group in enumerate(groups.table.itertuples(index=False)):
            frame = pd.DataFrame(
                {
                    "_group": g,
                    "product": group.product,
                    "region": group.region,
                    "measured_as": group.measured_as,
                    "draw": chunk,
                    **{name: values[g] for name, values in result.items()},
                }
            )
            frame["lost_value"] = frame["lost_output"] * group.value
            frames.append(frame)
        if not exo.licences.empty:
            licences.append(exo.licences.assign(draws=len(chunk)))
        in_band = chunk < band_draws
        if in_band.any():
            band_output.append(output[:, :, in_band].astype(np.float32))
            band_stock.append(traj.grouped_stock[:, :, in_band].astype(np.float32))
        if keep == "daily":
            datasets.append(_dataset(model, exo, traj, output, groups, scenario, chunk))
        if progress is not None:
            progress(int(chunk[-1]) + 1, total)
    if worst_balance > BALANCE_TOLERANCE:
        raise RuntimeError(f"mass balance violated: residual {worst_balance:.3g}")

    summary = (
        pd.concat(frames, ignore_index=True)
        .sort_values(["_group", "draw"], kind="stable")
        .drop(columns="_group")
        .reset_index(drop=True)
        if frames
        else pd.DataFrame()
    )
    licence_table = _merge_licences(licences)
    from chokepoint import __version__

    metadata = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": _scenario_label(scenario.path),
        "scenario_hash": hashlib.sha256(
            scenario.model_dump_json(by_alias=True, serialize_as_any=True).encode()
        ).hexdigest()[:12],
        "seed": scenario.seed,
        "draws": scenario.draws,
        "start": scenario.start.isoformat(),
        "horizon_days": horizon,
        "first_shock_day": first_shock,
        "network": net.name,
        "data_version": net.data_version,
        "package_version": __version__,
        "max_balance_residual": worst_balance,
        "assumed_stock_slots": int(model.slot_stock_assumed.sum()),
        "network_path": _optional_str(network_path(scenario, network)),
        "band_draws": min(band_draws, scenario.draws),
        "default_days_of_cover": settings.default_days_of_cover,
    }
    trajectories = None
    if datasets:
        trajectories = xr.concat(datasets, dim="draw")
        trajectories["baseline_output"] = (("day", "product_region"), reference)
    bands = pd.concat(
        [
            _bands(
                "output",
                groups.table["product"],
                groups.table["region"],
                reference,
                band_output,
                scenario,
            ),
            _bands(
                "stock",
                stock_labels["commodity"],
                stock_labels["region"],
                baseline.grouped_stock[:, :, 0],
                band_stock,
                scenario,
            ),
        ],
        ignore_index=True,
    )
    return Results(
        scenario, summary, _stats(summary), licence_table, metadata, trajectories, bands=bands
    )


def _stock_groups(model: Model) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """Sum of the stocks of each commodity held in the EU (for charts of stocks running down)."""
    inside = np.isin(model.slot_location.astype(str), list(region_codes("EU27")))
    commodities = [
        c
        for c in dict.fromkeys(model.slot_commodity[inside])
        if model.slot_stock[inside & (model.slot_commodity == c)].sum() > 0
    ]
    rows: list[int] = []
    cols: list[int] = []
    for g, commodity in enumerate(commodities):
        slots = np.flatnonzero(inside & (model.slot_commodity == commodity))
        rows += [g] * len(slots)
        cols += list(slots)
    matrix = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(commodities), model.n_slots)
    )
    return pd.DataFrame({"commodity": commodities, "region": "EU27"}), matrix


def _bands(
    kind: str, items, regions, reference: np.ndarray, parts: list[np.ndarray], scenario: Scenario
) -> pd.DataFrame:
    """Daily mean and p5/p50/p95 over draws, beside the no-shock baseline, in long form."""
    if not parts or reference.shape[1] == 0:
        return pd.DataFrame()
    values = np.concatenate(parts, axis=2)  # [day, group, draw]
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
            "mean": values.mean(axis=2).T.ravel(),
            "p5": p5.T.ravel(),
            "p50": p50.T.ravel(),
            "p95": p95.T.ravel(),
        }
    )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _scenario_label(path: str | None) -> str | None:
    """``preset:NAME`` for a shipped preset, else the path as given."""
    from chokepoint.scenario import presets_folder

    if path and Path(path).parent == presets_folder():
        return f"preset:{Path(path).stem}"
    return path


def _merge_licences(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(
            columns=["event", "link", "contracts", "window_days", "gated_days_per_contract"]
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["weighted"] = frame["gated_days_per_contract"] * frame["draws"]
    merged = frame.groupby(["event", "link"], as_index=False, sort=False).agg(
        contracts=("contracts", "first"),
        window_days=("window_days", "first"),
        weighted=("weighted", "sum"),
        draws=("draws", "sum"),
    )
    merged["gated_days_per_contract"] = merged["weighted"] / merged["draws"]
    return merged.drop(columns=["weighted", "draws"])


def _dataset(
    model: Model,
    exo: Exogenous,
    traj: Trajectories,
    output: np.ndarray,
    groups: _Groups,
    scenario: Scenario,
    chunk: np.ndarray,
) -> xr.Dataset:
    days = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
    labels = [
        f"{p}@{r}" for p, r in zip(groups.table["product"], groups.table["region"], strict=True)
    ]
    data = {
        "production": (("day", "producer", "draw"), traj.production),
        "delivered": (("day", "demand", "draw"), traj.delivered),
        "unmet": (("day", "demand", "draw"), traj.unmet),
        "output": (("day", "product_region", "draw"), output),
        "balance": (("day", "draw"), traj.balance),
    }
    if traj.stock is not None:
        data["stock"] = (("day", "slot", "draw"), traj.stock)
    if len(exo.gate.rows):
        data["gate"] = (("day", "gated_link", "draw"), traj.gate)
    coords = {
        "day": days,
        "draw": chunk,
        "producer": model.producer_ids.astype(str),
        "demand": model.demand_ids.astype(str),
        "product_region": labels,
        "slot": [f"{h}:{c}" for h, c in zip(model.slot_holder, model.slot_commodity, strict=True)],
        "gated_link": model.link_ids[exo.gate.rows].astype(str),
    }
    dataset = xr.Dataset(
        data,
        coords={k: v for k, v in coords.items() if any(k in dims for dims, _ in data.values())},
    )
    return dataset.transpose("draw", "day", ...)


def as_date(scenario: Scenario, day: int) -> dt.date:
    return scenario.start + dt.timedelta(days=int(day))
