"""An ``export_licensing`` event as the licensing kernel's :class:`Authority`: per-draw
values of its contracts, the authority's phases and channels, its grants of general licences
and the revocations and suspensions that name it (``licence_revocation`` /
``licence_suspension`` events).

Every uncertain value is drawn once per draw from its own named stream (e.g.
``authority.schedule[1].approval_probability``), so a value does not change when another is
added. Capacities are given per week as a share of the event's contracts and become
decisions per day here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chokepoint.compile.licensing import ARRIVAL, VOLUME, Authority
from chokepoint.errors import ScenarioError
from chokepoint.network.countries import region_codes
from chokepoint.scenario.distributions import code as distribution_code
from chokepoint.scenario.shocks import LicenceAction, LicenceRevocation

if TYPE_CHECKING:
    from chokepoint.compile.context import CompileContext
    from chokepoint.scenario import ExportLicensing

DAYS_PER_WEEK = 7.0


def reaching(
    ctx: CompileContext,
    links: np.ndarray,
    destinations: list[str] | None,
    customers: list[str] | None,
    commodity: list[str] | None = None,
) -> np.ndarray:
    """``[flow]``: which links go to the destinations and customers, of the commodities
    (all when not given)."""
    model = ctx.model
    mask = np.ones(len(links), np.bool_)
    slots = model.link_slot[links]
    if destinations:
        places = set().union(*(region_codes(c) for c in destinations))
        mask &= np.isin(model.slot_location[slots].astype(str), list(places))
    if customers:
        mask &= np.isin(model.slot_holder[slots].astype(str), customers)
    if commodity:
        made = model.producer_commodity[model.link_supplier[links]].astype(str)
        mask &= np.isin(made, commodity)
    return mask


def authority_of(
    ctx: CompileContext, event: ExportLicensing, links: np.ndarray, position: int
) -> Authority:
    """The kernel's form of the event: phases, channels, grants and actions."""
    n = event.contracts * len(links)
    value = _values(ctx, position, n)
    apps = event.applications
    authority = Authority(
        **_phases(ctx, event, position, value),
        lead=value("renewal_lead_days", event.renewal_lead_days),
        wait_code=distribution_code(event.reapply_days)[0],
        wait_params=distribution_code(event.reapply_days)[1],
        size_exponent=value("size_exponent", event.size_exponent),
        initial=value("applications.initial_share", apps.initial_share),
        spread=value("applications.spread_days", apps.spread_days),
        background=value("applications.new_buyers_per_week", apps.new_buyers_per_week)
        * n
        / DAYS_PER_WEEK,
        priority=VOLUME if event.authority.priority == "volume" else ARRIVAL,
    )
    _channels(ctx, event, links, position, value, authority)
    _grants(ctx, event, links, position, value, authority)
    _actions(ctx, links, position, authority)
    return authority


def _values(ctx: CompileContext, position: int, contracts: int):
    """``value(name, given)``: per-draw values of the parameter ``name`` (capacities as
    decisions per day, validity at least a day)."""

    def value(name: str, given: Any) -> np.ndarray:
        if name.endswith("capacity_per_week"):
            if given == "unlimited":
                return np.full(len(ctx.draws), np.inf)
            return ctx.draw(position, given, name) * contracts / DAYS_PER_WEEK
        drawn = ctx.draw(position, given, name)
        return np.maximum(drawn, 1.0) if name.endswith("validity_days") else drawn

    return value


def _phases(ctx: CompileContext, event: ExportLicensing, position: int, value) -> dict:
    """The event's own values from -inf, then each schedule entry's changes."""
    begin = [-np.inf]
    rate = [value("authority.capacity_per_week", event.authority.capacity_per_week)]
    approval = [value("approval_probability", event.approval_probability)]
    validity = [value("validity_days", event.validity)]
    delay = [distribution_code(event.processing_days)]
    for number, entry in enumerate(event.authority.schedule):
        name = f"authority.schedule[{number}]"
        day = float(ctx.scenario.day(entry.from_))
        if day <= begin[-1]:
            raise ScenarioError(
                "schedule entries must be in date order", field=f"events[{position}].{name}.from"
            )
        begin.append(day)

        def kept(key: str, given: Any, previous: list, name: str = name) -> None:
            previous.append(previous[-1] if given is None else value(f"{name}.{key}", given))

        kept("capacity_per_week", entry.capacity_per_week, rate)
        kept("approval_probability", entry.approval_probability, approval)
        kept("validity_days", entry.validity_days, validity)
        given = entry.processing_days
        delay.append(delay[-1] if given is None else distribution_code(given))
    return {
        "begin": np.array(begin),
        "rate": np.vstack(rate),
        "approval": np.vstack(approval),
        "validity": np.vstack(validity),
        "delay_code": np.array([code for code, _ in delay], np.int64),
        "delay_params": np.vstack([params for _, params in delay]).astype(float),
    }


