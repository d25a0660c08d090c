"""Chunks of draws: what a run prepares once (:class:`Prepared`) and what each chunk of
draws contributes (:class:`ChunkResult`).

:func:`run_chunk` is a pure function of the prepared run and the draw indices, so chunks can
run in any order, in any process (local or Dask), and give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from chokepoint.compile.exogenous import (
    Exogenous,
    compile_exogenous,
    measure_costs,
    reference_exogenous,
)
from chokepoint.compile.model import Model, build_model
from chokepoint.compile.transit import AIR_DAYS
from chokepoint.engine.runner import Structure, Trajectories, run
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.results.groups import (
    ProductGroups,
    exporter_groups,
    outcomes,
    product_groups,
    stock_groups,
    trade_groups,
)
from chokepoint.scenario import Scenario
from chokepoint.simulation.budget import Sizes
from chokepoint.simulation.check import check_scenario, network_for

FLOW_DRAWS = 200
"""Draws (the first ones) whose daily cross-border flows, goods in transit and exporter
stocks are summarised in ``Results.flows`` (at most the band draws)."""

FLOW_KINDS = ("shipped", "in_transit", "exporter_stock")


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
    trade_labels: pd.DataFrame  # exporter, destination, commodity, baseline
    trade_matrix: sp.csr_matrix  # [trade group, link]
    reference_trade: np.ndarray  # [day, trade group]
    reference_transit: np.ndarray  # [day, trade group]: goods in transit
    exporter_labels: pd.DataFrame  # exporter, commodity
    exporter_matrix: sp.csr_matrix  # [exporter group, producer]
    reference_exporter: np.ndarray  # [day, exporter group]: stock of output
    group_size: np.ndarray  # producers (firms) per product group
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
    bands: dict[str, np.ndarray]
    """``[day, group, draw]`` (float32) of the chunk's band draws, by kind: ``output``,
    ``stock``, ``firms_stopped``, ``shipped``, ``in_transit``, ``exporter_stock``; empty when
    the chunk has no band draw."""
    balance: float
    dataset: xr.Dataset | None


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
    trade_labels, trade_matrix = trade_groups(model)
    exporter_labels, exporter_matrix = exporter_groups(
        model, restricted_suppliers(net, model, scenario)
    )
    structure = Structure.of(model)
    baseline = run(
        model,
        reference_exogenous(net, model, scenario),
        restoration_days=scenario.settings.restoration_days,
        survive_threshold=scenario.settings.survive_threshold,
        stock_groups=stock_matrix,
        trade_groups=trade_matrix,
        exporter_groups=exporter_matrix,
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
        trade_labels=trade_labels,
        trade_matrix=trade_matrix,
        reference_trade=recorded(baseline.trade)[:, :, 0],
        reference_transit=recorded(baseline.trade_transit)[:, :, 0],
        exporter_labels=exporter_labels,
        exporter_matrix=exporter_matrix,
        reference_exporter=recorded(baseline.exporter_groups)[:, :, 0],
        group_size=groups.producer_matrix.sum(axis=1),
        baseline_balance=float(baseline.balance.max(initial=0.0)),
        first_shock=max(min(shocks), 0) if shocks else 0,
        keep=keep,
        band_draws=band_draws,
    )


def compiled_sizes(prepared: Prepared) -> Sizes:
    """The sizes the memory estimate needs, from the compiled model and its groups."""
    model, kernel = prepared.model, prepared.structure.network
    return Sizes(
        links=model.n_links,
        producers=model.n_producers,
        demands=len(model.demand_ids),
        slots=model.n_slots,
        product_groups=len(prepared.groups.table),
        stock_groups=int(prepared.stock_matrix.shape[0]),
        transit_slots=len(kernel.transit_slots),
        ring_days=max(int(kernel.link_transit.max(initial=0)), int(AIR_DAYS)) + 1,
        trade_groups=int(prepared.trade_matrix.shape[0]),
    )


def run_chunk(prepared: Prepared, draws: np.ndarray, threads: int = 2) -> ChunkResult:
    """Compile and run the draws ``draws`` (absolute indices) and summarise them."""
    scenario, model, groups = prepared.scenario, prepared.model, prepared.groups
    try:
        exo = compile_exogenous(prepared.net, model, scenario, draws)
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None
    in_band = draws < prepared.band_draws
    in_flow = draws < min(prepared.band_draws, FLOW_DRAWS)
    traj = run(
        model,
        exo,
        restoration_days=scenario.settings.restoration_days,
        survive_threshold=scenario.settings.survive_threshold,
        keep=prepared.keep,
        flow_draws=len(draws) if prepared.keep else int(in_flow.sum()),
        stock_groups=prepared.stock_matrix,
        trade_groups=prepared.trade_matrix,
        exporter_groups=prepared.exporter_matrix,
        product_groups=(groups.producer_matrix, groups.demand_matrix),
        structure=prepared.structure,
        threads=threads,
    )
    bands = {}
    if in_band.any():
        daily = {
            "output": traj.group_output,
            "stock": traj.grouped_stock,
            "firms_stopped": recorded(traj.group_stopped),  # a count until sliced
            "shipped": recorded(traj.trade),
            "in_transit": recorded(traj.trade_transit),
            "exporter_stock": recorded(traj.exporter_groups),
        }
        # band draws are the first draws of a chunk; flows hold only the first FLOW_DRAWS
        # (or, kept, all)
        bands = {
            k: _first_draws(v, in_flow if k in FLOW_KINDS else in_band).astype(
                np.float32, copy=False
            )
            for k, v in daily.items()
        }
        bands["firms_stopped"] = stopped_share(bands["firms_stopped"], prepared.group_size).astype(
            np.float32, copy=False
        )
    return ChunkResult(
        summary=_summary(prepared, traj, draws),
        licences=exo.licences,
        costs=measure_costs(model, scenario, draws),
        bands=bands,
        balance=float(traj.balance.max(initial=0.0)),
        dataset=_dataset(prepared, exo, traj, draws) if prepared.keep else None,
    )


def _first_draws(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values[day, row, draw]`` at the draws ``wanted`` (a mask over its draws, or longer):
    a view when they come first, as they do for ascending draws, else a copy."""
    mask = wanted[: values.shape[2]]
    count = int(mask.sum())
    return values[:, :, :count] if mask[:count].all() else values[:, :, mask]


