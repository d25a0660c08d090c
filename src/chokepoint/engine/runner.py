"""The shortage engine: a pure function of the compiled model and its exogenous inputs.

:func:`run` builds the kernel's index arrays from the model, splits the draws into two
blocks and runs :func:`chokepoint.engine.kernel.simulate_block` on both cores (the kernel releases
the GIL). Outputs are recorded on the fly: the output of each product group and the stock
of each stock group per day and draw, the largest mass-balance residual per day and draw,
and — with ``keep=True`` — the full daily production, deliveries, stocks and gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from chokepoint.compile.exogenous import Exogenous
from chokepoint.compile.model import Model
from chokepoint.compile.patterns import Rows
from chokepoint.engine.bundles import KernelInputs, KernelNetwork, KernelRecording, KernelSettings
from chokepoint.engine.kernel import simulate_block
from chokepoint.threads import map_in_threads


@dataclass
class Trajectories:
    """Daily results of a chunk of draws: arrays ``[day, row, draw]``."""

    group_output: np.ndarray  # [day, product group, draw]
    grouped_stock: np.ndarray  # [day, stock group, draw]
    balance: np.ndarray  # [day, draw]: largest mass-balance residual (relative)
    production: np.ndarray | None = None  # [day, producer, draw] when kept
    delivered: np.ndarray | None = None  # [day, demand, draw]
    unmet: np.ndarray | None = None  # [day, demand, draw]
    stock: np.ndarray | None = None  # [day, slot, draw]
    gate: np.ndarray | None = None  # [day, gated link, draw]
    group_gap: np.ndarray | None = None  # [day, product group, draw]: input-limited shortfall
    group_stopped: np.ndarray | None = None  # [day, product group, draw]: producers stopped
    trade: np.ndarray | None = None  # [day, trade group, flow draw]: shipped (departures)
    shipped: np.ndarray | None = None  # [day, link, draw] when kept
    trade_transit: np.ndarray | None = None  # [day, trade group, draw]: in transit
    transit: np.ndarray | None = None  # [day, transit link, draw] when kept
    exporter_groups: np.ndarray | None = None  # [day, exporter group, draw]: stock of output
    exporter_stock: np.ndarray | None = None  # [day, producer, draw] when kept


def _csr(groups: np.ndarray, members: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Pointer and index arrays listing ``members`` by ``groups`` (stable order)."""
    order = np.argsort(groups, kind="stable")
    pointer = np.searchsorted(groups[order], np.arange(n_groups + 1)).astype(np.int64)
    return pointer, members[order].astype(np.int64)


def _matrix_csr(matrix: np.ndarray | sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    csr = sp.csr_matrix(matrix)
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)


@dataclass(frozen=True)
class Structure:
    """Index arrays of a model for the kernel, built once per model."""

    network: KernelNetwork

    @classmethod
    def of(cls, model: Model) -> Structure:
        """The kernel's network bundle: the model's arrays (as the kernel's dtypes) and the
        index lists of :func:`_index_lists`."""
        same = {name: getattr(model, name).astype(float) for name in _FLOAT_ARRAYS}
        same |= {name: getattr(model, name).astype(np.int64) for name in _INT_ARRAYS}
        network = KernelNetwork(
            **same,
            **_index_lists(model),
            external=model.external_orders.astype(float),
            link_qual=model.link_qualification.astype(float),
            link_data_alt=(model.link_from_data & model.link_alternative).astype(np.bool_),
            storage=model.producer_storage.astype(float),
        )
        return cls(network)


_FLOAT_ARRAYS = (
    "capacity",
    "output",
    "slot_coef",
    "slot_use",
    "slot_target",
    "slot_unknown",
    "slot_stock",
    "link_share",
    "link_flow",
)
"""The model's arrays the kernel takes under the same name, as floats."""
_INT_ARRAYS = ("slot_producer", "link_supplier", "link_slot")
"""The same, as integers."""


