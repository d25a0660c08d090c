"""Measure kinds: what each candidate does in the linear model, what it costs, and the
scenario event it becomes.

``MEASURE_KINDS`` is the registry (catalogue ``type`` → kind). A kind turns a candidate into
an *effect* on the linear model (:class:`StockEffect`, :class:`InflowEffect`,
:class:`RecipeEffect`, :class:`LinkEffect`), a linear cost per unit of its decision, and a
scenario event (a dict, as in a scenario YAML) for a chosen amount.

Where the engine's rule is bilinear in a decision (recycling and substitution scale with the
day's planned production), the linear model uses the decision times *baseline* production:
exact when production is at baseline, which is where a no-stoppage target holds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from chokepoint.errors import DataError
from chokepoint.network.countries import region_codes
from chokepoint.optimise.candidate import Candidate

# ----------------------------------------------------------------------------- effects


@dataclass
class StockEffect:
    """Stock placed on day 0: ``weights[s] × decision`` in modelled slot ``slots[s]``."""

    slots: np.ndarray
    weights: np.ndarray


@dataclass
class InflowEffect:
    """Supply into modelled slots: ``profile[t, s] × decision`` per period."""

    slots: np.ndarray
    profile: np.ndarray


@dataclass
class RecipeEffect:
    """A share (the decision) of the producers' baseline output may use ``factor`` times
    the input of slots ``slots[p]`` from period ``active``; capacity falls by
    ``penalty × decision``."""

    producers: np.ndarray
    slots: np.ndarray
    factor: float
    active: np.ndarray  # [T] fraction of each period's days switched
    penalty: float


@dataclass
class LinkEffect:
    """Qualified links: ``extra[r, t, l] × decision`` more may flow on modelled links."""

    links: np.ndarray
    extra: np.ndarray


# ------------------------------------------------------------------------------- kinds


class MeasureKind:
    """Base of a measure kind."""

    name: ClassVar[str]
    unit: ClassVar[str] = ""
    integer: ClassVar[bool] = False
    event_type: ClassVar[str] = ""
    """The scenario event's ``type`` (left out: the kind's name)."""
    needs: ClassVar[tuple[str, ...]] = ()
    """Candidate fields a catalogue row of this kind must give."""

    def check(self, c: Candidate, file: Path, row: int) -> None:
        """Raise DataError if the catalogue row lacks what this kind needs."""
        for name in self.needs:
            if not getattr(c, name):
                raise DataError(f"a {c.type} needs '{name}'", file=file, row=row, field=name)

    def model_slots(self, c: Candidate, case) -> np.ndarray:
        """Model slots the measure acts on (they are modelled when upstream of a target)."""
        return np.zeros(0, int)

    def upper(self, c: Candidate) -> float:
        return c.max_amount

    def effect(self, c: Candidate, case):
        raise NotImplementedError

    def cost_per_unit(self, c: Candidate, case) -> float:
        raise NotImplementedError

    def event(self, c: Candidate, amount: float, case) -> dict:
        """The scenario event (as in a scenario YAML) of ``amount`` of the candidate."""
        return {"type": self.event_type or self.name, "label": c.id, **self.fields(c, amount, case)}

    def fields(self, c: Candidate, amount: float, case) -> dict:
        """The scenario event's fields after its type and label."""
        raise NotImplementedError


MEASURE_KINDS: dict[str, MeasureKind] = {}


def measure_kind(cls: type[MeasureKind]) -> type[MeasureKind]:
    """Class decorator: register a measure kind under its name."""
    MEASURE_KINDS[cls.name] = cls()
    return cls


def _value(c: Candidate, case, commodity: str) -> float:
    value = case.model.commodity_value.get(commodity, math.nan)
    if value is None or not np.isfinite(value):
        raise DataError(
            f"the price of '{c.id}' is a share of the value of '{commodity}', which the "
            "network does not give (commodities table)",
            field="cost_basis",
        )
    return float(value)


def _price(c: Candidate, case, commodity: str) -> float:
    return c.unit_cost * (_value(c, case, commodity) if c.cost_basis == "value_share" else 1.0)


