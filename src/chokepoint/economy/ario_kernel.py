"""The compiled ARIO step loop (numba): the same arithmetic as the numpy path of
:func:`chokepoint.economy.ario.run_ario`, fused into a few passes over slots and flows.

One call runs every step of every draw. Per step and draw: one pass over industries
(demand, overproduction, capacity, stock limit, production), one pass over the non-zero
flows by slot (inputs received, supplier capacity shares; stocks), one over slots (orders)
and one over flows by customer (orders received). Nothing is allocated inside the loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CLOSE_RTOL = 1e-5
CLOSE_ATOL = 1e-8


@njit(cache=True, nogil=True)
def ario_steps(  # noqa: PLR0913, PLR0915 - one flat signature keeps numba's typing simple
    steps,
    draws,
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
    slot_industry,
    technical,
    cover_scale,
    cover_offset,
    goal_coefficient,
    restoration_rate,
    finite,
    initial_stock,
    initial_share_total,
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
    production_out,
    grouped_out,
    va_loss_out,
    unmet_out,
    shortage_out,
):
    n = output.shape[0]
    n_slots = technical.shape[0]
    loss_steps = loss_values.shape[0]
    loss_draws = loss_values.shape[1]
    alpha = np.empty(n)
    production = np.empty(n)
    delta = np.zeros(n)
    ratio_old = np.empty(n)
    ratio_new = np.empty(n)
    weighted = np.empty(n)
    optimal = np.empty(n)
    intermediate = np.empty(n)
    stock = np.empty(n_slots)
    share_orders = np.empty(n_slots)
    share_total = np.empty(n_slots)
    used = np.empty(n_slots)
    change = np.empty(n_slots)
    for draw in range(draws):
        source = draw if loss_draws > 1 else 0
        for i in range(n):
            alpha[i] = alpha_base
            production[i] = output[i]
            delta[i] = 0.0
            ratio_old[i] = 1.0
            ratio_new[i] = 1.0
        for k in range(n_slots):
            stock[k] = initial_stock[k]
            share_orders[k] = 1.0
            share_total[k] = initial_share_total[k]
        for i in range(n):
            total = 0.0
            for e in range(transposed_indptr[i], transposed_indptr[i + 1]):
                total += transposed_data[e] * share_orders[transposed_indices[e]]
            intermediate[i] = total
        for step in range(steps):
            for r in range(loss_rows.shape[0]):
                delta[loss_rows[r]] = loss_values[step, source, r] if step < loss_steps else 0.0
            # industries: demand, overproduction, capacity, stock limit, production
            for i in range(n):
                demand = intermediate[i] + final_demand[i]
                if step > 1:
                    scarcity = (demand - production[i]) / demand if demand != 0.0 else 0.0
                    met = 1.0 if scarcity == 0.0 else 0.0
                    alpha[i] += (alpha_max - alpha[i]) * scarcity * tau_alpha + (
                        alpha_base - alpha[i]
                    ) * met * tau_alpha
                    if alpha[i] < 1.0:
                        alpha[i] = 1.0
                capacity = output[i] * (1.0 - delta[i]) * alpha[i]
                best = demand if demand < capacity else capacity
                factor = 1.0
                if slot_start[i + 1] > slot_start[i] and best != 0.0:
                    least = np.inf
                    for k in range(slot_start[i], slot_start[i + 1]):
                        cover = stock[k] * cover_scale[k] + cover_offset[k]
                        if cover < least:
                            least = cover
                    limit = least / best
                    if limit < 1.0:
                        factor = limit
                        shortage_out[i, draw] += 1
                optimal[i] = best
                production[i] = best * factor
                fill = production[i] / demand if demand != 0.0 else 0.0
                unmet_out[i, draw] += final_demand[i] * (1.0 - fill)
                weighted[i] = ratio_old[i] * fill
                if alternative and output[i] != 0.0:
                    ratio_new[i] = capacity / output[i]
            # slots: inputs received (rationed in proportion to orders) against inputs used
            moving = not tolerances
            for k in range(n_slots):
                received = 0.0
                offered = 0.0
                for e in range(supply_indptr[k], supply_indptr[k + 1]):
                    received += supply_data[e] * weighted[supply_indices[e]]
                    if alternative:
                        offered += supply_data[e] * ratio_new[supply_indices[e]]
                if alternative:
                    share_total[k] = offered
                use = production[slot_industry[k]] * technical[k]
                used[k] = use
                change[k] = received * share_orders[k] - use
                if not moving and abs(change[k]) - CLOSE_RTOL * use > CLOSE_ATOL:
                    moving = True
            if moving:
                for k in range(n_slots):
                    stock[k] += change[k]
            # slots: orders for the next step
            close = check_targets
            for k in range(n_slots):
                target = optimal[slot_industry[k]] * goal_coefficient[k]
                change[k] = target - stock[k]
                if close and finite[k] and abs(change[k]) - CLOSE_RTOL * target > CLOSE_ATOL:
                    close = False
            for k in range(n_slots):
                gap = 0.0 if close or change[k] < 0.0 else change[k]
                orders = gap * restoration_rate[k] + used[k]
                share_orders[k] = orders / share_total[k] if share_total[k] != 0.0 else 0.0
            # industries: orders received; value added lost
            for i in range(n):
                total = 0.0
                for e in range(transposed_indptr[i], transposed_indptr[i + 1]):
                    total += transposed_data[e] * share_orders[transposed_indices[e]]
                intermediate[i] = ratio_new[i] * total
                ratio_old[i] = ratio_new[i]
                lost = value_added_share[i] * (output[i] - production[i])
                va_loss_out[i, draw] += lost
                if group_of[i] >= 0:
                    grouped_out[step, group_of[i], draw] += lost
                if keep_production:
                    production_out[step, i, draw] = production[i]