def _index_lists(model: Model) -> dict[str, np.ndarray]:
    """The kernel's CSR lists (``*_ptr`` and their members) of producers by level, slots by
    producer, links by supplier and slot, holders, alternatives and their suppliers by level;
    the demand slots; the transit links and each holder's transit lead."""
    n_p, n_s = model.n_producers, model.n_slots
    n_levels = int(model.level.max()) + 1 if n_p else 0
    producer_slots = np.flatnonzero(model.slot_producer >= 0)
    primary = np.flatnonzero(~model.link_alternative)
    alternative = np.flatnonzero(model.link_alternative)
    lists = {"demand_slots": np.flatnonzero(model.slot_producer < 0).astype(np.int64)}
    lists["level_ptr"], lists["level_producers"] = _csr(model.level, np.arange(n_p), n_levels)
    lists["prod_slot_ptr"], lists["prod_slot_idx"] = _csr(
        model.slot_producer[producer_slots], producer_slots, n_p
    )
    lists["prod_out_ptr"], lists["prod_out_idx"] = _csr(model.link_supplier[primary], primary, n_p)
    lists["slot_in_ptr"], lists["slot_in_idx"] = _csr(model.link_slot[primary], primary, n_s)
    lists["slot_alt_ptr"], lists["slot_alt_idx"] = _csr(
        model.link_slot[alternative], alternative, n_s
    )
    # the holders of each level (producer slots by their owner's level; demand last)
    slot_level = np.full(n_s, n_levels)
    slot_level[producer_slots] = model.level[model.slot_producer[producer_slots]]
    lists["level_slot_ptr"], lists["level_slots"] = _csr(slot_level, np.arange(n_s), n_levels + 1)
    alt_level = slot_level[model.link_slot[alternative]]
    lists["level_alt_ptr"], lists["level_alts"] = _csr(alt_level, alternative, n_levels + 1)
    pairs = sorted(
        {
            (int(lv), int(model.link_supplier[a]))
            for lv, a in zip(alt_level, alternative, strict=True)
        }
    )
    sup_level = np.array([lv for lv, _ in pairs], dtype=np.int64)
    sup_ids = np.array([p for _, p in pairs], dtype=np.int64)
    lists["level_sup_ptr"], lists["level_sups"] = _csr(sup_level, sup_ids, n_levels + 1)
    transit = model.link_transit.astype(np.int64)
    lists["link_transit"] = transit
    lists["transit_links"] = np.flatnonzero(transit > 0).astype(np.int64)
    lists["transit_pos"] = np.full(model.n_links, -1, np.int64)
    lists["transit_pos"][lists["transit_links"]] = np.arange(len(lists["transit_links"]))
    lists["transit_slots"] = np.unique(model.link_slot[lists["transit_links"]]).astype(np.int64)
    lists["slot_tpos"] = np.full(n_s, -1, np.int64)
    lists["slot_tpos"][lists["transit_slots"]] = np.arange(len(lists["transit_slots"]))
    # goods in transit a holder keeps per unit of its daily use: Σ share × transit days
    lists["slot_lead"] = np.bincount(
        model.link_slot[primary],
        weights=(model.link_share * transit)[primary],
        minlength=n_s,
    ).astype(float)
    return lists


def _rows(kind: str, rows: Rows) -> dict[str, np.ndarray]:
    """The kernel's ``<kind>_rows``, ``<kind>_pat`` and ``<kind>_vals`` of one input."""
    return {
        f"{kind}_rows": rows.rows.astype(np.int64),
        f"{kind}_pat": rows.pattern.astype(np.int64),
        f"{kind}_vals": np.ascontiguousarray(rows.values, dtype=np.float64),
    }


def _inputs(model: Model, exo: Exogenous) -> KernelInputs:
    horizon = exo.horizon
    return KernelInputs(
        **_rows("cap", exo.capacity),
        **_rows("gate", exo.gate),
        **_rows("quota", exo.quota),
        **_rows("demand", exo.demand),
        **_rows("coef", exo.coef),
        **_rows("scrap", exo.scrap),
        **_rows("reserve", exo.reserve),
        reserve_now=exo.reserve_immediate.astype(np.bool_),
        link_ready=np.ascontiguousarray(exo.link_ready, dtype=np.float64),
        **_rows("air", exo.air if len(exo.air.rows) else Rows.empty(horizon)),
        air_days=np.asarray(
            exo.air_days if len(exo.air_days) else np.zeros(model.n_links), dtype=np.int64
        ),
    )


