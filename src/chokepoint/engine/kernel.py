"""The compiled daily kernel of the shortage engine (numba).

One function, :func:`simulate_block`, runs every day for a block of draws ``[r0, r1)``. State
is ``[row, draw]`` with draws innermost, so every inner loop runs over contiguous memory;
nothing is allocated inside the day loop. :mod:`chokepoint.engine.runner` builds the index arrays
(CSR lists) once per model and calls this on two threads (it releases the GIL).

The rules are those of ``docs/scenarios.md`` ("The engine, day by day"); the test suite
checks this kernel against a plain numpy implementation of the same rules
(``tests/reference_engine.py``), against analytic cases and against mass balance.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from chokepoint.engine.bundles import Lanes

TINY = 1e-12


@njit(inline="always")
def _into_ring(lane, by_sea, by_air, i, air, amounts, nr):
    """Add ``amounts[draw]`` (the first ``nr`` draws) to the ring ``lane[day, draw]``: the
    flown share (``air[i]``, when ``i`` >= 0) on day ``by_air``, the rest on ``by_sea``."""
    if i < 0:
        for r in range(nr):
            lane[by_sea, r] += amounts[r]
        return
    for r in range(nr):
        flown = amounts[r] * air[i, r]
        lane[by_air, r] += flown
        lane[by_sea, r] += amounts[r] - flown


@njit(inline="always")
def _send(t, link, nr, amounts, stock, lanes):
    """Ship ``amounts[draw]`` on ``link`` on day ``t``: into the customer's stock at once,
    or, on a link with a transit time, into the customer's ring of arrival days (the share
    flown after the flight's).

    ``lanes`` is the :class:`~chokepoint.engine.bundles.Lanes` of the block: the holders'
    rings ``spipe`` and running totals ``slot_pipe`` (``peak``, the most a holder has had
    under way, is the scale of its mass-balance check); with ``keep`` only, each link's own
    ring and total (``pipe``, ``in_transit``; empty otherwise); and the rings, totals and
    peaks of the trade groups the link belongs to, for the first ``gpipe.shape[2]`` draws.
    Goods under way are thus held per holder, not per link, unless the run keeps every row:
    memory grows with holders × ring, not links × ring."""
    link_slot, transit_pos, transit = lanes.link_slot, lanes.transit_pos, lanes.transit
    air_pos, air_days, air = lanes.air_pos, lanes.air_days, lanes.air
    slot_tpos, spipe, slot_pipe, peak = lanes.slot_tpos, lanes.spipe, lanes.slot_pipe, lanes.peak
    pipe, in_transit = lanes.pipe, lanes.in_transit
    tlink_ptr, tlink_groups = lanes.tlink_ptr, lanes.tlink_groups
    gpipe, g_transit, g_peak = lanes.gpipe, lanes.g_transit, lanes.g_peak
    s = link_slot[link]
    pos = transit_pos[link]
    if pos < 0:
        for r in range(nr):
            stock[s, r] += amounts[r]
        return
    ring = spipe.shape[1]
    by_sea = (t + transit[link]) % ring
    i = air_pos[link]
    by_air = (t + air_days[link]) % ring if i >= 0 else by_sea
    k = slot_tpos[s]
    _into_ring(spipe[k], by_sea, by_air, i, air, amounts, nr)
    for r in range(nr):
        slot_pipe[s, r] += amounts[r]
        peak[k, r] = max(peak[k, r], slot_pipe[s, r])
    if pipe.shape[0] > 0:
        _into_ring(pipe[pos], by_sea, by_air, i, air, amounts, nr)
        for r in range(nr):
            in_transit[pos, r] += amounts[r]
    n_g = gpipe.shape[2]
    for q in range(tlink_ptr[link], tlink_ptr[link + 1]):
        g = tlink_groups[q]
        _into_ring(gpipe[g], by_sea, by_air, i, air, amounts, n_g)
        for r in range(n_g):
            g_transit[g, r] += amounts[r]
            g_peak[g, r] = max(g_peak[g, r], g_transit[g, r])


@njit(inline="always")
def _by_supplier(nr, suppliers, links, values, row, out):
    """``out[p]``: the sum of ``values[row[a]]`` over the links ``a`` of ``alts[alt_lo:alt_hi]``
    whose supplier is ``p``, for the suppliers ``sups[sup_lo:sup_hi]`` (zeroed first);
    ``suppliers`` is ``(sups, sup_lo, sup_hi)``, ``links`` ``(alts, alt_lo, alt_hi,
    link_supplier)``."""
    sups, sup_lo, sup_hi = suppliers
    alts, alt_lo, alt_hi, link_supplier = links
    for k in range(sup_lo, sup_hi):
        p = sups[k]
        for r in range(nr):
            out[p, r] = 0.0
    for k in range(alt_lo, alt_hi):
        a = alts[k]
        p = link_supplier[a]
        for r in range(nr):
            out[p, r] += values[row[a], r]


@njit(inline="always")
def _draw_inputs(p, nr, prod_slot_ptr, prod_slot_idx, coef, made, stock, used):
    """Producer ``p`` uses its inputs for ``made[p]``: out of its input stocks, into ``used``."""
    for q in range(prod_slot_ptr[p], prod_slot_ptr[p + 1]):
        s = prod_slot_idx[q]
        for r in range(nr):
            take = coef[s, r] * made[p, r]
            stock[s, r] -= take
            used[s, r] += take


@njit(inline="always")
def _record_sums(t, r0, nr, ptr, members, values, out, acc):
    """``out[t, g, r0 + r]``: the sum of ``values[m, r]`` over the members ``m`` of each group
    ``g`` (CSR ``ptr``/``members``), for the first ``nr`` draws; ``acc`` is scratch."""
    for g in range(ptr.shape[0] - 1):
        for r in range(nr):
            acc[r] = 0.0
        for q in range(ptr[g], ptr[g + 1]):
            m = members[q]
            for r in range(nr):
                acc[r] += values[m, r]
        for r in range(nr):
            out[t, g, r0 + r] = acc[r]


@njit(cache=True, nogil=True)
def _serve_alternatives(
    t, r0, nr, level, net, link_ready, day, pos, flows, scratch, trigger, lanes
):
    """Move unmet orders of one level's holders to qualified alternative suppliers.

    ``net`` is the :class:`~chokepoint.engine.bundles.KernelNetwork`; ``day`` is the day's
    ``(cap, gate, quota, coef)``, ``pos`` the links' rows ``(gate_pos, quota_pos, alt_pos)``,
    ``flows`` the day's ``(order, link_order, shipped, made, used, stock)`` and ``scratch``
    the alternatives' ``(alt_req, alt_made, short_since, gap, request, asked, extra)``."""
    level_slots_lo, level_slots_hi = net.level_slot_ptr[level], net.level_slot_ptr[level + 1]
    alt_lo, alt_hi = net.level_alt_ptr[level], net.level_alt_ptr[level + 1]
    sup_lo, sup_hi = net.level_sup_ptr[level], net.level_sup_ptr[level + 1]
    level_slots, alt_links, alt_suppliers = net.level_slots, net.level_alts, net.level_sups
    slot_in_ptr, slot_in_idx = net.slot_in_ptr, net.slot_in_idx
    slot_alt_ptr, slot_alt_idx = net.slot_alt_ptr, net.slot_alt_idx
    link_supplier, link_qual, link_data_alt = net.link_supplier, net.link_qual, net.link_data_alt
    prod_slot_ptr, prod_slot_idx = net.prod_slot_ptr, net.prod_slot_idx
    cap, gate, quota, slot_coef_day = day
    gate_pos, quota_pos, alt_pos = pos
    order, link_order, shipped, made, used, stock = flows
    alt_req, alt_made, short_since, gap, request, asked, extra = scratch
    # shortfall of every holder that has alternatives, and the day it first ran short
    if alt_hi == alt_lo:
        return
    for k in range(level_slots_lo, level_slots_hi):
        s = level_slots[k]
        if slot_alt_ptr[s] == slot_alt_ptr[s + 1]:
            continue
        for r in range(nr):
            gap[s, r] = 0.0
        for q in range(slot_in_ptr[s], slot_in_ptr[s + 1]):
            link = slot_in_idx[q]
            for r in range(nr):
                gap[s, r] += link_order[link, r] - shipped[link, r]
        for r in range(nr):
            if gap[s, r] > trigger * max(order[s, r], TINY) and np.isinf(short_since[s, r]):
                short_since[s, r] = t
    # requests, split over qualified alternatives by capacity
    for k in range(level_slots_lo, level_slots_hi):
        s = level_slots[k]
        first, last = slot_alt_ptr[s], slot_alt_ptr[s + 1]
        if first == last:
            continue
        for r in range(nr):
            total = 0.0
            for q in range(first, last):
                a = slot_alt_idx[q]
                ready = link_ready[a, r0 + r]
                if link_data_alt[a]:
                    ready = min(ready, short_since[s, r] + link_qual[a])
                if t >= ready:
                    total += cap[link_supplier[a], r]
            for q in range(first, last):
                a = slot_alt_idx[q]
                ready = link_ready[a, r0 + r]
                if link_data_alt[a]:
                    ready = min(ready, short_since[s, r] + link_qual[a])
                want = 0.0
                if t >= ready and total > 0.0:
                    want = gap[s, r] * cap[link_supplier[a], r] / max(total, TINY)
                g = gate[gate_pos[a], r] if gate_pos[a] >= 0 else 1.0
                cap_q = quota[quota_pos[a], r] if quota_pos[a] >= 0 else np.inf
                request[alt_pos[a], r] = min(g * want, cap_q)
    # suppliers ration what they can spare
    sups, alts = (alt_suppliers, sup_lo, sup_hi), (alt_links, alt_lo, alt_hi, link_supplier)
    _by_supplier(nr, sups, alts, request, alt_pos, asked)
    for k in range(sup_lo, sup_hi):
        p = alt_suppliers[k]
        for r in range(nr):
            limit = np.inf
            for q in range(prod_slot_ptr[p], prod_slot_ptr[p + 1]):
                s = prod_slot_idx[q]
                if slot_coef_day[s, r] > TINY:
                    limit = min(limit, stock[s, r] / slot_coef_day[s, r])
            spare = max(min(cap[p, r] - made[p, r], max(limit, 0.0)), 0.0)
            # reuse ``extra`` as the scale until deliveries are summed below
            extra[p, r] = min(1.0, spare / max(asked[p, r], TINY))
    for k in range(alt_lo, alt_hi):
        a = alt_links[k]
        p = link_supplier[a]
        for r in range(nr):
            delivered = request[alt_pos[a], r] * extra[p, r]
            request[alt_pos[a], r] = delivered
            shipped[a, r] += delivered
        _send(t, a, nr, request[alt_pos[a]], stock, lanes)
    _by_supplier(nr, sups, alts, request, alt_pos, extra)
    for k in range(sup_lo, sup_hi):
        p = alt_suppliers[k]
        for r in range(nr):
            alt_req[p, r] += asked[p, r]
            alt_made[p, r] += extra[p, r]
            made[p, r] += extra[p, r]
        _draw_inputs(p, nr, prod_slot_ptr, prod_slot_idx, slot_coef_day, extra, stock, used)


