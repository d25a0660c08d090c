"""The kernel's inputs and outputs as typed bundles (named tuples numba compiles to structs).

The fields are the kernel's names: :func:`chokepoint.engine.kernel.simulate_block` reads
them by name, so two arrays of the same type cannot be swapped silently, and the runner
builds each bundle by keyword from one place.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class KernelSettings(NamedTuple):
    """Scalars of a run: restoration time τ (days), the shortfall share that triggers a
    search for alternatives, whether to keep every row every day, and the share of its
    wanted output below which a producer counts as stopped."""

    tau: float
    trigger: float
    keep: bool
    threshold: float
    ring: int
    """Length of the transit rings: the longest transit (sea or air) + 1 day."""
    flows: bool
    """Whether to record the trade groups (shipments, goods in transit) and exporter stocks."""


class KernelNetwork(NamedTuple):
    """The model's arrays and CSR index lists, built once per model (:class:`Structure`)."""

    capacity: np.ndarray
    external: np.ndarray
    output: np.ndarray
    level_ptr: np.ndarray
    level_producers: np.ndarray
    prod_slot_ptr: np.ndarray
    prod_slot_idx: np.ndarray
    prod_out_ptr: np.ndarray
    prod_out_idx: np.ndarray
    slot_producer: np.ndarray
    slot_coef: np.ndarray
    slot_use: np.ndarray
    slot_target: np.ndarray
    slot_unknown: np.ndarray
    slot_stock: np.ndarray
    slot_in_ptr: np.ndarray
    slot_in_idx: np.ndarray
    slot_alt_ptr: np.ndarray
    slot_alt_idx: np.ndarray
    demand_slots: np.ndarray
    level_slot_ptr: np.ndarray
    level_slots: np.ndarray
    level_alt_ptr: np.ndarray
    level_alts: np.ndarray
    level_sup_ptr: np.ndarray
    level_sups: np.ndarray
    link_supplier: np.ndarray
    link_slot: np.ndarray
    link_share: np.ndarray
    link_qual: np.ndarray
    link_data_alt: np.ndarray
    link_flow: np.ndarray
    link_transit: np.ndarray
    transit_pos: np.ndarray
    transit_links: np.ndarray
    transit_slots: np.ndarray
    """The holders a transit link delivers to (each has a ring of arrival days)."""
    slot_tpos: np.ndarray
    """A holder's row in ``transit_slots``, -1 for none."""
    slot_lead: np.ndarray
    storage: np.ndarray


class KernelInputs(NamedTuple):
    """Exogenous inputs of a chunk: for each kind, the rows an event touches, their pattern
    numbers and values ``[day, pattern, draw or 1]``; ``link_ready[link, draw]``."""

    cap_rows: np.ndarray
    cap_pat: np.ndarray
    cap_vals: np.ndarray
    gate_rows: np.ndarray
    gate_pat: np.ndarray
    gate_vals: np.ndarray
    quota_rows: np.ndarray
    quota_pat: np.ndarray
    quota_vals: np.ndarray
    demand_rows: np.ndarray
    demand_pat: np.ndarray
    demand_vals: np.ndarray
    coef_rows: np.ndarray
    coef_pat: np.ndarray
    coef_vals: np.ndarray
    scrap_rows: np.ndarray
    scrap_pat: np.ndarray
    scrap_vals: np.ndarray
    reserve_rows: np.ndarray
    reserve_pat: np.ndarray
    reserve_vals: np.ndarray
    reserve_now: np.ndarray
    link_ready: np.ndarray
    air_rows: np.ndarray
    air_pat: np.ndarray
    air_vals: np.ndarray
    air_days: np.ndarray


class KernelRecording(NamedTuple):
    """What to record and where: product and stock groups (CSR) with their output arrays
    (output, input-limited shortfall, producers stopped), trade groups of links (CSR) with
    their shipments, the mass-balance residuals, and with ``keep`` the full daily rows."""

    group_ptr: np.ndarray
    group_producers: np.ndarray
    group_dptr: np.ndarray
    group_demands: np.ndarray
    group_out: np.ndarray
    sgroup_ptr: np.ndarray
    sgroup_slots: np.ndarray
    sgroup_out: np.ndarray
    balance_out: np.ndarray
    production_out: np.ndarray
    delivered_out: np.ndarray
    unmet_out: np.ndarray
    stock_out: np.ndarray
    gate_out: np.ndarray
    gap_out: np.ndarray
    stopped_out: np.ndarray
    tgroup_ptr: np.ndarray
    tgroup_links: np.ndarray
    tlink_ptr: np.ndarray
    tlink_groups: np.ndarray
    """The trade groups of each link (CSR by link: the transpose of ``tgroup_*``)."""
    tgroup_out: np.ndarray
    shipped_out: np.ndarray
    tgroup_transit_out: np.ndarray
    transit_out: np.ndarray
    ostock_out: np.ndarray
    egroup_ptr: np.ndarray
    egroup_producers: np.ndarray
    egroup_out: np.ndarray


class Lanes(NamedTuple):
    """Where shipments on links with a transit time go (built inside the kernel, read by
    ``_send`` by name): per link its holder, transit row, transit days, air row and days;
    the day's flown shares; the holders' rings of arrival days (``spipe``, by ``slot_tpos``),
    their running totals and peaks; with ``keep`` the links' own rings and totals (empty
    otherwise); the link → trade group lists and the groups' rings, totals and peaks for
    the flow draws."""

    link_slot: np.ndarray
    transit_pos: np.ndarray
    transit: np.ndarray
    air_pos: np.ndarray
    air_days: np.ndarray
    air: np.ndarray
    slot_tpos: np.ndarray
    spipe: np.ndarray
    slot_pipe: np.ndarray
    peak: np.ndarray
    pipe: np.ndarray
    in_transit: np.ndarray
    tlink_ptr: np.ndarray
    tlink_groups: np.ndarray
    gpipe: np.ndarray
    g_transit: np.ndarray
    g_peak: np.ndarray