def _recording(
    model: Model,
    structure: Structure,
    exo: Exogenous,
    groups: dict[str, np.ndarray | sp.spmatrix | None],
    keep: bool,
    flow_draws: int,
) -> KernelRecording:
    """The kernel's output arrays (zeros) and the CSR lists of the groups to record."""
    horizon, n_draws = exo.horizon, len(exo.draws)
    n_p, n_s, n_l = model.n_producers, model.n_slots, model.n_links
    n_d = len(model.demand_ids)
    pair = groups["product"] or (np.zeros((0, n_p)), np.zeros((0, n_d)))
    empty = {"stock": (0, n_s), "trade": (0, n_l), "exporter": (0, n_p)}
    csr = {"product": _matrix_csr(pair[0]), "demand": _matrix_csr(pair[1])}
    for name, size in empty.items():
        matrix = groups[name]
        csr[name] = _matrix_csr(np.zeros(size) if matrix is None else matrix)

    trade_ptr, trade_links = csr["trade"]
    by_link = _csr(trade_links, np.repeat(np.arange(len(trade_ptr) - 1), np.diff(trade_ptr)), n_l)

    def per_day(ptr: np.ndarray) -> np.ndarray:
        return np.zeros((horizon, len(ptr) - 1, n_draws))

    def flows(ptr: np.ndarray) -> np.ndarray:  # float32: they are only summarised
        return np.zeros((horizon, len(ptr) - 1, flow_draws), dtype=np.float32)

    def rows(count: int) -> np.ndarray:
        return np.zeros((horizon, count, n_draws) if keep else (1, 1, 1))

    return KernelRecording(
        group_ptr=csr["product"][0],
        group_producers=csr["product"][1],
        group_dptr=csr["demand"][0],
        group_demands=csr["demand"][1],
        group_out=per_day(csr["product"][0]),
        sgroup_ptr=csr["stock"][0],
        sgroup_slots=csr["stock"][1],
        sgroup_out=per_day(csr["stock"][0]),
        balance_out=np.zeros((horizon, n_draws)),
        production_out=rows(n_p),
        delivered_out=rows(n_d),
        unmet_out=rows(n_d),
        stock_out=rows(n_s),
        gate_out=rows(len(exo.gate.rows)),
        gap_out=per_day(csr["product"][0]),
        stopped_out=per_day(csr["product"][0]),
        tgroup_ptr=csr["trade"][0],
        tgroup_links=csr["trade"][1],
        tlink_ptr=by_link[0],
        tlink_groups=by_link[1],
        tgroup_out=flows(csr["trade"][0]),
        shipped_out=rows(n_l),
        tgroup_transit_out=flows(csr["trade"][0]),
        transit_out=rows(len(structure.network.transit_links)),
        ostock_out=rows(n_p),
        egroup_ptr=csr["exporter"][0],
        egroup_producers=csr["exporter"][1],
        egroup_out=flows(csr["exporter"][0]),
    )


def run(
    model: Model,
    exo: Exogenous,
    *,
    product_groups: tuple[np.ndarray | sp.spmatrix, np.ndarray | sp.spmatrix] | None = None,
    stock_groups: np.ndarray | sp.spmatrix | None = None,
    trade_groups: np.ndarray | sp.spmatrix | None = None,
    exporter_groups: np.ndarray | sp.spmatrix | None = None,
    restoration_days: float = 10.0,
    survive_threshold: float = 0.99,
    qualification_trigger: float = 0.01,
    keep: bool = False,
    flow_draws: int | None = None,
    structure: Structure | None = None,
    threads: int = 2,
) -> Trajectories:
    """Simulate ``exo.horizon`` days for the draws of ``exo``.

    ``product_groups`` is a pair of matrices (group × producer, group × demand): a group's
    output is the production of its producers plus the deliveries to its demands.
    ``stock_groups`` (group × slot) sums stocks; for the first ``flow_draws`` draws (all by
    default; float32), ``trade_groups`` (group × link) sums the links' daily shipments and
    goods in transit, ``exporter_groups`` (group × producer) the producers' stocks of
    output. ``keep`` records every row every day. A producer counts as stopped on a day
    when it makes less than ``survive_threshold`` of what its orders and its (base)
    capacity call for.
    """
    structure = structure or Structure.of(model)
    groups = {
        "product": product_groups,
        "stock": stock_groups,
        "trade": trade_groups,
        "exporter": exporter_groups,
    }
    n_flow = len(exo.draws) if flow_draws is None else max(min(flow_draws, len(exo.draws)), 0)
    recording = _recording(model, structure, exo, groups, keep, n_flow)
    inputs = _inputs(model, exo)
    longest = max(
        int(structure.network.link_transit.max(initial=0)),
        int(inputs.air_days.max(initial=0)),
    )
    settings = KernelSettings(
        tau=float(restoration_days),
        trigger=float(qualification_trigger),
        keep=bool(keep),
        threshold=float(survive_threshold),
        ring=longest + 1,
        flows=n_flow > 0,
    )

    def block(first: int, last: int) -> None:
        simulate_block(exo.horizon, first, last, settings, structure.network, inputs, recording)

    map_in_threads(block, len(exo.draws), threads)
    fields = _RECORDED | (_KEPT if keep else {})
    return Trajectories(**{name: getattr(recording, out) for name, out in fields.items()})


# the recording's output arrays behind each field of :class:`Trajectories`: always, and with
# ``keep`` only
_RECORDED = {
    "group_output": "group_out",
    "grouped_stock": "sgroup_out",
    "balance": "balance_out",
    "group_gap": "gap_out",
    "group_stopped": "stopped_out",
    "trade": "tgroup_out",
    "trade_transit": "tgroup_transit_out",
    "exporter_groups": "egroup_out",
}
_KEPT = {
    "production": "production_out",
    "delivered": "delivered_out",
    "unmet": "unmet_out",
    "stock": "stock_out",
    "gate": "gate_out",
    "shipped": "shipped_out",
    "transit": "transit_out",
    "exporter_stock": "ostock_out",
}