def _summary(prepared: Prepared, traj: Trajectories, draws: np.ndarray) -> pd.DataFrame:
    """One row per product group and draw: the outcomes of the group's daily output."""
    settings = prepared.scenario.settings
    result = outcomes(
        traj.group_output,
        prepared.reference,
        prepared.first_shock,
        settings.survive_threshold,
        gap=traj.group_gap,
    )
    size = np.asarray(prepared.group_size, dtype=float).ravel()
    peak = recorded(traj.group_stopped).max(axis=0, initial=0.0) / np.maximum(size, 1.0)[:, None]
    peak[size == 0] = np.nan
    result["firms_stopped_peak"] = peak
    table = prepared.groups.table
    if table.empty:
        return pd.DataFrame()
    # one row per group and draw, groups outer (one frame, not one per group)
    count = len(draws)

    def each(column: str) -> np.ndarray:
        return np.repeat(table[column].to_numpy(), count)

    frame = pd.DataFrame(
        {
            "_group": np.repeat(np.arange(len(table)), count),
            "product": each("product"),
            "region": each("region"),
            "measured_as": each("measured_as"),
            "draw": np.tile(np.asarray(draws), len(table)),
            **{name: np.asarray(values).reshape(-1) for name, values in result.items()},
        }
    )
    frame["lost_value"] = frame["lost_output"] * each("value").astype(float)
    return frame


