"""Run a scenario: check it against the network, compile, run the engine chunk by chunk
(locally or on a Dask cluster), and summarise per final product and region.

``simulate(scenario)`` is the public entry point: :func:`chokepoint.simulation.chunks.prepare`
builds everything a chunk of draws needs once, chunks run here or on Dask
(:mod:`chokepoint.simulation.distributed`), and :func:`assemble` combines them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from chokepoint.network.container import SupplyNetwork
from chokepoint.results.results import (
    Results,
    bands_table,
    flows_table,
    licence_table,
    measures_table,
    risk_figures,
)
from chokepoint.scenario import Scenario
from chokepoint.simulation import budget
from chokepoint.simulation.check import check_scenario, network_for, network_path
from chokepoint.simulation.chunks import (
    FLOW_DRAWS,
    ChunkResult,
    Prepared,
    chunks_of,
    compiled_sizes,
    prepare,
    run_chunk,
)
from chokepoint.simulation.distributed import map_chunks

BALANCE_TOLERANCE = 1e-6
"""Largest mass-balance residual allowed, relative to the size of each row's own numbers
(its daily use or output, or its stock)."""


__all__ = [
    "Results",
    "assemble",
    "check_scenario",
    "network_for",
    "prepare",
    "run_chunk",
    "simulate",
]


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
        compiled=compiled_sizes(prepared),
    )
    chunks = chunks_of(scenario.draws, chunk_size)
    if scheduler is None:
        parts = []
        for chunk in chunks:
            parts.append(run_chunk(prepared, chunk))
            if progress is not None:
                progress(int(chunk[-1]) + 1, scenario.draws)
    else:
        parts = map_chunks(prepared, chunks, scheduler, progress)
    return assemble(prepared, parts, network)


def assemble(
    prepared: Prepared,
    parts: Sequence[ChunkResult],
    network: SupplyNetwork | str | Path | None = None,
) -> Results:
    """Combine chunk results (in any order) into the results of the whole run."""
    scenario, model = prepared.scenario, prepared.model
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
    bands, flows = _bands(prepared, parts)
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
        "scenario_hash": scenario.digest(),
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
        "flow_draws": min(prepared.band_draws, FLOW_DRAWS, scenario.draws),
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
        flows=flows,
    )


def _bands(prepared: Prepared, parts: Sequence[ChunkResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily bands over the band draws: output and EU stocks, and the share of firms
    stopped (``bands``); cross-border shipments, goods in transit and exporters' stocks of
    output (``flows``)."""
    scenario, groups = prepared.scenario, prepared.groups

    def parts_of(kind: str) -> list[np.ndarray]:
        return [p.bands[kind] for p in parts if p.bands and p.bands[kind].shape[2]]

    producing = prepared.group_size > 0
    table = groups.table
    bands = pd.concat(
        [
            bands_table(
                "output",
                table["product"],
                table["region"],
                prepared.reference,
                parts_of("output"),
                scenario,
            ),
            bands_table(
                "stock",
                prepared.stock_labels["commodity"],
                prepared.stock_labels["region"],
                prepared.reference_stock,
                parts_of("stock"),
                scenario,
            ),
            bands_table(
                "firms_stopped",
                table["product"][producing],
                table["region"][producing],
                np.zeros_like(prepared.reference[:, producing]),
                [part[:, producing, :] for part in parts_of("firms_stopped")],
                scenario,
            ),
        ],
        ignore_index=True,
    )
    exporters = prepared.exporter_labels.assign(destination="")
    flows = pd.concat(
        [
            flows_table(kind, labels, reference, parts_of(kind), scenario)
            for kind, labels, reference in (
                ("shipped", prepared.trade_labels, prepared.reference_trade),
                ("in_transit", prepared.trade_labels, prepared.reference_transit),
                ("exporter_stock", exporters, prepared.reference_exporter),
            )
        ],
        ignore_index=True,
    )
    return bands, flows


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _scenario_label(path: str | None) -> str | None:
    """``preset:NAME`` for a shipped preset, else the path as given."""
    from chokepoint.scenario import presets_folder

    if path and Path(path).parent == presets_folder():
        return f"preset:{Path(path).stem}"
    return path
