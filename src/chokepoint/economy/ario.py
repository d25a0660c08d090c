"""An ARIO-type dynamic input–output model (Hallegatte 2008, 2014), step for step as BoARIO.

:func:`build_ario` compiles an :class:`~chokepoint.economy.mrio.MRIO` and
:class:`ARIOParameters` into an :class:`ARIOModel`; :func:`run_ario` runs it for a number of
daily steps under a :class:`CapacityLoss` (the share of each industry's production capacity
lost, per step and scenario draw), vectorised over draws. With the default parameters it
reproduces BoARIO 0.7.2's ``ARIOPsiModel`` (``order_type="alt"``); ``docs/economy.md`` lists
the few places where it differs.

Each step, for every industry ``j`` and draw:

1. capacity ``x_cap = x0 (1 - Δ) α``; optimal production ``x_opt = min(D, x_cap)`` with ``D``
   the orders received plus final demand;
2. production is cut to what input stocks allow: for each input sector ``s`` (summed over
   supplier regions), the stock must cover ``ψ · days_s`` days of use at ``x_opt``;
3. suppliers ration every client in proportion to its order; stocks change by what arrives
   minus what production used;
4. orders for the next step: use at actual production plus ``1/τ_inv`` of the gap between
   the target stock (``days_s`` of use at ``x_opt``) and the stock; each input's order is split
   among supplier regions in proportion to their initial sales scaled by their capacity
   ratio ``x_cap / x0`` (BoARIO's "alt" orders) or to their initial sales only ("noalt");
5. from step 2 on, the overproduction factor ``α`` moves toward ``α_max`` in proportion to the
   scarcity ``(D - x) / D`` with time constant ``τ_α``, and back to ``α_base`` when demand is
   met exactly.

The orders matrix is never formed: inventories live on the non-zero (input sector, industry)
pairs ("slots") and the flows on the non-zeros of ``Z``, so a step costs a few sparse
products with ``Z``'s pattern — no dense ``n × n`` pass. The loop runs compiled
(:mod:`.ario_kernel`, numba) or as array code (:mod:`.ario_arrays`, the readable reference).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from chokepoint.economy.ario_types import (
    ARIOModel,
    ARIOParameters,
    ARIOResult,
    ARIORun,
    _per_sector,
)
from chokepoint.economy.events import CapacityLoss
from chokepoint.economy.mrio import MRIO

TECHNOLOGY_THRESHOLD = 1e-5
"""An input counts as constraining when it exceeds this share of a day's output (BoARIO)."""

DRAW_BLOCK = 32
"""Draws run together by the compiled loop: their per-industry state (a few ``n x block``
arrays the sparse passes gather from) stays within a core's cache at EXIOBASE size."""

PRECISIONS = {"float64": np.float64, "float32": np.float32}
"""Dtypes for the per-slot state (stocks, orders, supplier shares); sums run in float64."""


# -------------------------------------------------------------------------- parameters


