"""The ARIO model's data types: its parameters, the model built from an MRIO table, and a
run's result. Apart from the runner (:mod:`chokepoint.economy.ario`) so the array and
compiled paths can use them without importing it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from chokepoint.fields import CountOf

if TYPE_CHECKING:
    from chokepoint.economy.events import CapacityLoss

TECHNOLOGY_THRESHOLD = 1e-5
"""An input counts as constraining when it exceeds this share of a day's output (BoARIO)."""


# -------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ARIOParameters:
    """Parameters of the ARIO model, named after BoARIO's where they match.

    ``main_inventory_days`` (BoARIO ``main_inv_dur``), ``inventory_days`` per input sector
    (``inventory_dict``), ``infinite_inventory_sectors`` (``infinite_inventories_sect``),
    ``psi`` (``psi_param``), ``inventory_restoration_tau`` in steps, one number or per input
    sector; ``alpha_base``, ``alpha_max``, ``alpha_tau`` (overproduction); ``order_type``
    ``"alt"`` or ``"noalt"``; ``capital_to_value_added`` (capital stock per unit of yearly
    value added, one number or per sector; BoARIO's default is 4); ``steps_per_year``
    (``iotable_year_to_temporal_unit_factor``). ``boario_tolerances`` keeps BoARIO's two
    ``allclose`` shortcuts so that trajectories agree to rounding.
    """

    order_type: Literal["alt", "noalt"] = "alt"
    alpha_base: float = 1.0
    alpha_max: float = 1.25
    alpha_tau: float = 365.0
    main_inventory_days: float = 90.0
    inventory_days: Mapping[str, float] | None = None
    infinite_inventory_sectors: tuple[str, ...] = ()
    psi: float = 0.8
    inventory_restoration_tau: float | Mapping[str, float] = 60.0
    capital_to_value_added: float | Mapping[str, float] = 4.0
    steps_per_year: int = 365
    boario_tolerances: bool = True

    def __post_init__(self) -> None:
        if self.order_type not in ("alt", "noalt"):
            raise ValueError(f"order_type must be 'alt' or 'noalt', not {self.order_type!r}")
        if not 0.0 < self.psi <= 1.0:
            raise ValueError(f"psi must be in (0, 1], not {self.psi}")
        if not 1.0 <= self.alpha_base <= self.alpha_max:
            raise ValueError("need 1 <= alpha_base <= alpha_max")
        if self.alpha_tau <= 0 or self.steps_per_year <= 0:
            raise ValueError("alpha_tau and steps_per_year must be positive")
        days = [self.main_inventory_days, *(self.inventory_days or {}).values()]
        if any(d <= 1 for d in days):
            raise ValueError("inventory days must exceed one step (BoARIO would reset them to 2)")
        taus = _values(self.inventory_restoration_tau)
        if any(t <= 0 for t in taus):
            raise ValueError("inventory_restoration_tau must be positive")


def _values(value: float | Mapping[str, float]) -> list[float]:
    return list(value.values()) if isinstance(value, Mapping) else [float(value)]


def _per_sector(value: float | Mapping[str, float], sectors: list[str], name: str) -> np.ndarray:
    if not isinstance(value, Mapping):
        return np.full(len(sectors), float(value))
    missing = [s for s in sectors if s not in value]
    if missing:
        raise ValueError(f"{name} has no value for sectors {missing[:5]}")
    return np.array([float(value[s]) for s in sectors])


# ------------------------------------------------------------------------------ model


@dataclass(frozen=True, eq=False)
class ARIOModel:
    """An MRIO compiled for :func:`run_ario` (daily flows; slots sorted by industry)."""

    parameters: ARIOParameters
    industries: pd.MultiIndex
    output: np.ndarray  # x0 per step
    final_demand: np.ndarray  # per step, summed over regions and categories
    value_added_share: np.ndarray  # value added (>= 0) per unit of output
    capital: np.ndarray  # productive capital (money units)
    supply: sp.csr_matrix  # [slot, supplier]: daily flow Z[supplier, industry of slot]
    supply_transposed: sp.csr_matrix
    slot_industry: np.ndarray
    slot_sector: np.ndarray
    slots_per_industry: np.ndarray  # slots are sorted by industry: np.repeat spreads to them
    segment_starts: np.ndarray  # first slot of each industry that has slots
    segment_industries: np.ndarray
    technical: np.ndarray  # input coefficient of the slot, summed over supplier regions
    cover_scale: np.ndarray  # 1 / (technical * psi * days) where the slot can limit, else 0
    cover_offset: np.ndarray  # 0 where the slot can limit production, else +inf
    goal_coefficient: np.ndarray  # technical * days (0 for infinite stocks)
    restoration_rate: np.ndarray  # 1 / tau_inv (0 for infinite stocks)
    finite: np.ndarray  # slot holds a finite stock
    initial_stock: np.ndarray
    initial_share_total: np.ndarray  # sum over supplier regions of the daily flows
    orders_never_close: bool  # BoARIO's stock/target check can never pass (see build_ario)

    n_industries = CountOf("output")
    n_slots = CountOf("slot_industry")


@dataclass(frozen=True, eq=False)
class ARIOResult:
    """What :func:`run_ario` recorded (money units of the table, per step).

    ``production`` is ``[step, industry, draw]`` when kept; ``value_added_loss`` the value
    added lost over the run ``[industry, draw]`` (negative where an industry gained);
    ``grouped_value_added_loss`` ``[step, group, draw]`` for the rows of ``groups``;
    ``final_demand_unmet`` ``[industry, draw]``; ``shortage_steps`` the number of steps in
    which input stocks limited each industry ``[industry, draw]``.
    """

    model: ARIOModel
    steps: int
    draws: int
    value_added_loss: np.ndarray
    final_demand_unmet: np.ndarray
    shortage_steps: np.ndarray
    production: np.ndarray | None = None
    grouped_value_added_loss: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ARIORun:
    """One checked request of :func:`run_ario`, as its array and compiled paths take it:
    the model, the steps, the capacity loss and the number of draws, whether to keep daily
    production, and each industry's group number (-1 for none) with the number of groups."""

    model: ARIOModel
    steps: int
    loss: CapacityLoss
    draws: int
    keep_production: bool
    group_of: np.ndarray
    n_groups: int

    def result(
        self,
        value_added_loss: np.ndarray,
        final_demand_unmet: np.ndarray,
        shortage_steps: np.ndarray,
        production: np.ndarray | None,
        grouped: np.ndarray,
    ) -> ARIOResult:
        """The run's :class:`ARIOResult` from its ``[industry, draw]`` totals, its
        ``[step, industry, draw]`` production (kept only with ``keep_production``) and its
        ``[step, group, draw]`` value-added loss (kept only when there are groups)."""
        return ARIOResult(
            model=self.model,
            steps=self.steps,
            draws=self.draws,
            value_added_loss=value_added_loss,
            final_demand_unmet=final_demand_unmet,
            shortage_steps=shortage_steps,
            production=production if self.keep_production else None,
            grouped_value_added_loss=grouped if self.n_groups else None,
        )