def stopped_share(stopped: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``[day, group, draw]`` share of each product group's producers (firms) stopped; NaN
    for groups measured as deliveries (no producers)."""
    size = np.asarray(size, dtype=float).ravel()
    scale = np.where(size > 0, 1.0 / np.maximum(size, 1.0), np.nan)
    return stopped * scale[None, :, None]


def restricted_suppliers(net: SupplyNetwork, model: Model, scenario: Scenario) -> np.ndarray:
    """Producers an export measure of the scenario restricts: the ones that may keep stock."""
    from chokepoint.compile import selection
    from chokepoint.scenario.events import FlowSelector
    from chokepoint.scenario.shocks import ExportLicensing

    found: list[np.ndarray] = []
    for event in scenario.events:
        if not isinstance(event, FlowSelector):
            continue
        links = selection.select_links(model, event)
        if isinstance(event, ExportLicensing) and event.value_content is not None:
            links = np.union1d(links, selection.value_content_links(net, model, event))
        found.append(model.link_supplier[links.astype(int)])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, int)


def recorded(values: np.ndarray | None) -> np.ndarray:
    """A trajectory array the run was asked to record (an error if it was not)."""
    if values is None:
        raise RuntimeError("the engine did not record an array this step needs")
    return values


def chunks_of(total: int, size: int) -> list[np.ndarray]:
    """Draw indices ``0 .. total - 1`` in chunks of ``size``."""
    return [np.arange(b, min(b + size, total)) for b in range(0, total, max(size, 1))]


def _dataset(
    prepared: Prepared,
    exo: Exogenous,
    traj: Trajectories,
    chunk: np.ndarray,
) -> xr.Dataset:
    model, groups, scenario = prepared.model, prepared.groups, prepared.scenario
    days = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D")
    labels = [
        f"{p}@{r}" for p, r in zip(groups.table["product"], groups.table["region"], strict=True)
    ]
    trade = prepared.trade_labels
    held = np.zeros_like(recorded(traj.shipped))
    held[:, model.link_transit > 0, :] = recorded(traj.transit)
    # by network producer (a split holder's firms summed); by firm apart when there are any
    names = model.producer_holder.astype(str)
    holders = np.array(list(dict.fromkeys(names)), dtype=str)
    row_holder = pd.Index(holders).get_indexer(names)

    def by_holder(values: np.ndarray) -> np.ndarray:
        summed = np.zeros((values.shape[0], len(holders), values.shape[2]))
        np.add.at(summed, (slice(None), row_holder), values)  # type: ignore[arg-type]
        return summed

    split = len(holders) < model.n_producers
    data = {
        "production": (("day", "producer", "draw"), by_holder(recorded(traj.production))),
        "delivered": (("day", "demand", "draw"), recorded(traj.delivered)),
        "unmet": (("day", "demand", "draw"), recorded(traj.unmet)),
        "output": (("day", "product_region", "draw"), traj.group_output),
        "input_shortfall": (("day", "product_region", "draw"), recorded(traj.group_gap)),
        "firms_stopped": (
            ("day", "product_region", "draw"),
            stopped_share(recorded(traj.group_stopped), prepared.group_size),
        ),
        "shipped": (("day", "link", "draw"), recorded(traj.shipped)),
        "in_transit": (("day", "link", "draw"), held),
        "exports": (("day", "flow", "draw"), recorded(traj.trade)),
        "exports_in_transit": (("day", "flow", "draw"), recorded(traj.trade_transit)),
        "exporter_stock": (("day", "producer", "draw"), by_holder(recorded(traj.exporter_stock))),
        "balance": (("day", "draw"), traj.balance),
    }
    if split:
        data["firm_production"] = (("day", "firm", "draw"), recorded(traj.production))
    if traj.stock is not None:
        data["stock"] = (("day", "slot", "draw"), traj.stock)
    if len(exo.gate.rows):
        data["gate"] = (("day", "gated_link", "draw"), recorded(traj.gate))
    coords = {
        "day": days,
        "draw": chunk,
        "producer": holders,
        "firm": model.producer_ids.astype(str),
        "demand": model.demand_ids.astype(str),
        "product_region": labels,
        "slot": model.slot_label.astype(str),
        "gated_link": model.link_ids[exo.gate.rows].astype(str),
        "link": model.link_ids.astype(str),
        "flow": [
            f"{e}>{d}:{c}"
            for e, d, c in zip(
                trade["exporter"], trade["destination"], trade["commodity"], strict=True
            )
        ],
    }
    dataset = xr.Dataset(
        data,
        coords={k: v for k, v in coords.items() if any(k in dims for dims, _ in data.values())},
    )
    return dataset.transpose("draw", "day", ...)
