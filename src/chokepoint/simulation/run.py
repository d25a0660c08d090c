"""Run a scenario: check it against the network, compile, run the engine chunk by chunk
(locally or on a Dask cluster), and summarise per final product and region.

``simulate(scenario)`` is the public entry point. :func:`prepare` builds everything a chunk
of draws needs once; :func:`run_chunk` is a pure function of that and the draw indices, so
chunks can run in any order, in any process, and give the same numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from chokepoint.compile.exogenous import Exogenous, Rows, compile_exogenous, measure_costs
from chokepoint.compile.model import Model, build_model
from chokepoint.engine.runner import Structure, Trajectories, run
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork, load_default
from chokepoint.network.countries import PSEUDO_COUNTRIES, REGIONS, iso3_codes
from chokepoint.results.groups import ProductGroups, outcomes, product_groups, stock_groups
from chokepoint.results.results import (
    Results,
    bands_table,
    licence_table,
    measures_table,
    risk_figures,
)
from chokepoint.scenario import Scenario
from chokepoint.simulation import budget

BALANCE_TOLERANCE = 1e-6
"""Largest mass-balance residual allowed, relative to the size of each row's own numbers
(its daily use or output, or its stock)."""

__all__ = ["Results", "check_scenario", "prepare", "run_chunk", "simulate"]


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
        if end <= 0:
            raise ScenarioError(
                f"the event ends (day {end}) before the scenario starts: it would change nothing",
                file=scenario.path,
                field=f"events[{position}].end",
            )
        if start >= scenario.horizon_days:
            raise ScenarioError(
                f"the event starts on day {start}, after the horizon of "
                f"{scenario.horizon_days} days",
                file=scenario.path,
                field=f"events[{position}].start",
            )
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


# ---------------------------------------------------------------------------- prepare


@dataclass
class Prepared:
    """Everything a chunk of draws needs, built once per run (and shipped to workers)."""

    net: SupplyNetwork
    scenario: Scenario
    model: Model
    structure: Structure
    groups: ProductGroups
    stock_labels: pd.DataFrame
    stock_matrix: sp.csr_matrix
    reference: np.ndarray  # [day, group] output without shocks
    reference_stock: np.ndarray  # [day, stock group]
    baseline_balance: float
    first_shock: int
    keep: bool
    band_draws: int


@dataclass
class ChunkResult:
    """What one chunk of draws contributes to the results."""

    summary: pd.DataFrame
    licences: pd.DataFrame
    costs: pd.DataFrame
    band_output: np.ndarray | None
    band_stock: np.ndarray | None
    balance: float
    dataset: xr.Dataset | None


def _empty_exogenous(model: Model, horizon: int) -> Exogenous:
    """No events: the baseline (new plants of the scenario have no capacity)."""
    virtual = np.flatnonzero(model.virtual).astype(np.int64)
    capacity = Rows(virtual, np.zeros(len(virtual), np.int64), np.zeros((horizon, 1, 1)))
    if not len(virtual):
        capacity = Rows.empty(horizon)
    empty = Rows.empty(horizon)
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


def _reference_exogenous(net: SupplyNetwork, model: Model, scenario: Scenario) -> Exogenous:
    """What output is measured against: no shocks and no measures, except the scenario's
    changes of final demand (at their medians) — a demand cut is not a supply loss."""
    from chokepoint.scenario import DemandCut, DemandShift
    from chokepoint.scenario.distributions import median

    empty = _empty_exogenous(model, scenario.horizon_days)
    demand_events = [e for e in scenario.events if isinstance(e, DemandShift | DemandCut)]
    if not demand_events:
        return empty
    fixed = [
        e.model_copy(
            update={"factor": median(e.factor)}
            if isinstance(e, DemandShift)
            else {"cut": median(e.cut)}
        )
        for e in demand_events
    ]
    reference = scenario.model_copy(update={"events": fixed})
    compiled = compile_exogenous(net, model, reference, np.zeros(1, dtype=np.int64))
    empty.demand = compiled.demand
    return empty


def prepare(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    regions: list[str] | None = None,
    keep: bool = False,
    band_draws: int = 1000,
) -> Prepared:
    """Check the scenario, compile the network and run the no-shock baseline."""
    net = network_for(scenario, network)
    check_scenario(scenario, net)
    try:
        model = build_model(net, scenario)
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None
    groups = product_groups(model, net, regions)
    stock_labels, stock_matrix = stock_groups(model)
    structure = Structure.of(model)
    baseline = run(
        model,
        _reference_exogenous(net, model, scenario),
        restoration_days=scenario.settings.restoration_days,
        stock_groups=stock_matrix,
        product_groups=(groups.producer_matrix, groups.demand_matrix),
        structure=structure,
    )
    shocks = [scenario.day(e.start) for e in scenario.events if e.kind == "shock"]
    return Prepared(
        net=net,
        scenario=scenario,
        model=model,
        structure=structure,
        groups=groups,
        stock_labels=stock_labels,
        stock_matrix=stock_matrix,
        reference=baseline.group_output[:, :, 0],
        reference_stock=baseline.grouped_stock[:, :, 0],
        baseline_balance=float(baseline.balance.max(initial=0.0)),
        first_shock=max(min(shocks), 0) if shocks else 0,
        keep=keep,
        band_draws=band_draws,
    )


def run_chunk(prepared: Prepared, draws: np.ndarray, threads: int = 2) -> ChunkResult:
    """Compile and run the draws ``draws`` (absolute indices) and summarise them."""
    scenario, model, groups = prepared.scenario, prepared.model, prepared.groups
    try:
        exo = compile_exogenous(prepared.net, model, scenario, draws)
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None
    traj = run(
        model,
        exo,
        restoration_days=scenario.settings.restoration_days,
        keep=prepared.keep,
        stock_groups=prepared.stock_matrix,
        product_groups=(groups.producer_matrix, groups.demand_matrix),
        structure=prepared.structure,
        threads=threads,
    )
    output = traj.group_output
    result = outcomes(
        output, prepared.reference, prepared.first_shock, scenario.settings.survive_threshold
    )
    frames = []
    for g, group in enumerate(groups.table.itertuples(index=False)):
        frame = pd.DataFrame(
            {
                "_group": g,
                "product": group.product,
                "region": group.region,
                "measured_as": group.measured_as,
                "draw": draws,
                **{name: values[g] for name, values in result.items()},
            }
        )
        frame["lost_value"] = frame["lost_output"] * group.value
        frames.append(frame)
    in_band = draws < prepared.band_draws
    return ChunkResult(
        summary=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
        licences=exo.licences,
        costs=measure_costs(model, scenario, draws),
        band_output=output[:, :, in_band].astype(np.float32) if in_band.any() else None,
        band_stock=traj.grouped_stock[:, :, in_band].astype(np.float32) if in_band.any() else None,
        balance=float(traj.balance.max(initial=0.0)),
        dataset=_dataset(model, exo, traj, output, groups, scenario, draws)
        if prepared.keep
        else None,
    )


def _band_part(values: np.ndarray, keep: np.ndarray) -> np.ndarray | None:
    """The draws kept for daily bands, as a C-ordered float32 array (a fixed memory layout,
    so statistics over draws sum in the same order wherever the chunk ran)."""
    if not keep.any():
        return None
    return np.ascontiguousarray(values[:, :, keep], dtype=np.float32)


def chunks_of(total: int, size: int) -> list[np.ndarray]:
    """Draw indices ``0 .. total - 1`` in chunks of ``size``."""
    return [np.arange(b, min(b + size, total)) for b in range(0, total, max(size, 1))]


# ---------------------------------------------------------------------------- simulate


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
    scheduler: str | None = None,
    allow_large: bool = False,
) -> Results:
    """Run a scenario and summarise it per final product and region.

    ``draws`` and ``seed`` override the scenario's. Draws run in chunks of ``chunk_size``,
    here or — with ``scheduler`` (``"local"`` for a Dask ``LocalCluster``, or a scheduler
    address) — on Dask workers; the numbers of a draw do not depend on either. ``keep=
    "daily"`` keeps daily trajectories as an ``xarray.Dataset``. ``progress(done, total)``
    is called as chunks finish. Daily bands use the first ``band_draws`` draws. A run over
    the work or memory budget (:mod:`chokepoint.simulation.budget`) is refused unless
    ``allow_large``.
    """
    scenario = scenario.with_overrides(draws=draws, seed=seed)
    prepared = prepare(
        scenario, network, regions=regions, keep=keep == "daily", band_draws=band_draws
    )
    budget.check_run(
        scenario,
        prepared.net,
        keep_daily=keep == "daily",
        chunk_size=chunk_size,
        band_draws=band_draws,
        allow_large=allow_large,
    )
    chunks = chunks_of(scenario.draws, chunk_size)
    if scheduler is None:
        parts = []
        for chunk in chunks:
            parts.append(run_chunk(prepared, chunk))
            if progress is not None:
                progress(int(chunk[-1]) + 1, scenario.draws)
    else:
        from chokepoint.simulation.distributed import map_chunks

        parts = map_chunks(prepared, chunks, scheduler, progress)
    return assemble(prepared, parts, network)


def assemble(
    prepared: Prepared,
    parts: Sequence[ChunkResult],
    network: SupplyNetwork | str | Path | None = None,
) -> Results:
    """Combine chunk results (in any order) into the results of the whole run."""
    scenario, model, groups = prepared.scenario, prepared.model, prepared.groups
    worst = max([prepared.baseline_balance, *(p.balance for p in parts)])
    if worst > BALANCE_TOLERANCE:
        raise RuntimeError(f"mass balance violated: residual {worst:.3g}")
    order = np.argsort(
        [int(p.summary["draw"].min()) if len(p.summary) else 0 for p in parts], kind="stable"
    )
    parts = [parts[i] for i in order]
    summary = (
        pd.concat([p.summary for p in parts], ignore_index=True)
        .sort_values(["_group", "draw"], kind="stable")
        .drop(columns="_group")
        .reset_index(drop=True)
    )
    licence_parts = [p.licences for p in parts if not p.licences.empty]
    licence_draws = pd.concat(licence_parts, ignore_index=True) if licence_parts else pd.DataFrame()
    licences = licence_table(licence_draws)
    costs = measures_table(scenario, pd.concat([p.costs for p in parts], ignore_index=True))
    band_output = [p.band_output for p in parts if p.band_output is not None]
    band_stock = [p.band_stock for p in parts if p.band_stock is not None]
    bands = pd.concat(
        [
            bands_table(
                "output",
                groups.table["product"],
                groups.table["region"],
                prepared.reference,
                band_output,
                scenario,
            ),
            bands_table(
                "stock",
                prepared.stock_labels["commodity"],
                prepared.stock_labels["region"],
                prepared.reference_stock,
                band_stock,
                scenario,
            ),
        ],
        ignore_index=True,
    )
    trajectories = None
    datasets = [p.dataset for p in parts if p.dataset is not None]
    if datasets:
        trajectories = xr.concat(datasets, dim="draw")
        trajectories["baseline_output"] = (("day", "product_region"), prepared.reference)
    from chokepoint import __version__

    net = prepared.net
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
        "horizon_days": scenario.horizon_days,
        "first_shock_day": prepared.first_shock,
        "network": net.name,
        "data_version": net.data_version,
        "package_version": __version__,
        "max_balance_residual": worst,
        "assumed_stock_slots": int(model.slot_stock_assumed.sum()),
        "network_path": _optional_str(network_path(scenario, network)),
        "band_draws": min(prepared.band_draws, scenario.draws),
        "default_days_of_cover": scenario.settings.default_days_of_cover,
    }
    return Results(
        scenario,
        summary,
        risk_figures(summary),
        licences,
        metadata,
        trajectories,
        bands=bands,
        licence_draws=licence_draws,
        measures=costs,
    )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _scenario_label(path: str | None) -> str | None:
    """``preset:NAME`` for a shipped preset, else the path as given."""
    from chokepoint.scenario import presets_folder

    if path and Path(path).parent == presets_folder():
        return f"preset:{Path(path).stem}"
    return path


def _dataset(
    model: Model,
    exo: Exogenous,
    traj: Trajectories,
    output: np.ndarray,
    groups: ProductGroups,
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