@njit(cache=True, nogil=True)
def simulate_block(horizon, r0, r1, settings, net, inputs, rec):
    """Simulate ``horizon`` days for draws ``r0 .. r1 - 1``, writing the recorded outputs.

    ``settings``, ``net``, ``inputs`` and ``rec`` are the bundles of
    :mod:`chokepoint.engine.bundles`."""
    # the bundles' fields by name (free in compiled code)
    tau = settings.tau
    trigger = settings.trigger
    keep = settings.keep
    threshold = settings.threshold
    capacity = net.capacity
    external = net.external
    output = net.output
    level_ptr = net.level_ptr
    level_producers = net.level_producers
    prod_slot_ptr = net.prod_slot_ptr
    prod_slot_idx = net.prod_slot_idx
    prod_out_ptr = net.prod_out_ptr
    prod_out_idx = net.prod_out_idx
    slot_producer = net.slot_producer
    slot_coef = net.slot_coef
    slot_use = net.slot_use
    slot_target = net.slot_target
    slot_unknown = net.slot_unknown
    slot_stock = net.slot_stock
    demand_slots = net.demand_slots
    level_alts = net.level_alts
    link_supplier = net.link_supplier
    link_slot = net.link_slot
    link_share = net.link_share
    link_flow = net.link_flow
    transit = net.link_transit
    transit_pos = net.transit_pos
    transit_links = net.transit_links
    transit_slots = net.transit_slots
    slot_tpos = net.slot_tpos
    slot_lead = net.slot_lead
    storage = net.storage
    ring = settings.ring
    link_ready = inputs.link_ready
    cap_rows = inputs.cap_rows
    cap_pat = inputs.cap_pat
    cap_vals = inputs.cap_vals
    gate_rows = inputs.gate_rows
    gate_pat = inputs.gate_pat
    gate_vals = inputs.gate_vals
    quota_rows = inputs.quota_rows
    quota_pat = inputs.quota_pat
    quota_vals = inputs.quota_vals
    demand_rows = inputs.demand_rows
    demand_pat = inputs.demand_pat
    demand_vals = inputs.demand_vals
    coef_rows = inputs.coef_rows
    coef_pat = inputs.coef_pat
    coef_vals = inputs.coef_vals
    scrap_rows = inputs.scrap_rows
    scrap_pat = inputs.scrap_pat
    scrap_vals = inputs.scrap_vals
    reserve_rows = inputs.reserve_rows
    reserve_pat = inputs.reserve_pat
    reserve_vals = inputs.reserve_vals
    reserve_now = inputs.reserve_now
    air_rows = inputs.air_rows
    air_pat = inputs.air_pat
    air_vals = inputs.air_vals
    air_days = inputs.air_days
    group_ptr = rec.group_ptr
    group_producers = rec.group_producers
    group_dptr = rec.group_dptr
    group_demands = rec.group_demands
    group_out = rec.group_out
    sgroup_ptr = rec.sgroup_ptr
    sgroup_slots = rec.sgroup_slots
    sgroup_out = rec.sgroup_out
    balance_out = rec.balance_out
    production_out = rec.production_out
    delivered_out = rec.delivered_out
    unmet_out = rec.unmet_out
    stock_out = rec.stock_out
    gate_out = rec.gate_out
    gap_out = rec.gap_out
    stopped_out = rec.stopped_out
    tgroup_ptr = rec.tgroup_ptr
    tgroup_links = rec.tgroup_links
    tlink_ptr = rec.tlink_ptr
    tlink_groups = rec.tlink_groups
    tgroup_out = rec.tgroup_out
    shipped_out = rec.shipped_out
    tgroup_transit_out = rec.tgroup_transit_out
    transit_out = rec.transit_out
    ostock_out = rec.ostock_out
    egroup_ptr = rec.egroup_ptr
    egroup_producers = rec.egroup_producers
    egroup_out = rec.egroup_out
    nr = r1 - r0
    # trade and exporter groups are recorded for the first ``flow_draws`` draws only
    flow_nr = max(min(nr, tgroup_out.shape[2] - r0), 0) if settings.flows else 0
    n_p = capacity.shape[0]
    n_s = slot_coef.shape[0]
    n_l = link_supplier.shape[0]
    n_d = demand_slots.shape[0]
    n_levels = level_ptr.shape[0] - 1
    scale = max(1.0, np.max(slot_use) if n_s else 1.0, np.max(output) if n_p else 1.0)

    stock = np.empty((n_s, nr))
    for s in range(n_s):
        for r in range(nr):
            stock[s, r] = slot_stock[s]
    reserve = np.zeros((reserve_rows.shape[0], nr))
    orders_prev = np.empty((n_p, nr))
    for p in range(n_p):
        for r in range(nr):
            orders_prev[p, r] = output[p]
    short_since = np.full((n_s, nr), np.inf)
    cap = np.empty((n_p, nr))
    # gates and quotas only for the links an event touches; *_pos maps a link to its row
    gate = np.ones((gate_rows.shape[0], nr))
    quota = np.full((quota_rows.shape[0], nr), np.inf)
    gate_pos = np.full(n_l, -1, np.int64)
    quota_pos = np.full(n_l, -1, np.int64)
    for i in range(gate_rows.shape[0]):
        gate_pos[gate_rows[i]] = i
    for i in range(quota_rows.shape[0]):
        quota_pos[quota_rows[i]] = i
    alt_pos = np.full(n_l, -1, np.int64)  # alternative links, in level order
    for k in range(level_alts.shape[0]):
        alt_pos[level_alts[k]] = k
    coef = np.empty((n_s, nr))
    demand = np.empty((n_d, nr))
    scrap = np.empty((n_s, nr))
    start = np.empty((n_s, nr))
    received = np.empty((n_s, nr))
    used = np.empty((n_s, nr))
    order = np.empty((n_s, nr))
    link_order = np.empty((n_l, nr))
    effective = np.empty((n_l, nr))
    shipped = np.empty((n_l, nr))
    orders = np.empty((n_p, nr))
    made = np.empty((n_p, nr))
    # what a producer could not ship: its blocked orders, its stock of output, the share of
    # its (allowed) orders it ships, what it means to make, what it sold outside the network
    blocked = np.empty((n_p, nr))
    ostock = np.zeros((n_p, nr))
    ostart = np.empty((n_p, nr))
    sent = np.empty((n_p, nr))
    planned = np.empty((n_p, nr))
    sold = np.empty((n_p, nr))
    alt_req = np.empty((n_p, nr))
    alt_made = np.empty((n_p, nr))
    gap = np.zeros((n_s, nr))
    delivered_now = np.zeros((n_d, nr))
    unmet_now = np.zeros((n_d, nr))
    request = np.zeros((level_alts.shape[0], nr))
    asked = np.zeros((n_p, nr))
    extra = np.zeros((n_p, nr))
    # goods in transit: a ring of arrival days per holder a transit link delivers to (and,
    # with ``keep``, per transit link; per trade group for the flow draws), filled at
    # baseline flow
    n_t = transit_links.shape[0]
    n_ts = transit_slots.shape[0]
    spipe = np.zeros((n_ts, ring, nr))
    slot_pipe = np.zeros((n_s, nr))
    n_kept = n_t if keep else 0
    kept_nr = nr if keep else 0
    pipe = np.zeros((n_kept, ring, nr))
    in_transit = np.zeros((n_kept, nr))
    gpipe = np.zeros((tgroup_ptr.shape[0] - 1, ring, flow_nr))
    g_transit = np.zeros((tgroup_ptr.shape[0] - 1, flow_nr))
    for i in range(n_t):
        link = transit_links[i]
        s = link_slot[link]
        flow = link_share[link] * slot_use[s]
        days = transit[link]
        k = slot_tpos[s]
        for d in range(days):
            for r in range(nr):
                spipe[k, d % ring, r] += flow
            for r in range(kept_nr):
                pipe[i, d % ring, r] += flow
        for r in range(nr):
            slot_pipe[s, r] += flow * days
        for r in range(kept_nr):
            in_transit[i, r] = flow * days
        for q in range(tlink_ptr[link], tlink_ptr[link + 1]):
            g = tlink_groups[q]
            for d in range(days):
                for r in range(flow_nr):
                    gpipe[g, d % ring, r] += flow
            for r in range(flow_nr):
                g_transit[g, r] += flow * days
    peak = np.zeros((n_ts, nr))
    for k in range(n_ts):
        for r in range(nr):
            peak[k, r] = slot_pipe[transit_slots[k], r]
    g_peak = g_transit.copy()  # the most a trade group has had under way
    air = np.zeros((air_rows.shape[0], nr))
    air_pos = np.full(n_l, -1, np.int64)
    for i in range(air_rows.shape[0]):
        air_pos[air_rows[i]] = i
    ring_sum = np.zeros(nr)
    ring_worst = np.zeros(nr)
    sum_out = np.zeros(nr)  # per-draw sums of the recording
    sum_short = np.zeros(nr)
    sum_stopped = np.zeros(nr)
    lanes = Lanes(
        link_slot,
        transit_pos,
        transit,
        air_pos,
        air_days,
        air,
        slot_tpos,
        spipe,
        slot_pipe,
        peak,
        pipe,
        in_transit,
        tlink_ptr,
        tlink_groups,
        gpipe,
        g_transit,
        g_peak,
    )
    w_air = air_vals.shape[2] > 1
    # the arrays the alternatives step reads and writes (filled in place every day)
    day = (cap, gate, quota, coef)
    pos = (gate_pos, quota_pos, alt_pos)
    flows = (order, link_order, shipped, made, used, stock)
    scratch = (alt_req, alt_made, short_since, gap, request, asked, extra)
    is_demand = np.zeros(n_s, np.int64) - 1
    for j in range(n_d):
        is_demand[demand_slots[j]] = j

    # inputs no event touches keep their base values: set them once, rewrite only the rows
    # an event touches, every day
    for p in range(n_p):
        for r in range(nr):
            cap[p, r] = capacity[p]
    for s in range(n_s):
        for r in range(nr):
            coef[s, r] = slot_coef[s]
            scrap[s, r] = 0.0
    for j in range(n_d):
        for r in range(nr):
            demand[j, r] = slot_use[demand_slots[j]]
    w_cap, w_gate, w_quota = cap_vals.shape[2] > 1, gate_vals.shape[2] > 1, quota_vals.shape[2] > 1
    w_coef, w_scrap = coef_vals.shape[2] > 1, scrap_vals.shape[2] > 1
    w_demand, w_reserve = demand_vals.shape[2] > 1, reserve_vals.shape[2] > 1

    for t in range(horizon):
        # 1. exogenous inputs of the day
        for i in range(cap_rows.shape[0]):
            p, k = cap_rows[i], cap_pat[i]
            for r in range(nr):
                cap[p, r] = capacity[p] * cap_vals[t, k, r0 + r if w_cap else 0]
        for i in range(gate_rows.shape[0]):
            k = gate_pat[i]
            for r in range(nr):
                gate[i, r] = gate_vals[t, k, r0 + r if w_gate else 0]
        for i in range(quota_rows.shape[0]):
            link, k = quota_rows[i], quota_pat[i]
            for r in range(nr):
                share = quota_vals[t, k, r0 + r if w_quota else 0]
                if link_flow[link] > 0.0:
                    quota[i, r] = share * link_flow[link]
                else:  # a standby link has no baseline volume: open or shut, not capped
                    quota[i, r] = np.inf if share > 0.0 else 0.0
        for i in range(coef_rows.shape[0]):
            s, k = coef_rows[i], coef_pat[i]
            for r in range(nr):
                coef[s, r] = slot_coef[s] * coef_vals[t, k, r0 + r if w_coef else 0]
        for i in range(scrap_rows.shape[0]):
            s, k = scrap_rows[i], scrap_pat[i]
            for r in range(nr):
                scrap[s, r] = scrap_vals[t, k, r0 + r if w_scrap else 0]
        for i in range(demand_rows.shape[0]):
            j, k = is_demand[demand_rows[i]], demand_pat[i]
            base = slot_use[demand_rows[i]]
            for r in range(nr):
                demand[j, r] = base * demand_vals[t, k, r0 + r if w_demand else 0]
        for i in range(air_rows.shape[0]):
            k = air_pat[i]
            for r in range(nr):
                air[i, r] = air_vals[t, k, r0 + r if w_air else 0]
        for s in range(n_s):
            for r in range(nr):
                start[s, r] = stock[s, r]
                received[s, r] = 0.0
                used[s, r] = 0.0
        today = t % ring
        for k in range(n_ts):
            s = transit_slots[k]
            for r in range(nr):
                arrived = spipe[k, today, r]
                spipe[k, today, r] = 0.0
                slot_pipe[s, r] -= arrived
                stock[s, r] += arrived
                received[s, r] += arrived
        for i in range(n_kept):
            for r in range(nr):
                in_transit[i, r] -= pipe[i, today, r]
                pipe[i, today, r] = 0.0
        for g in range(gpipe.shape[0]):
            for r in range(flow_nr):
                g_transit[g, r] -= gpipe[g, today, r]
                gpipe[g, today, r] = 0.0
        for i in range(reserve_rows.shape[0]):
            s, k = reserve_rows[i], reserve_pat[i]
            for r in range(nr):
                inflow = reserve_vals[t, k, r0 + r if w_reserve else 0]
                if reserve_now[i]:
                    stock[s, r] += inflow
                    received[s, r] += inflow
                else:
                    reserve[i, r] += inflow

        # 2. plans and orders
        for s in range(n_s):
            p = slot_producer[s]
            for r in range(nr):
                if p >= 0:
                    plan = coef[s, r] * min(cap[p, r], orders_prev[p, r])
                else:
                    plan = demand[is_demand[s], r]
                order[s, r] = plan  # the planned use, until the order is worked out
        for i in range(reserve_rows.shape[0]):
            if reserve_now[i]:
                continue
            s = reserve_rows[i]
            for r in range(nr):
                give = min(reserve[i, r], max(order[s, r] - stock[s, r], 0.0))
                reserve[i, r] -= give
                stock[s, r] += give
                received[s, r] += give
        for s in range(n_s):
            for r in range(nr):
                plan = order[s, r]
                from_scrap = scrap[s, r] * plan
                # restore the target stock and the goods in transit (the supply line)
                line = slot_lead[s] * (plan - from_scrap) - slot_pipe[s, r]
                wanted = max(plan - from_scrap + (slot_target[s] - stock[s, r] + line) / tau, 0.0)
                order[s, r] = wanted
                # suppliers outside the network ship their share of the planned use, not of
                # the refill: they do not make up for what network suppliers fail to ship
                outside = slot_unknown[s] * min(wanted, plan - from_scrap) + from_scrap
                stock[s, r] += outside
                received[s, r] += outside
        for p in range(n_p):
            for r in range(nr):
                orders[p, r] = external[p]
                blocked[p, r] = 0.0
                ostart[p, r] = ostock[p, r]
                made[p, r] = 0.0
                alt_req[p, r] = 0.0
                alt_made[p, r] = 0.0
        for link in range(n_l):
            s = link_slot[link]
            p = link_supplier[link]
            gi, qi = gate_pos[link], quota_pos[link]
            for r in range(nr):
                wanted = link_share[link] * order[s, r]
                link_order[link, r] = wanted
                allowed = wanted if gi < 0 else gate[gi, r] * wanted
                if qi >= 0:
                    allowed = min(allowed, quota[qi, r])
                effective[link, r] = allowed
                orders[p, r] += allowed
                blocked[p, r] += wanted - allowed
                shipped[link, r] = 0.0

        # 3. production, level by level; then 4. final demand
        for level in range(n_levels + 1):
            _serve_alternatives(
                t, r0, nr, level, net, link_ready, day, pos, flows, scratch, trigger, lanes
            )
            if level == n_levels:
                break
            for k in range(level_ptr[level], level_ptr[level + 1]):
                p = level_producers[k]
                for r in range(nr):
                    sum_out[r] = np.inf  # what the input stocks allow
                for q in range(prod_slot_ptr[p], prod_slot_ptr[p + 1]):
                    s = prod_slot_idx[q]
                    for r in range(nr):
                        if coef[s, r] > TINY:
                            sum_out[r] = min(sum_out[r], stock[s, r] / coef[s, r])
                for r in range(nr):
                    limit = sum_out[r]
                    # ship from stock first; keep making, up to the usual output and the
                    # storage limit, what blocked orders cannot take
                    wanted = orders[p, r]
                    held = ostock[p, r]
                    room = max(storage[p] - held, 0.0)
                    fill = min(blocked[p, r], room, max(output[p] - wanted, 0.0))
                    planned[p, r] = max(wanted - held, 0.0) + fill
                    made[p, r] = min(min(cap[p, r], planned[p, r]), max(limit, 0.0))
                    ready = made[p, r] + held
                    shipping = min(ready, wanted)
                    ostock[p, r] = ready - shipping
                    sent[p, r] = shipping / max(wanted, TINY)
                    sold[p, r] = external[p] * sent[p, r]
                for q in range(prod_out_ptr[p], prod_out_ptr[p + 1]):
                    link = prod_out_idx[q]
                    for r in range(nr):
                        shipped[link, r] = effective[link, r] * sent[p, r]
                    _send(t, link, nr, shipped[link], stock, lanes)
                _draw_inputs(p, nr, prod_slot_ptr, prod_slot_idx, coef, made, stock, used)
        for j in range(n_d):
            s = demand_slots[j]
            for r in range(nr):
                delivered = min(max(stock[s, r], 0.0), demand[j, r])
                stock[s, r] -= delivered
                used[s, r] += delivered
                delivered_now[j, r] = delivered
                unmet_now[j, r] = demand[j, r] - delivered
                if keep:
                    delivered_out[t, j, r0 + r] = delivered
                    unmet_out[t, j, r0 + r] = demand[j, r] - delivered

        # mass balance: stock change = received - used; output = shipped + sold outside
        for p in range(n_p):
            for r in range(nr):
                extra[p, r] = 0.0  # free after the last level: the shipments of each supplier
        for link in range(n_l):
            s = link_slot[link]
            p = link_supplier[link]
            immediate = transit_pos[link] < 0
            for r in range(nr):
                if immediate:
                    received[s, r] += shipped[link, r]
                extra[p, r] += shipped[link, r]
        # goods in transit: the rings hold what the holders' (and kept links') running
        # totals say, checked every day with ``keep`` and otherwise once per turn of the ring
        for r in range(nr):
            ring_worst[r] = 0.0
        if keep or today == ring - 1 or t == horizon - 1:
            for k in range(n_ts):
                s = transit_slots[k]
                for r in range(nr):
                    ring_sum[r] = 0.0
                for d in range(ring):
                    for r in range(nr):
                        ring_sum[r] += spipe[k, d, r]
                flow = max(slot_use[s], TINY * scale)
                for r in range(nr):
                    size = max(flow * ring, ring_sum[r], peak[k, r])
                    ring_worst[r] = max(ring_worst[r], abs(ring_sum[r] - slot_pipe[s, r]) / size)
            for i in range(n_kept):
                for r in range(nr):
                    ring_sum[r] = 0.0
                for d in range(ring):
                    for r in range(nr):
                        ring_sum[r] += pipe[i, d, r]
                link = transit_links[i]
                flow = max(link_flow[link], slot_use[link_slot[link]], TINY * scale)
                k = slot_tpos[link_slot[link]]  # the holder's peak bounds each of its links'
                for r in range(nr):
                    size = max(flow * ring, ring_sum[r], peak[k, r])
                    ring_worst[r] = max(ring_worst[r], abs(ring_sum[r] - in_transit[i, r]) / size)
            # the trade groups' rings (flow draws) hold what their running totals say
            for g in range(gpipe.shape[0]):
                for r in range(flow_nr):
                    ring_sum[r] = 0.0
                for d in range(ring):
                    for r in range(flow_nr):
                        ring_sum[r] += gpipe[g, d, r]
                for r in range(flow_nr):
                    size = max(g_peak[g, r], ring_sum[r], TINY * scale)
                    ring_worst[r] = max(ring_worst[r], abs(ring_sum[r] - g_transit[g, r]) / size)
        # each residual relative to the size of its own row's numbers (``ring_worst`` holds
        # the pipelines' and collects the rest: rows outer, draws inner)
        for s in range(n_s):
            for r in range(nr):
                residual = abs(stock[s, r] - start[s, r] - received[s, r] + used[s, r])
                size = max(slot_use[s], received[s, r], used[s, r], abs(start[s, r]))
                ring_worst[r] = max(ring_worst[r], residual / max(size, TINY * scale))
        for p in range(n_p):
            for r in range(nr):
                # output + stock drawn = shipped + sold outside the network + stock kept
                residual = abs(made[p, r] + ostart[p, r] - extra[p, r] - sold[p, r] - ostock[p, r])
                size = max(output[p], capacity[p], made[p, r], ostart[p, r], TINY * scale)
                ring_worst[r] = max(ring_worst[r], residual / size)
        for r in range(nr):
            balance_out[t, r0 + r] = ring_worst[r]

        # record: output of each product group, the part of its shortfall that inputs (or
        # the plants' own capacity) caused, and how many of its producers (firms) stopped
        for g in range(group_ptr.shape[0] - 1):
            for r in range(nr):
                sum_out[r] = 0.0
                sum_short[r] = 0.0
                sum_stopped[r] = 0.0
            for q in range(group_ptr[g], group_ptr[g + 1]):
                p = group_producers[q]
                for r in range(nr):
                    sum_out[r] += made[p, r]
                    wanted = min(planned[p, r] + alt_req[p, r], capacity[p])
                    sum_short[r] += max(wanted - made[p, r], 0.0)
                    if made[p, r] < threshold * wanted - TINY * scale:
                        sum_stopped[r] += 1.0
            for q in range(group_dptr[g], group_dptr[g + 1]):
                j = group_demands[q]
                for r in range(nr):
                    sum_out[r] += delivered_now[j, r]
                    sum_short[r] += unmet_now[j, r]
            for r in range(nr):
                group_out[t, g, r0 + r] = sum_out[r]
                gap_out[t, g, r0 + r] = sum_short[r]
                stopped_out[t, g, r0 + r] = sum_stopped[r]
        _record_sums(t, r0, nr, sgroup_ptr, sgroup_slots, stock, sgroup_out, sum_out)
        if flow_nr > 0:
            _record_sums(t, r0, flow_nr, tgroup_ptr, tgroup_links, shipped, tgroup_out, sum_out)
            for g in range(tgroup_ptr.shape[0] - 1):
                for r in range(flow_nr):
                    tgroup_transit_out[t, g, r0 + r] = g_transit[g, r]
            _record_sums(t, r0, flow_nr, egroup_ptr, egroup_producers, ostock, egroup_out, sum_out)
        if keep:
            for p in range(n_p):
                for r in range(nr):
                    production_out[t, p, r0 + r] = made[p, r]
                    ostock_out[t, p, r0 + r] = ostock[p, r]
            for s in range(n_s):
                for r in range(nr):
                    stock_out[t, s, r0 + r] = stock[s, r]
            for i in range(gate_rows.shape[0]):
                for r in range(nr):
                    gate_out[t, i, r0 + r] = gate[i, r]
            for link in range(n_l):
                for r in range(nr):
                    shipped_out[t, link, r0 + r] = shipped[link, r]
            for i in range(n_t):
                for r in range(nr):
                    transit_out[t, i, r0 + r] = in_transit[i, r]
        for p in range(n_p):
            for r in range(nr):
                orders_prev[p, r] = planned[p, r] + alt_req[p, r]
