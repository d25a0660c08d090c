"""The ARIO step as numpy array code, vectorised over draws: the readable reference.

Same arithmetic as the compiled loop in :mod:`.ario_kernel` (tests check they agree);
state arrays are ``[draw, industry]`` and ``[draw, slot]`` so that every operation runs
along contiguous rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from chokepoint.economy.ario_kernel import CLOSE_ATOL, CLOSE_RTOL
from chokepoint.economy.ario_types import ARIOModel, ARIOResult

if TYPE_CHECKING:
    from chokepoint.economy.ario_types import ARIORun


def _times(matrix: sp.csr_matrix, array: np.ndarray) -> np.ndarray:
    """``(matrix @ array.T).T`` for ``[draw, column]`` arrays, C-ordered."""
    if array.shape[0] == 1:
        return (matrix @ array[0])[None, :]
    return np.ascontiguousarray((matrix @ array.T).T)


def _close(difference: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per draw (row): ``np.allclose(a, b)`` given ``a - b`` and ``b >= 0``."""
    if difference.shape[1] == 0:
        return np.ones(difference.shape[0], dtype=bool)
    excess = np.abs(difference)
    excess -= CLOSE_RTOL * reference
    return excess.max(axis=1) <= CLOSE_ATOL


def _orders(
    model: ARIOModel,
    optimal: np.ndarray,
    stock: np.ndarray,
    used: np.ndarray,
    share_total: np.ndarray,
    check_targets: bool,
    finite: np.ndarray | None,
) -> np.ndarray:
    """Orders per slot for the next step: use plus 1/tau of the gap to the target stock,
    divided among suppliers by their share of the total."""
    alternative = model.parameters.order_type == "alt"
    target = np.repeat(optimal, model.slots_per_industry, axis=1)
    target *= model.goal_coefficient
    target -= stock  # now the gap (negative where stocks exceed their target)
    if check_targets:
        goal = target + stock
        close = (
            _close(target, goal) if finite is None else _close(target[:, finite], goal[:, finite])
        )
        target[close] = 0.0
    np.maximum(target, 0.0, out=target)
    target *= model.restoration_rate
    target += used
    share_orders = target
    if alternative and not share_total.all():
        np.divide(share_orders, share_total, out=share_orders, where=share_total != 0)
        share_orders[share_total == 0] = 0.0
    else:
        share_orders /= share_total
    return share_orders


def run_arrays(run: ARIORun) -> ARIOResult:
    """Run the model with array code (see :func:`chokepoint.economy.ario.run_ario`)."""
    model, steps, loss, count = run.model, run.steps, run.loss, run.draws
    keep_production, group_of, n_groups = run.keep_production, run.group_of, run.n_groups
    p = model.parameters
    n = model.n_industries
    alternative = p.order_type == "alt"
    x0 = model.output
    per_industry = model.slots_per_industry
    rows = model.segment_industries
    has_output = x0 != 0
    check_targets = p.boario_tolerances and not model.orders_never_close
    finite = None if model.finite.all() else model.finite
    tau_alpha = 1.0 / p.alpha_tau
    loss_by_step = np.ascontiguousarray(np.moveaxis(loss.values, 2, 1))  # [step, draw, row]

    alpha = np.full((count, n), p.alpha_base)
    production = np.tile(x0, (count, 1))
    stock = np.tile(model.initial_stock, (count, 1))
    ratio_capacity = np.ones((count, n))
    share_total = np.tile(model.initial_share_total, (count, 1))
    share_orders = np.ones((count, model.n_slots))
    intermediate = _times(model.supply_transposed, share_orders)
    delta = np.zeros((count, n))
    factor = np.ones((count, n))
    fill = np.zeros((count, n))
    scarcity = np.zeros((count, n))

    kept = np.empty((steps, n, count)) if keep_production else None
    grouped = np.zeros((steps, n_groups, count))
    members = group_of >= 0
    groups = sp.csr_matrix(
        (np.ones(members.sum()), (group_of[members], np.flatnonzero(members))),
        shape=(n_groups, n),
    )
    va_loss = np.zeros((count, n))
    unmet = np.zeros((count, n))
    shortage = np.zeros((count, n), dtype=np.int64)
    for step in range(steps):
        if len(loss.rows):
            delta[:, loss.rows] = loss_by_step[step] if step < loss.steps else 0.0
        demand = intermediate + model.final_demand
        if step > 1:
            scarcity.fill(0.0)
            np.divide(demand - production, demand, out=scarcity, where=demand != 0)
            alpha += (p.alpha_max - alpha) * scarcity * tau_alpha + (p.alpha_base - alpha) * (
                scarcity == 0
            ) * tau_alpha
            np.maximum(alpha, 1.0, out=alpha)
        capacity = x0 * (1.0 - delta) * alpha
        optimal = np.fmin(demand, capacity)

        # 1. production limited by input stocks (days of cover against psi * target days)
        cover = stock * model.cover_scale
        cover += model.cover_offset
        least = np.minimum.reduceat(cover, model.segment_starts, axis=1)
        limit = np.ones_like(least)
        np.divide(least, optimal[:, rows], out=limit, where=optimal[:, rows] != 0)
        factor[:, rows] = np.minimum(limit, 1.0)
        production = optimal * factor
        shortage += factor < 1.0

        # 2. rationing in proportion to orders; stocks move by inputs received minus used
        fill.fill(0.0)
        np.divide(production, demand, out=fill, where=demand != 0)
        received = _times(model.supply, ratio_capacity * fill)
        if alternative:
            np.divide(capacity, x0, out=ratio_capacity, where=has_output)
            share_total = _times(model.supply, ratio_capacity)
        received *= share_orders
        used = np.repeat(production, per_industry, axis=1)
        used *= model.technical
        received -= used  # now the net change of each stock
        if not p.boario_tolerances:
            stock += received
        else:
            moving = ~_close(received, used)
            if moving.all():
                stock += received
            elif moving.any():
                stock[moving] += received[moving]
        unmet += model.final_demand * (1.0 - fill)

        # 3. orders for the next step: use plus 1/tau of the gap to the target stock
        share_orders = _orders(model, optimal, stock, used, share_total, check_targets, finite)
        intermediate = _times(model.supply_transposed, share_orders)
        intermediate *= ratio_capacity

        lost = model.value_added_share * (x0 - production)
        va_loss += lost
        if kept is not None:
            kept[step] = production.T
        if n_groups:
            grouped[step] = groups @ lost.T
    return run.result(va_loss.T, unmet.T, shortage.T, kept, grouped)