def _channels(ctx, event, links, position: int, value, authority: Authority) -> None:
    channels = event.authority.channels
    if not channels:
        return
    nan = np.full(len(ctx.draws), np.nan)
    rows: dict[str, list] = {k: [] for k in ("begin", "until", "reach", "odds", "days", "code")}
    params = []
    for number, channel in enumerate(channels):
        name = f"authority.channels[{number}]"
        rows["begin"].append(float(ctx.scenario.day(channel.from_)))
        rows["until"].append(float(ctx.scenario.day(channel.until, default=10**9)))
        rows["reach"].append(reaching(ctx, links, channel.destinations, channel.customers))
        odds = channel.approval_probability
        rows["odds"].append(nan if odds is None else value(f"{name}.approval_probability", odds))
        days = channel.validity_days
        rows["days"].append(nan if days is None else value(f"{name}.validity_days", days))
        code, param = (-1, np.zeros(4))
        if channel.processing_days is not None:
            code, param = distribution_code(channel.processing_days)
        rows["code"].append(code)
        params.append(param)
    authority.channel_begin = np.array(rows["begin"])
    authority.channel_until = np.array(rows["until"])
    authority.channel_reach = np.vstack(rows["reach"])
    authority.channel_approval = np.vstack(rows["odds"])
    authority.channel_validity = np.vstack(rows["days"])
    authority.channel_code = np.array(rows["code"], np.int64)
    authority.channel_params = np.vstack(params).astype(float)


def _grants(ctx, event, links, position: int, value, authority: Authority) -> None:
    grants = event.authority.general_licences
    if not grants:
        return
    names = [f"authority.general_licences[{n}]" for n in range(len(grants))]
    authority.grant_day = np.array([float(ctx.scenario.day(g.from_)) for g in grants])
    authority.grant_share = np.vstack(
        [value(f"{n}.share", g.share) for n, g in zip(names, grants, strict=True)]
    )
    authority.grant_probability = np.vstack(
        [
            value(f"{n}.approval_probability", g.approval_probability)
            for n, g in zip(names, grants, strict=True)
        ]
    )
    authority.grant_validity = np.vstack(
        [value(f"{n}.validity_days", g.validity_days) for n, g in zip(names, grants, strict=True)]
    )
    authority.grant_reach = np.vstack(
        [reaching(ctx, links, g.destinations, g.customers, g.commodity) for g in grants]
    )


def _actions(ctx: CompileContext, links: np.ndarray, position: int, authority: Authority):
    """The revocations and suspensions of other events that name this one."""
    scenario = ctx.scenario
    revoked: dict[str, list] = {"day": [], "share": [], "reach": []}
    lifted: dict[str, list] = {"from": [], "until": []}
    for number, other in enumerate(scenario.events):
        if not isinstance(other, LicenceAction) or position not in other.targets(scenario, number):
            continue
        if isinstance(other, LicenceRevocation):
            revoked["day"].append(float(scenario.day(other.start)))
            revoked["share"].append(ctx.draw(number, other.share, "share"))
            revoked["reach"].append(reaching(ctx, links, other.destinations, other.customers))
        else:
            lifted["from"].append(float(scenario.day(other.start)))
            lifted["until"].append(float(scenario.day(other.end, default=10**9)))
    if revoked["day"]:
        authority.revoke_day = np.array(revoked["day"])
        authority.revoke_share = np.vstack(revoked["share"])
        authority.revoke_reach = np.vstack(revoked["reach"])
    authority.suspend_begin = np.array(lifted["from"], float)
    authority.suspend_until = np.array(lifted["until"], float)
