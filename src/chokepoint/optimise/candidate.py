"""A candidate countermeasure: one row of the measure catalogue, typed (its kind, limits,
price and source). Apart from the catalogue reader so the measure kinds can use it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    """One candidate measure: a decision the optimiser may take, with its price."""

    id: str
    type: str
    commodity: str = ""
    holders: tuple[str, ...] = ()
    regions: tuple[str, ...] = ("EU27",)
    country: str = ""
    suppliers: tuple[str, ...] = ()
    output: str = ""
    input: str = ""
    factor: float = 0.0
    max_amount: float = math.inf
    unit_cost: float = 0.0
    cost_low: float = math.nan
    cost_high: float = math.nan
    cost_basis: str = "eur"
    opex: float = 0.0
    lead_days: float = 0.0
    ramp_days: float = 0.0
    performance_penalty: float = 0.0
    source: str = ""
    year: str = ""
    assumption: str = ""
    extra: dict = field(default_factory=dict, compare=False)
