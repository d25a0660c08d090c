"""The compiled ARIO step loop (numba): the same arithmetic as the numpy path of
:func:`chokepoint.economy.ario.run_ario`, fused into a few passes over slots and flows.

One call (:func:`ario_block`) runs every step of one block of draws. Per step: one pass over
industries (demand, overproduction, capacity, stock limit, production), one fused pass over
the non-zero flows by slot (inputs received, supplier capacity shares, stocks, the next
step's stock limit and orders) and one over flows by customer (orders received). Nothing is
allocated inside the step loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CLOSE_RTOL = 1e-5
CLOSE_ATOL = 1e-8


# ------------------------------------------------------------------ blocks of draws
#
# The same step with the draws of a block as the innermost (contiguous) dimension: state is
# ``[industry, draw]`` and ``[slot, draw]``, so each pass reads the table's structure (the
# sparse indices and flows) once for the whole block and runs the draws as one vector
# operation: a sparse matrix times an ``(n x block)`` matrix instead of ``block`` matrix-vector
# products. The slot pass is fused: stocks, the stock limit of the next step and the orders
# are computed in one sweep, assuming BoARIO's two tolerance shortcuts do not fire; a draw
# where one does is redone by :func:`_block_fixup` (a steady state: a few steps per run).
# Slot state (stocks, orders, supplier shares) may be float32: every sum runs in float64.


@njit(cache=True, nogil=True)
def _block_industries(  # noqa: PLR0913
    step,
    output,
    final_demand,
    slot_start,
    alpha_base,
    alpha_max,
    tau_alpha,
    alternative,
    delta,
    intermediate,
    least,
    alpha,
    production,
    optimal,
    ratio_old,
    ratio_new,
    weighted,
    unmet_out,
    shortage_out,
):
    n, block = intermediate.shape
    for i in range(n):
        has_slots = slot_start[i + 1] > slot_start[i]
        for d in range(block):
            demand = intermediate[i, d] + final_demand[i]
            if step > 1:
                scarcity = (demand - production[i, d]) / demand if demand != 0.0 else 0.0
                met = 1.0 if scarcity == 0.0 else 0.0
                a = alpha[i, d]
                a += (alpha_max - a) * scarcity * tau_alpha + (alpha_base - a) * met * tau_alpha
                alpha[i, d] = a if a >= 1.0 else 1.0
            capacity = output[i] * (1.0 - delta[i, d]) * alpha[i, d]
            best = demand if demand < capacity else capacity
            factor = 1.0
            if has_slots and best != 0.0:
                limit = least[i, d] / best
                if limit < 1.0:
                    factor = limit
                    shortage_out[i, d] += 1
            optimal[i, d] = best
            made = best * factor
            production[i, d] = made
            fill = made / demand if demand != 0.0 else 0.0
            unmet_out[i, d] += final_demand[i] * (1.0 - fill)
            weighted[i, d] = ratio_old[i, d] * fill
            if alternative and output[i] != 0.0:
                ratio_new[i, d] = capacity / output[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _block_slots(  # noqa: PLR0913, PLR0915
    supply_indptr,
    supply_indices,
    supply_data,
    slots,
    alternative,
    tolerances,
    check_targets,
    weighted,
    ratio_new,
    state,
):
    """The fused pass over slots (see above); ``slots`` and ``state`` as in
    :func:`_block_fixup`."""
    slot_industry, technical, cover_scale, cover_offset = slots[:4]
    goal_coefficient, restoration_rate, finite, initial_share_total = slots[4:]
    production, optimal, stock_old, stock_new, share_orders, share_total, least = state[:7]
    moving, close = state[7:]
    n_slots, block = stock_old.shape
    received = np.empty(block)
    offered = np.empty(block)
    stirred = np.full(block, -np.inf)  # largest stock change beyond BoARIO's tolerance
    apart = np.full(block, -np.inf)  # largest gap to the target stock beyond it
    current = -1
    for k in range(n_slots):
        i = slot_industry[k]
        made = production[i]
        best = optimal[i]
        low = least[i]
        if i != current:
            current = i
            low[:] = np.inf
        received[:] = 0.0
        offered[:] = 0.0
        for e in range(supply_indptr[k], supply_indptr[k + 1]):
            a = supply_data[e]
            w = weighted[supply_indices[e]]
            for d in range(block):
                received[d] += a * w[d]
            if alternative:
                r = ratio_new[supply_indices[e]]
                for d in range(block):
                    offered[d] += a * r[d]
        totals = share_total[k]
        if alternative:
            for d in range(block):
                totals[d] = offered[d]
        tech = technical[k]
        goal = goal_coefficient[k]
        rate = restoration_rate[k]
        scale = cover_scale[k]
        offset = cover_offset[k]
        orders = share_orders[k]
        old = stock_old[k]
        new = stock_new[k]
        for d in range(block):
            use = made[d] * tech
            change = received[d] * orders[d] - use
            excess = abs(change) - CLOSE_RTOL * use
            stirred[d] = excess if excess > stirred[d] else stirred[d]
            new[d] = old[d] + change
        for d in range(block):
            level = float(new[d])
            target = best[d] * goal
            gap = target - level
            if finite[k]:
                excess = abs(gap) - CLOSE_RTOL * target
                apart[d] = excess if excess > apart[d] else apart[d]
            total = float(totals[d]) if alternative else initial_share_total[k]
            wanted = (gap if gap > 0.0 else 0.0) * rate + made[d] * tech
            orders[d] = wanted / total if total != 0.0 else 0.0
            cover = level * scale + offset
            low[d] = cover if cover < low[d] else low[d]
    for d in range(block):
        moving[d] = not tolerances or stirred[d] > CLOSE_ATOL
        close[d] = check_targets and not apart[d] > CLOSE_ATOL


@njit(cache=True, nogil=True, error_model="numpy")
def _block_fixup(slots, alternative, check_targets, state):  # noqa: PLR0912
    """Redo the draws of the slot pass where a tolerance shortcut fired: stocks that did
    not move keep their old level (and BoARIO's target check is made on it); orders
    without a gap to close are use only.

    ``slots`` is the model's ``(slot_industry, technical, cover_scale, cover_offset,
    goal_coefficient, restoration_rate, finite, initial_share_total)``; ``state`` the step's
    ``(production, optimal, stock_old, stock_new, share_orders, share_total, least, moving,
    close)``."""
    slot_industry, technical, cover_scale, cover_offset = slots[:4]
    goal_coefficient, restoration_rate, finite, initial_share_total = slots[4:]
    production, optimal, stock_old, stock_new, share_orders, share_total, least = state[:7]
    moving, close = state[7:]
    n_slots, block = stock_old.shape
    stay = ~moving
    if stay.any():
        apart = np.full(block, -np.inf)
        current = -1
        for k in range(n_slots):
            i = slot_industry[k]
            if i != current:
                current = i
                for d in range(block):
                    if stay[d]:
                        least[i, d] = np.inf
            for d in range(block):
                if stay[d]:
                    stock_new[k, d] = stock_old[k, d]
                    level = float(stock_new[k, d])
                    target = optimal[i, d] * goal_coefficient[k]
                    if finite[k]:
                        excess = abs(target - level) - CLOSE_RTOL * target
                        apart[d] = excess if excess > apart[d] else apart[d]
                    cover = level * cover_scale[k] + cover_offset[k]
                    least[i, d] = cover if cover < least[i, d] else least[i, d]
        for d in range(block):
            if stay[d]:
                close[d] = check_targets and not apart[d] > CLOSE_ATOL
    redo = stay | close
    for k in range(n_slots):
        i = slot_industry[k]
        for d in range(block):
            if redo[d]:
                total = float(share_total[k, d]) if alternative else initial_share_total[k]
                use = production[i, d] * technical[k]
                gap = optimal[i, d] * goal_coefficient[k] - float(stock_new[k, d])
                if close[d] or gap < 0.0:
                    gap = 0.0
                orders = gap * restoration_rate[k] + use
                share_orders[k, d] = orders / total if total != 0.0 else 0.0


@njit(cache=True, nogil=True)
def _block_orders_received(
    transposed_indptr,
    transposed_indices,
    transposed_data,
    share_orders,
    ratio_new,
    intermediate,
):
    n, block = intermediate.shape
    total = np.empty(block)
    for i in range(n):
        for d in range(block):
            total[d] = 0.0
        for e in range(transposed_indptr[i], transposed_indptr[i + 1]):
            k = transposed_indices[e]
            a = transposed_data[e]
            for d in range(block):
                total[d] += a * share_orders[k, d]
        for d in range(block):
            intermediate[i, d] = ratio_new[i, d] * total[d]


@njit(cache=True, nogil=True)
def ario_block(  # noqa: PLR0913, PLR0915 - one flat signature keeps numba's typing simple
    steps,
    output,
    final_demand,
    value_added_share,
    supply_indptr,
    supply_indices,
    supply_data,
    transposed_indptr,
    transposed_indices,
    transposed_data,
    slot_start,
    slots,
    initial_stock,
    loss_rows,
    loss_values,
    alpha_base,
    alpha_max,
    tau_alpha,
    alternative,
    tolerances,
    check_targets,
    group_of,
    keep_production,
    stock_a,
    stock_b,
    share_orders,
    share_total,
    production_out,
    grouped_out,
    va_loss_out,
    unmet_out,
    shortage_out,
):
    """Every step of one block of draws; ``stock_a``, ``stock_b``, ``share_orders`` and
    ``share_total`` are ``[slot, draw]`` work arrays (their dtype is the slot precision);
    ``loss_values`` is ``[step, draw, row]`` with one draw or one per draw of the block;
    ``slots`` the slots' arrays as :func:`_block_fixup` takes them."""
    slot_industry, cover_scale, cover_offset, initial_share_total = (
        slots[0], slots[2], slots[3], slots[7]
    )  # fmt: skip
    n = output.shape[0]
    n_slots, block = stock_a.shape
    loss_steps = loss_values.shape[0]
    shared_loss = loss_values.shape[1] == 1
    alpha = np.full((n, block), alpha_base)
    production = np.empty((n, block))
    optimal = np.empty((n, block))
    delta = np.zeros((n, block))
    ratio_old = np.ones((n, block))
    ratio_new = np.ones((n, block))
    weighted = np.empty((n, block))
    intermediate = np.empty((n, block))
    least = np.full((n, block), np.inf)
    moving = np.zeros(block, dtype=np.bool_)
    close = np.zeros(block, dtype=np.bool_)
    for i in range(n):
        for d in range(block):
            production[i, d] = output[i]
    for k in range(n_slots):
        i = slot_industry[k]
        cover = initial_stock[k] * cover_scale[k] + cover_offset[k]
        for d in range(block):
            stock_a[k, d] = initial_stock[k]
            share_orders[k, d] = 1.0
            share_total[k, d] = initial_share_total[k]
            if cover < least[i, d]:
                least[i, d] = cover
    _block_orders_received(
        transposed_indptr, transposed_indices, transposed_data, share_orders, ratio_new,
        intermediate,
    )  # fmt: skip
    old, new = stock_a, stock_b
    for step in range(steps):
        for r in range(loss_rows.shape[0]):
            for d in range(block):
                source = 0 if shared_loss else d
                delta[loss_rows[r], d] = loss_values[step, source, r] if step < loss_steps else 0.0
        _block_industries(
            step, output, final_demand, slot_start, alpha_base, alpha_max, tau_alpha,
            alternative, delta, intermediate, least, alpha, production, optimal, ratio_old,
            ratio_new, weighted, unmet_out, shortage_out,
        )  # fmt: skip
        state = (production, optimal, old, new, share_orders, share_total, least, moving, close)
        _block_slots(
            supply_indptr, supply_indices, supply_data, slots, alternative, tolerances,
            check_targets, weighted, ratio_new, state,
        )  # fmt: skip
        if not moving.all() or close.any():
            _block_fixup(slots, alternative, check_targets, state)
        old, new = new, old
        _block_orders_received(
            transposed_indptr, transposed_indices, transposed_data, share_orders, ratio_new,
            intermediate,
        )  # fmt: skip
        for i in range(n):
            group = group_of[i]
            for d in range(block):
                ratio_old[i, d] = ratio_new[i, d]
                lost = value_added_share[i] * (output[i] - production[i, d])
                va_loss_out[i, d] += lost
                if group >= 0:
                    grouped_out[step, group, d] += lost
                if keep_production:
                    production_out[step, i, d] = production[i, d]
