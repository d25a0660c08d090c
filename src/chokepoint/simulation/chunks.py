"""Chunks of draws: what a run prepares once (:class:`Prepared`) and what each chunk of
draws contributes (:class:`ChunkResult`).

:func:`run_chunk` is a pure function of the prepared run and the draw indices, so chunks can
run in any order, in any process (local or Dask), and give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

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
from chokepoint.engine.runner import Structure, Trajectories, run
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.results.groups import ProductGroups, outcomes, product_groups, stock_groups
from chokepoint.scenario import Scenario
from chokepoint.simulation.check import check_scenario, network_for


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
        reference_exogenous(net, model, scenario),
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
        frame["lost_value"] = frame["lost_output"] * float(cast(float, group.value))
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


def chunks_of(total: int, size: int) -> list[np.ndarray]:
    """Draw indices ``0 .. total - 1`` in chunks of ``size``."""
    return [np.arange(b, min(b + size, total)) for b in range(0, total, max(size, 1))]


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