def _positions(case, model_slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the case's slots of the model slots that are modelled, and a mask."""
    index = {int(s): i for i, s in enumerate(case.slots)}
    mask = np.array([int(s) in index for s in model_slots], dtype=bool)
    return np.array([index[int(s)] for s in model_slots[mask]], dtype=int), mask


def _ramp_profile(case, start: float, ramp: float) -> np.ndarray:
    """``[T]``: days of each period at full rate, rising linearly over ``ramp`` from ``start``."""
    days = np.arange(case.horizon) - start
    level = np.where(days >= 0, np.clip((days + 1) / ramp, 0, 1) if ramp > 0 else 1.0, 0.0)
    return case.period_sum(level)


class _ServedKind(MeasureKind):
    """A kind acting on the slots of a commodity's holders or of the regions' buyers,
    spread over them by their use."""

    def model_slots(self, c, case):
        from chokepoint.optimise.adapter import slots_where

        return slots_where(case, c.commodity, list(c.holders) or None, list(c.regions))

    def spread(self, c, case) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the modelled slots served, and each one's share of their use."""
        slots = self.model_slots(c, case)
        use = case.model.slot_use[slots]
        weights = use / use.sum() if use.sum() > 0 else np.full(len(slots), 1 / len(slots))
        positions, mask = _positions(case, slots)
        return positions, weights[mask]


@measure_kind
class StockpileKind(_ServedKind):
    """Tonnes (units) of a commodity placed at its holders on day 0, split by use."""

    name = "stockpile"
    unit = "t"

    needs = ("commodity",)

    def effect(self, c, case):
        return StockEffect(*self.spread(c, case))

    def cost_per_unit(self, c, case):
        return _price(c, case, c.commodity) * case.horizon / 365.0

    def fields(self, c, amount, case):
        where = {"holders": list(c.holders)} if c.holders else {"regions": list(c.regions)}
        return {
            "commodity": c.commodity,
            **where,
            "quantity": float(amount),
            "start": 0,
            "cost_per_unit_year": _price(c, case, c.commodity),
        }


@measure_kind
class NewCapacityKind(_ServedKind):
    """A new plant (t/yr) in ``country`` for the buyers in ``regions``: online after
    ``lead_days`` (its build time), ramping up over ``ramp_days``; capex per t/yr."""

    name = "new_capacity"
    unit = "t/yr"

    needs = ("commodity", "country")

    def effect(self, c, case):
        positions, weights = self.spread(c, case)
        ramp = _ramp_profile(case, c.lead_days, c.ramp_days) / 365.0
        return InflowEffect(positions, ramp[:, None] * weights[None, :])

    def cost_per_unit(self, c, case):
        made = _ramp_profile(case, c.lead_days, c.ramp_days).sum() / 365.0
        return _price(c, case, c.commodity) + c.opex * made

    def fields(self, c, amount, case):
        return {
            "commodity": c.commodity,
            "country": c.country,
            "capacity": float(amount),
            "start": int(round(c.lead_days)),
            "ramp_days": c.ramp_days,
            "serves": list(c.regions),
            "capex": _price(c, case, c.commodity) * float(amount),
        }


@measure_kind
class RecyclingKind(MeasureKind):
    """A share of the regions' use of a commodity met from scrap after ``lead_days``,
    ramping over ``ramp_days``; priced per unit recycled."""

    name = "recycling"
    unit = "share"

    needs = ("commodity",)

    def upper(self, c):
        return min(c.max_amount, 1.0)

    def model_slots(self, c, case):
        return case.model.slots_of(c.commodity, list(c.regions))

    def effect(self, c, case):
        slots = self.model_slots(c, case)
        positions, mask = _positions(case, slots)
        model = case.model
        daily = model.slot_use[slots][mask] * (1.0 - model.slot_unknown[slots][mask])
        ramp = _ramp_profile(case, c.lead_days, c.ramp_days)
        return InflowEffect(positions, ramp[:, None] * daily[None, :])

    def cost_per_unit(self, c, case):
        slots = self.model_slots(c, case)
        recycled = (
            case.model.slot_use[slots].sum() * _ramp_profile(case, c.lead_days, c.ramp_days).sum()
        )
        return _price(c, case, c.commodity) * recycled

    def fields(self, c, amount, case):
        return {
            "commodity": c.commodity,
            "regions": list(c.regions),
            "share": float(amount),
            "start": int(round(c.lead_days)),
            "ramp_days": c.ramp_days,
        }


@measure_kind
class SubstitutionKind(MeasureKind):
    """A share of the regions' output of ``output`` switched to a recipe using ``factor``
    times ``input``, from ``lead_days``; priced per unit of switched output."""

    name = "substitution"
    unit = "share"

    needs = ("output", "input")

    def upper(self, c):
        return min(c.max_amount, 1.0)

    def _producers(self, c, case) -> np.ndarray:
        model = case.model
        codes = set().union(*(region_codes(r) for r in c.regions))
        return np.flatnonzero(
            (model.producer_commodity == c.output)
            & np.isin(model.producer_country.astype(str), list(codes))
            & ~model.virtual
        )

    def model_slots(self, c, case):
        model = case.model
        return np.flatnonzero(
            np.isin(model.slot_producer, self._producers(c, case))
            & (model.slot_commodity == c.input)
        )

    def effect(self, c, case):
        index = {int(p): i for i, p in enumerate(case.producers)}
        model = case.model
        producers, slots = [], []
        for slot in self.model_slots(c, case):
            owner = int(model.slot_producer[slot])
            position = np.flatnonzero(case.slots == slot)
            if owner in index and len(position):
                producers.append(index[owner])
                slots.append(int(position[0]))
        lead = int(round(c.lead_days))
        switched = case.period_sum((np.arange(case.horizon) >= lead).astype(float))
        return RecipeEffect(
            np.array(producers, int),
            np.array(slots, int),
            c.factor,
            switched,
            c.performance_penalty,
        )

    def cost_per_unit(self, c, case):
        made = case.model.output[self._producers(c, case)].sum()
        days = max(case.horizon - int(round(c.lead_days)), 0)
        return _price(c, case, c.output) * made * days

    def fields(self, c, amount, case):
        return {
            "output": c.output,
            "input": c.input,
            "factor": c.factor,
            "share": float(amount),
            "lead_days": c.lead_days,
            "regions": list(c.regions),
            "cost_penalty": _price(c, case, c.output),
            "performance_penalty": c.performance_penalty,
        }


@measure_kind
class QualificationKind(MeasureKind):
    """Qualify standby suppliers now (yes or no): their links to the regions' buyers open
    ``lead_days`` after the start instead of after the first shortage plus their own
    qualification time; a fixed cost."""

    name = "qualification"
    event_type = "supplier_switch"
    unit = "yes/no"
    integer = True

    needs = ("commodity", "suppliers")

    def upper(self, c):
        return 1.0

    def _links(self, c, case) -> np.ndarray:
        model = case.model
        buyers = set(int(s) for s in model.slots_of(c.commodity, list(c.regions)))
        suppliers = np.flatnonzero(np.isin(model.producer_ids.astype(str), list(c.suppliers)))
        return np.flatnonzero(
            np.isin(model.link_supplier, suppliers)
            & np.isin(model.link_slot, list(buyers))
            & model.link_alternative
        )

    def model_slots(self, c, case):
        links = self._links(c, case)
        if not len(links):
            raise DataError(
                f"'{c.id}': none of {', '.join(c.suppliers)} is a standby supplier of "
                f"'{c.commodity}' to {', '.join(c.regions)} (alternative links in the data)",
                field="suppliers",
            )
        return case.model.link_slot[links]

    def effect(self, c, case):
        model = case.model
        wanted = set(int(k) for k in self._links(c, case))
        positions = np.array([i for i, k in enumerate(case.links) if int(k) in wanted], int)
        exo = case.exogenous
        extra = np.zeros((len(case.draws), len(case.period_start), len(positions)))
        day = np.arange(case.horizon)[:, None]
        for j, i in enumerate(positions):
            k = case.links[i]
            supplier = model.link_supplier[k]
            cap = model.capacity[supplier] * _capacity_multiplier(exo, supplier, case)
            spare = np.maximum(cap - model.output[supplier], 0.0) * _weight(model, k)
            data_ready = exo.link_ready[k][None, :]
            if model.link_from_data[k]:
                data_ready = np.minimum(data_ready, case.first_shock + model.link_qualification[k])
            early = (day >= c.lead_days) & (day < data_ready)
            daily = np.broadcast_to(np.where(early, spare, 0.0), (case.horizon, len(case.draws)))
            extra[:, :, j] = case.period_sum(daily).T
        return LinkEffect(positions, extra)

    def cost_per_unit(self, c, case):
        return c.unit_cost

    def fields(self, c, amount, case):
        return {
            "commodity": c.commodity,
            "suppliers": list(c.suppliers),
            "regions": list(c.regions),
            "qualification_days": c.lead_days,
            "start": 0,
        }


def _capacity_multiplier(exo, producer: int, case) -> np.ndarray:
    rows = np.flatnonzero(exo.capacity.rows == producer)
    if not len(rows):
        return np.ones((case.horizon, 1))
    return exo.capacity.values[:, exo.capacity.pattern[rows[0]], :]


def _weight(model, link: int) -> float:
    alternative = np.flatnonzero(
        model.link_alternative & (model.link_supplier == model.link_supplier[link])
    )
    total = model.slot_use[model.link_slot[alternative]].sum()
    return float(model.slot_use[model.link_slot[link]] / total) if total > 0 else 1.0