def build_ario(mrio: MRIO, parameters: ARIOParameters | None = None) -> ARIOModel:
    """Compile an MRIO for the ARIO kernel (one pass over the non-zeros of ``Z``)."""
    p = parameters or ARIOParameters()
    n = mrio.n_industries
    sector_of, sector_names = pd.factorize(mrio.industries.get_level_values(1))
    sectors = [str(s) for s in sector_names]
    n_sectors = len(sectors)
    per_step = 1.0 / p.steps_per_year
    flows = mrio.Z.tocoo()
    keys = flows.col.astype(np.int64) * n_sectors + sector_of[flows.row]
    slot_keys, slot_of_entry = np.unique(keys, return_inverse=True)
    slot_industry = (slot_keys // n_sectors).astype(np.int64)
    slot_sector = (slot_keys % n_sectors).astype(np.int64)
    n_slots = len(slot_keys)

    output_year = mrio.x
    output = output_year * per_step
    inverse_output = np.zeros(n)
    np.divide(1.0, output_year, out=inverse_output, where=output_year != 0)
    technical = np.bincount(
        slot_of_entry, weights=flows.data * inverse_output[flows.col], minlength=n_slots
    )
    input_total = np.bincount(slot_of_entry, weights=flows.data, minlength=n_slots)
    counted = input_total > output[slot_industry] * TECHNOLOGY_THRESHOLD

    days = np.full(n_sectors, float(p.main_inventory_days))
    for name, value in (p.inventory_days or {}).items():
        if name not in sectors:
            raise ValueError(f"inventory_days names an unknown sector {name!r}")
        days[sectors.index(name)] = float(value)
    for name in p.infinite_inventory_sectors:
        if name not in sectors:
            raise ValueError(f"infinite_inventory_sectors names an unknown sector {name!r}")
        days[sectors.index(name)] = np.inf
    infinite_sector = np.isinf(days)
    finite_days = np.where(infinite_sector, 0.0, days)
    rate = 1.0 / _per_sector(p.inventory_restoration_tau, sectors, "inventory_restoration_tau")
    slot_days = finite_days[slot_sector]
    finite = ~infinite_sector[slot_sector]

    supply = sp.csr_matrix((flows.data * per_step, (slot_of_entry, flows.row)), shape=(n_slots, n))
    value_added = np.maximum(mrio.value_added, 0.0)
    share = np.zeros(n)
    np.divide(value_added, output_year, out=share, where=output_year != 0)
    ratio = _per_sector(p.capital_to_value_added, sectors, "capital_to_value_added")
    has_slots = np.flatnonzero(np.diff(np.concatenate([[-1], slot_industry])) != 0)
    slots_per_sector = np.bincount(slot_sector, minlength=n_sectors)
    # BoARIO compares stocks with targets over the full (sector x industry) matrix: where a
    # sector with infinite stocks is no input of some industry, target 0*inf is NaN and the
    # check never passes.
    never_close = bool((infinite_sector & (slots_per_sector < n)).any())
    # A slot limits production when its stock covers less than psi * days of use at optimal
    # production: stock * scale / x_opt < 1 (BoARIO's stock / (x_opt * A * psi * days)).
    needed = technical * p.psi * slot_days
    limits = counted & finite & (needed != 0)
    scale = np.zeros(n_slots)
    np.divide(1.0, needed, out=scale, where=limits)
    return ARIOModel(
        parameters=p,
        industries=mrio.industries,
        output=output,
        final_demand=mrio.final_demand * per_step,
        value_added_share=share,
        capital=value_added * ratio[sector_of],
        supply=supply,
        supply_transposed=sp.csr_matrix(supply.T),
        slot_industry=slot_industry,
        slot_sector=slot_sector,
        slots_per_industry=np.bincount(slot_industry, minlength=n),
        segment_starts=has_slots,
        segment_industries=slot_industry[has_slots],
        technical=technical,
        cover_scale=scale,
        cover_offset=np.where(limits, 0.0, np.inf),
        goal_coefficient=technical * slot_days,
        restoration_rate=np.where(finite, rate[slot_sector], 0.0),
        finite=finite,
        initial_stock=output[slot_industry] * technical * slot_days,
        initial_share_total=np.asarray(supply @ np.ones(n)).ravel(),
        orders_never_close=never_close,
    )


# -------------------------------------------------------------------------------- run


def run_ario(
    model: ARIOModel,
    steps: int,
    *,
    capacity_loss: CapacityLoss | None = None,
    draws: int | None = None,
    keep_production: bool = True,
    groups: np.ndarray | None = None,
    engine: Literal["numba", "numpy"] = "numba",
    threads: int | None = None,
    precision: Literal["float64", "float32"] = "float64",
    block: int = DRAW_BLOCK,
) -> ARIOResult:
    """Run ``steps`` daily steps for every draw of ``capacity_loss`` (or ``draws``).

    ``groups`` gives each industry a group number (e.g. its region; -1 for none): the daily
    value-added loss is summed by group. ``engine="numba"`` runs the compiled loop of
    :mod:`.ario_kernel`; ``"numpy"`` the array code below, vectorised over draws (the
    readable reference: both agree to rounding); ``threads`` (default: the CPU count) run
    blocks of draws side by side under ``"numba"``. The compiled loop runs ``block`` draws at
    once (one sweep over the table's structure per step for all of them) and keeps the
    per-slot state in ``precision`` (``"float32"`` halves its memory traffic; sums stay in
    float64). Neither changes a draw's numbers beyond float rounding; with ``"float64"`` a
    draw is bit-identical whatever block it runs in.
    """
    loss = capacity_loss or CapacityLoss.none()
    count = draws or loss.draws
    if loss.draws not in (1, count):
        raise ValueError(f"capacity loss has {loss.draws} draws, the run {count}")
    group_of = (
        np.full(model.n_industries, -1, dtype=np.int64)
        if groups is None
        else np.asarray(groups, dtype=np.int64)
    )
    if group_of.shape != (model.n_industries,):
        raise ValueError("groups must give one group number per industry")
    n_groups = int(group_of.max(initial=-1)) + 1
    run = ARIORun(model, steps, loss, count, keep_production, group_of, n_groups)
    if engine == "numba":
        workers = threads if threads is not None else (os.cpu_count() or 1)
        return _run_compiled(run, workers, precision, block)
    if engine != "numpy":
        raise ValueError(f"unknown engine {engine!r}")
    from chokepoint.economy.ario_arrays import run_arrays

    return run_arrays(run)


def _run_compiled(
    run: ARIORun, threads: int, precision: str = "float64", block: int = DRAW_BLOCK
) -> ARIOResult:
    """The numba loop over blocks of draws, the blocks spread over ``threads`` threads (the
    kernel releases the GIL). A draw's numbers do not depend on the block it runs in."""
    from concurrent.futures import ThreadPoolExecutor

    from chokepoint.economy.ario_kernel import ario_block
    from chokepoint.threads import split_range

    model, steps, loss, count = run.model, run.steps, run.loss, run.draws
    keep_production, group_of, n_groups = run.keep_production, run.group_of, run.n_groups
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {sorted(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    shared, settings = _kernel_inputs(model)
    values = np.ascontiguousarray(np.moveaxis(loss.values, 2, 1), dtype=np.float64)
    rows = loss.rows.astype(np.int64)
    n = model.n_industries
    production = np.zeros((steps, n, count) if keep_production else (0, 0, 0))
    grouped = np.zeros((steps, n_groups, count))
    va_loss = np.zeros((n, count))
    unmet = np.zeros((n, count))
    shortage = np.zeros((n, count), dtype=np.int64)

    def run_block(piece: tuple[int, int]) -> None:
        first, last = piece
        size = last - first
        part = values if values.shape[1] == 1 else np.ascontiguousarray(values[:, first:last])
        work = [np.empty((model.n_slots, size), dtype=dtype) for _ in range(4)]
        outputs = (
            np.zeros((steps, n, size)) if keep_production else production,
            np.zeros((steps, n_groups, size)),
            np.zeros((n, size)),
            np.zeros((n, size)),
            np.zeros((n, size), dtype=np.int64),
        )
        arguments = (steps, *shared, rows, part, *settings, group_of, keep_production)
        ario_block(*arguments, *work, *outputs)  # type: ignore[call-arg]  # numba's stub
        if keep_production:
            production[:, :, first:last] = outputs[0]
        grouped[:, :, first:last] = outputs[1]
        va_loss[:, first:last] = outputs[2]
        unmet[:, first:last] = outputs[3]
        shortage[:, first:last] = outputs[4]

    pieces = split_range(count, -(-count // max(1, block)))
    if threads <= 1 or len(pieces) == 1:
        for piece in pieces:
            run_block(piece)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run_block, pieces))
    return run.result(va_loss, unmet, shortage, production, grouped)


def _kernel_inputs(model: ARIOModel) -> tuple[tuple, tuple]:
    """The model's arrays and settings in the order the compiled kernel takes them."""
    p = model.parameters
    supply, transposed = model.supply, model.supply_transposed
    shared = (
        model.output,
        model.final_demand,
        model.value_added_share,
        supply.indptr.astype(np.int64),
        supply.indices.astype(np.int64),
        supply.data,
        transposed.indptr.astype(np.int64),
        transposed.indices.astype(np.int64),
        transposed.data,
        np.concatenate([[0], np.cumsum(model.slots_per_industry)]).astype(np.int64),
        (
            model.slot_industry,
            model.technical,
            model.cover_scale,
            model.cover_offset,
            model.goal_coefficient,
            model.restoration_rate,
            model.finite,
            model.initial_share_total,
        ),
        model.initial_stock,
    )
    settings = (
        float(p.alpha_base),
        float(p.alpha_max),
        1.0 / p.alpha_tau,
        p.order_type == "alt",
        p.boario_tolerances,
        p.boario_tolerances and not model.orders_never_close,
    )
    return shared, settings
