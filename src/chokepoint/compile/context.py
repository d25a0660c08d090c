"""The context every event compiles against: the model, the draws, the accumulators of
daily inputs, and the operations events need (selection, per-draw values, exemptions,
licence gates).

Event classes (:mod:`chokepoint.scenario.shocks`, :mod:`chokepoint.scenario.measures`) say
what they do through this one object, so the compile stage never dispatches on event type
and an event type lives in one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from chokepoint.compile import patterns, selection
from chokepoint.compile.licence_build import authority_of
from chokepoint.compile.licensing import Licensing, run_licensing
from chokepoint.compile.model import Model
from chokepoint.compile.patterns import Accumulator
from chokepoint.compile.rng import sample_draws, stream
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario.distributions import Number
from chokepoint.scenario.distributions import code as distribution_code
from chokepoint.threads import map_in_threads

if TYPE_CHECKING:
    from chokepoint.scenario import (
        Event,
        Exemption,
        ExportLicensing,
        FlowSelector,
        Scenario,
        Stockpile,
    )


@dataclass
class CompileContext:
    """One chunk of draws being compiled: inputs, accumulators and shared operations."""

    net: SupplyNetwork | None
    model: Model
    scenario: Scenario
    draws: np.ndarray
    capacity: Accumulator = field(init=False)
    gate: Accumulator = field(init=False)
    quota: Accumulator = field(init=False)
    demand: Accumulator = field(init=False)
    coef: Accumulator = field(init=False)
    scrap: Accumulator = field(init=False)
    reserve: Accumulator = field(init=False)
    """Stock released on shortage."""
    released: Accumulator = field(init=False)
    """Stock put into the holders' stocks at once."""
    air: Accumulator = field(init=False)
    """Share of a link's shipments that goes by air."""
    air_days: np.ndarray = field(init=False)
    """``[link]``: transit days by air (0: no air freight)."""
    ready: np.ndarray = field(init=False)
    """``[link, draw]``: the day each alternative link may take orders (inf: on the first
    shortage, as the data's standby suppliers)."""
    licences: list[pd.DataFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.draws = np.asarray(self.draws, dtype=np.int64)
        horizon, n = self.horizon, len(self.draws)
        self.capacity = Accumulator(horizon, n, 1.0, "multiply")
        self.gate = Accumulator(horizon, n, 1.0, "multiply")
        self.quota = Accumulator(horizon, n, np.inf, "min")
        self.demand = Accumulator(horizon, n, 1.0, "multiply")
        self.coef = Accumulator(horizon, n, 1.0, "multiply")
        self.scrap = Accumulator(horizon, n, 0.0, "max")
        self.reserve = Accumulator(horizon, n, 0.0, "add")
        self.released = Accumulator(horizon, n, 0.0, "add")
        self.air = Accumulator(horizon, n, 0.0, "max")
        self.air_days = np.zeros(self.model.n_links, dtype=np.int64)
        self.ready = np.repeat(self.model.link_ready[:, None], n, axis=1)

    # ------------------------------------------------------------------ time and draws

    @property
    def horizon(self) -> int:
        return self.scenario.horizon_days

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def days(self) -> np.ndarray:
        """``[day, 1]`` day indices, to broadcast against ``[day, draw]`` arrays."""
        return np.arange(self.horizon)[:, None]

    def window(self, event: Event) -> tuple[int, int]:
        """First and past-the-last day of an event (the horizon when it has no end)."""
        return self.scenario.window(event)

    def active(self, event: Event) -> np.ndarray:
        """``[day, 1]``: whether the event is in force."""
        start, end = self.window(event)
        return patterns.mask(self.horizon, start, end)[:, None]

    def draw(self, position: int, value: Number, name: str) -> np.ndarray:
        """One value per draw of the parameter ``name`` of event ``position``."""
        return per_draw(value, self.seed, self.draws, position, name)

    columns = staticmethod(patterns.columns)
    narrow = staticmethod(patterns.narrow)
    volume_cap = staticmethod(patterns.volume_cap)

    def ramp(self, start: float, ramp_days: np.ndarray) -> np.ndarray:
        return patterns.ramp(self.horizon, start, ramp_days)

    # ---------------------------------------------------------------------- selection

    def links(self, event: FlowSelector, position: int) -> np.ndarray:
        """The links an export measure applies to; an error when there are none."""
        links = selection.select_links(self.model, event)
        rule = getattr(event, "value_content", None)
        if rule is not None:
            if self.net is None:
                raise ScenarioError("the value-content rule needs the network", field="events")
            extra = selection.value_content_links(self.net, self.model, event)  # type: ignore[arg-type]
            links = np.union1d(links, extra)
        if len(links) == 0:
            raise ScenarioError(
                "the event matches no link in the network", field=f"events[{position}]"
            )
        return links

    def producers(self, ids: list[str], position: int) -> np.ndarray:
        return selection.producer_rows(self.model, ids, f"events[{position}]")

    def demand_slots(self, commodities: list[str], regions: list[str] | None, position: int):
        slots = np.concatenate(
            [selection.demand_slots(self.model, c, regions) for c in commodities]
        )
        if len(slots) == 0:
            raise ScenarioError(
                "the event matches no demand in the network", field=f"events[{position}]"
            )
        return slots

    def stockpile_slots(self, event: Stockpile, position: int) -> np.ndarray:
        return selection.stockpile_slots(self.model, event, f"events[{position}]")

    def producer_row(self, producer_id: str) -> int:
        return int(np.flatnonzero(self.model.producer_ids == producer_id)[0])

    # ------------------------------------------------------------ exemptions, licences

    def exempt(
        self, closed: np.ndarray, exemptions: list[Exemption], link: int, position: int
    ) -> np.ndarray:
        """Open the exempt share of a restricted flow from each applicable exemption's start."""
        result = closed
        for number in selection.exemptions_for(exemptions, self.model, link):
            exemption = exemptions[number]
            share = self.columns(
                self.draw(position, exemption.share, f"exemptions[{number}].share")
            )
            begin = self.scenario.day(exemption.start)
            floor = np.where((np.arange(self.horizon) >= begin)[:, None], share[None, :], 0.0)
            result = np.maximum(result, floor)
        return result

    def exemption_key(self, exemptions: list[Exemption], link: int) -> tuple[int, ...]:
        """Which exemptions apply to a link (links with the same key share one pattern)."""
        return selection.exemptions_for(exemptions, self.model, link)

    def licence(self, event: ExportLicensing, links: np.ndarray, position: int) -> None:
        """Gate each link by the share of its volume holding a valid licence (the licensing
        kernel, :mod:`chokepoint.compile.licensing`), and record per link and draw the days
        gated, the mean delay, the applications and the authority's backlog."""
        rule = event.value_content
        if rule is not None and not rule.exporter_flows:
            links = np.setdiff1d(links, selection.select_links(self.model, event))
            if len(links) == 0:
                raise ScenarioError(
                    "the value-content rule reaches no foreign-made goods",
                    field=f"events[{position}].value_content",
                )
        start, end = self.window(event)
        horizon, draws = self.horizon, self.draws
        flows = np.asarray(links, dtype=np.int64)
        authority = authority_of(self, event, flows, position)

        def block(lo: int, hi: int) -> Licensing:
            return run_licensing(
                self.seed, position, flows, draws[lo:hi], event.contracts,
                (start, end, horizon), authority.draws(lo, hi),
            )  # fmt: skip

        out = Licensing.join(map_in_threads(block, len(draws), 2))
        active = self.active(event).copy()
        for begin, until in zip(authority.suspend_begin, authority.suspend_until, strict=True):
            active[(self.days >= begin) & (self.days < until)] = False  # no licence, no cap
        for column, link in enumerate(links):
            share = out.gate[:, column, :]
            if self.exemption_key(event.exemptions, int(link)):
                opened = self.exempt(np.zeros((horizon, 1)), event.exemptions, int(link), position)
                share = np.maximum(share, opened)
            self.gate.apply(link, share)
            self.quota.apply(link, self.volume_cap(share, active, event.volume_headroom))
            self.licences.append(
                pd.DataFrame(
                    {
                        "event": position,
                        "order": int(link),
                        "link": self.model.link_ids[link],
                        "contracts": event.contracts,
                        "window_days": max(min(end, horizon) - max(start, 0), 0),
                        "draw": draws,
                        "gated_days": out.gated[column],
                        "mean_delay": out.delay[column],
                        "applications": out.applications[column],
                        "mean_wait": out.wait[column],
                        "backlog_peak": out.backlog_peak,
                    }
                )
            )


def per_draw(value: Number, seed: int, draws: np.ndarray, event: int, name: str) -> np.ndarray:
    """One value per draw of the parameter ``name`` (e.g. ``"capacity_loss"``,
    ``"exemptions[0].share"``) of event number ``event``, keyed by (seed, event, parameter
    name, draw): chunking-independent."""
    code, params = distribution_code(value)
    return sample_draws(code, params, seed, event, stream(name), np.asarray(draws, np.int64))
