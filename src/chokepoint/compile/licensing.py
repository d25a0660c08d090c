"""Export licensing: the share of a flow's volume holding a valid licence, day by day.

One ``export_licensing`` event has ``F`` flows of ``C`` contracts each; contract ``c`` of a
flow carries volume ∝ ``(c + 1) ** -size_exponent`` (0: equal contracts). A draw is a
simulation in continuous time (days) of the event's contracts and its licensing authority:

* **apply**: a contract first applies on the regime's first day (the initial wave), or on
  a day drawn over ``spread`` days after it; then for renewal ``lead`` days before its
  licence ends, or after a wait when refused. Nobody applies while the requirement is
  suspended (the application moves to the suspension's end) nor from the window's end on.
* **queue**: the authority decides ``rate`` applications a day (per phase: capacity changes
  by date; 0 is a stall; inf decides at once), one at a time, first come first served or
  the largest contracts first; applications of a fast-track channel before all others.
  Other applications (``background`` a day, evenly spaced) take turns too.
* **decide**: after its turn an application waits the processing delay (drawn, whole days,
  from the phase in force at its turn, or the channel's), then is approved with the odds in
  force at the decision (or the channel's): the licence runs from the decision (or from the
  end of the one held) to the decision plus the validity in force (a general licence's if
  the contract holds one). Refused, it applies again after the wait.
* **actions**: on a grant's day the largest contracts holding ``share`` of each flow reached
  (those whose middle lies within it, so the share is met to the nearest contract) get a
  general licence with some odds; on a revocation's day a share of the contracts lose
  theirs and apply again.

The gate of a day is the share of the flow's volume holding a valid licence (1 on suspended
days and outside the window). Events on the same day run in the order decision, revocation,
grant, end of a turn, application, other application; then by contract.

When every phase decides at once and no other applications compete, contracts never wait
for one another and each is simulated alone: with one phase, equal contracts, a single wave
and no actions this is the model before the authority (:func:`licence_gates`). Random
numbers are keyed by (seed, event, ``(link + 1) * 8 + purpose``, draw, ``contract +
C * number``), as before, so any draw can be computed alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

import numpy as np
from numba import njit

from chokepoint.compile.rng import sample, uniform

DELAY, APPROVAL, WAIT, FIRST, REVOKE, GRANT = 0, 1, 2, 3, 4, 5
"""Purposes of a flow's random numbers."""
DECISION, REVOCATION, GRANTING, SERVED, APPLY, OTHER = 0, 1, 2, 3, 4, 5
"""Kinds of event, in the order they run on the same day."""
IDLE, WAITING, SERVING, DECIDING = 0, 1, 2, 3
"""Stages of a contract: next application planned, in the queue, having its turn, decided
on ``t_next``."""
ARRIVAL, VOLUME = 0, 1
"""Queue orders."""
SUMS = 5
"""Per-flow sums: delay (filing to decision) and decisions, applications, wait (filing to
turn) and turns."""


@dataclass
class Authority:
    """An event's authority and actions in the kernel's form. ``P`` phases (the first from
    -inf), ``K`` channels, ``G`` grants, ``R`` revocations, ``S`` suspensions, ``F`` flows
    and ``J`` draws; per-draw values are ``[..., J]``."""

    begin: np.ndarray  # [P]
    rate: np.ndarray  # [P, J] decisions per day (inf: at once)
    approval: np.ndarray  # [P, J]
    validity: np.ndarray  # [P, J]
    delay_code: np.ndarray  # [P]
    delay_params: np.ndarray  # [P, 4]
    lead: np.ndarray  # [J]
    wait_code: int
    wait_params: np.ndarray  # [4]
    size_exponent: np.ndarray  # [J]
    initial: np.ndarray  # [J]
    spread: np.ndarray  # [J]
    background: np.ndarray  # [J] other applications a day
    priority: int = ARRIVAL
    channel_begin: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [K]
    channel_until: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [K]
    channel_reach: np.ndarray | None = None  # [K, F] bool
    channel_approval: np.ndarray | None = None  # [K, J], NaN: the phase's
    channel_validity: np.ndarray | None = None  # [K, J], NaN: the phase's
    channel_code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # -1
    channel_params: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    grant_day: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [G]
    grant_share: np.ndarray | None = None  # [G, J]
    grant_probability: np.ndarray | None = None  # [G, J]
    grant_validity: np.ndarray | None = None  # [G, J]
    grant_reach: np.ndarray | None = None  # [G, F] bool
    revoke_day: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [R]
    revoke_share: np.ndarray | None = None  # [R, J]
    revoke_reach: np.ndarray | None = None  # [R, F] bool
    suspend_begin: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [S]
    suspend_until: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [S]

    def filled(self, flows: int) -> Authority:
        """Channel, grant and revocation arrays not given, shaped for ``flows`` flows (a
        channel's odds and validity NaN: the phase's)."""
        draws = len(self.lead)

        def shaped(value, rows: int, cols: int, dtype=float, fill=0.0):
            return np.full((rows, cols), fill, dtype) if value is None else value

        k, g, r = len(self.channel_begin), len(self.grant_day), len(self.revoke_day)
        self.channel_reach = shaped(self.channel_reach, k, flows, np.bool_)
        self.channel_approval = shaped(self.channel_approval, k, draws, fill=np.nan)
        self.channel_validity = shaped(self.channel_validity, k, draws, fill=np.nan)
        self.grant_share = shaped(self.grant_share, g, draws)
        self.grant_probability = shaped(self.grant_probability, g, draws)
        self.grant_validity = shaped(self.grant_validity, g, draws)
        self.grant_reach = shaped(self.grant_reach, g, flows, np.bool_)
        self.revoke_share = shaped(self.revoke_share, r, draws)
        self.revoke_reach = shaped(self.revoke_reach, r, flows, np.bool_)
        return self

    PER_DRAW: ClassVar[tuple[str, ...]] = (
        "rate", "approval", "validity", "lead", "size_exponent", "initial", "spread",
        "background", "channel_approval", "channel_validity", "grant_share",
        "grant_probability", "grant_validity", "revoke_share",
    )  # fmt: skip

    def draws(self, lo: int, hi: int) -> Authority:
        """The authority of draws ``lo:hi`` (per-draw arrays cut on their last axis)."""
        cut = {
            name: getattr(self, name)[..., lo:hi]
            for name in self.PER_DRAW
            if getattr(self, name) is not None
        }
        return replace(self, **cut)

    @property
    def independent(self) -> bool:
        """Whether contracts never wait for one another (each can be simulated alone)."""
        return bool(np.all(np.isposinf(self.rate)) and not np.any(self.background > 0))


@dataclass
class Licensing:
    """What the kernel gives for one event, per flow ``i`` and draw ``j``."""

    gate: np.ndarray  # [day, flow, draw] share of the volume holding a valid licence
    gated: np.ndarray  # [flow, draw] days without a licence (volume-weighted), in the window
    delay: np.ndarray  # [flow, draw] mean days from filing to decision (decided ones)
    wait: np.ndarray  # [flow, draw] mean days from filing to the turn (queue wait)
    applications: np.ndarray  # [flow, draw] applications filed in the window
    backlog_peak: np.ndarray  # [draw] most applications filed and undecided, per contract

    @classmethod
    def join(cls, parts: list[Licensing]) -> Licensing:
        """Results of consecutive chunks of draws as one."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts], axis=-1)
                     for f in fields(cls)))  # fmt: skip

    @classmethod
    def empty(cls, horizon: int, flows: int, draws: int) -> Licensing:
        per_flow = (flows, draws)
        return cls(
            np.empty((horizon, flows, draws)),
            np.empty(per_flow),
            np.empty(per_flow),
            np.empty(per_flow),
            np.empty(per_flow),
            np.empty(draws),
        )


# ------------------------------------------------------------------------- small rules


@njit(cache=True, nogil=True, inline="always")
def phase_at(begin: np.ndarray, t: float) -> int:
    """The phase in force on day ``t`` (phases by ``begin``, the first from -inf)."""
    p = 0
    while p + 1 < begin.shape[0] and begin[p + 1] <= t:
        p += 1
    return p


@njit(cache=True, nogil=True, inline="always")
def completion(begin: np.ndarray, rate: np.ndarray, j: int, t: float) -> float:
    """When an application whose turn starts on day ``t`` ends it: one decision's worth of
    the capacity in force, phase by phase (inf when it never does)."""
    p = phase_at(begin, t)
    remaining, now = 1.0, t
    while True:
        current = rate[p, j]
        if current == np.inf:
            return now
        stop = begin[p + 1] if p + 1 < begin.shape[0] else np.inf
        if current > 0 and now + remaining / current <= stop:
            return now + remaining / current
        if stop == np.inf:
            return np.inf
        remaining -= current * (stop - now)
        now, p = stop, p + 1


@njit(cache=True, nogil=True, inline="always")
def after_suspensions(begin: np.ndarray, until: np.ndarray, last: float, t: float) -> float:
    """The day an application planned for ``t`` is filed: after any suspension it falls in;
    inf from the window's end on."""
    moved = True
    while moved:
        moved = False
        for s in range(begin.shape[0]):
            if begin[s] <= t < until[s]:
                t, moved = until[s], True
    return t if t < last else np.inf


@njit(cache=True, nogil=True, inline="always")
def add_valid(valid: np.ndarray, first: int, span: int, i: int, begin, finish, w) -> None:
    """Count volume ``w`` of flow ``i`` as licensed on days ``[ceil(begin), ceil(finish))``."""
    lo = int(min(max(np.ceil(begin) - first, 0.0), span))
    hi = int(min(max(np.ceil(finish) - first, 0.0), span))
    valid[i, lo] += w
    valid[i, hi] -= w


@njit(cache=True, nogil=True, inline="always")
def count(backlog: np.ndarray, first: int, span: int, t: float, change: float) -> None:
    backlog[int(min(max(np.ceil(t) - first, 0.0), span))] += change


@njit(cache=True, nogil=True, inline="always")
def before(a0: float, a1: float, a2: float, b0: float, b1: float, b2: float) -> bool:
    """Lexicographic (a0, a1, a2) < (b0, b1, b2)."""
    if a0 != b0:
        return a0 < b0
    if a1 != b1:
        return a1 < b1
    return a2 < b2


@njit(cache=True, nogil=True, inline="always")
def route(begin: np.ndarray, until: np.ndarray, reach: np.ndarray, i: int, t: float) -> int:
    """The channel an application of flow ``i`` filed on day ``t`` goes to (-1: none)."""
    k = -1
    for n in range(begin.shape[0]):
        if begin[n] <= t < until[n] and reach[n, i]:
            k = n
    return k


@njit(cache=True, nogil=True, inline="always")
def in_force(values: np.ndarray, channel_values: np.ndarray, begin, k: int, t: float, j: int):
    """A value (odds, validity) in force on day ``t``: the channel's unless NaN or none."""
    if k >= 0 and not np.isnan(channel_values[k, j]):
        return channel_values[k, j]
    return values[phase_at(begin, t), j]


# ------------------------------------------------------------------- one group of contracts
# Tuples the handlers share (numba compiles them to structs):
#   run (seed, event, contracts, start, last, first, span, draw, j, priority, flows, weight)
#   st  (t_next, filed, covered, general, stage, applied, number, channel, valid, sums,
#        backlog): per-contract state [N] and outputs
#   sv  [busy, serving, t_done, t_other, others, head, tail]: the server; ``waiting`` the
#       other applications' filing days
#   ph  (begin, rate, approval, validity, delay_code, delay_params): the phases
#   ch  (begin, until, reach, approval, validity, delay_code, delay_params): the channels
#   cy  (lead, wait_code, wait_params, suspend_begin, suspend_until)


@njit(cache=True, nogil=True, inline="always")
def take_turn(run, st, ph, ch, g: int, t: float) -> None:
    """Contract ``g``'s application has its turn on day ``t``: decided after the delay."""
    seed, event, contracts, draw, flows = run[0], run[1], run[2], run[7], run[10]
    t_next, filed, stage, number, channel, sums = st[0], st[1], st[4], st[6], st[7], st[9]
    i, c, k = g // contracts, g % contracts, channel[g]
    if k >= 0 and ch[5][k] >= 0:
        code, params = ch[5][k], ch[6][k]
    else:
        p = phase_at(ph[0], t)
        code, params = ph[4][p], ph[5][p]
    key = c + contracts * number[g]
    delay = sample(code, params, seed, event, (flows[i] + 1) * 8 + DELAY, draw, key)
    stage[g], t_next[g] = DECIDING, t + max(np.rint(delay), 0.0)
    sums[i, 3] += t - filed[g]
    sums[i, 4] += 1.0


@njit(cache=True, nogil=True, inline="always")
def next_turn(run, st, sv, waiting, ph, ch, lo: int, hi: int, t: float) -> None:
    """A free server gives the next turn on day ``t`` (channels first, then by arrival or
    size); at unlimited capacity that turn ends at once, and the next one starts."""
    while sv[0] == 0.0:
        contracts, j, priority, weight = run[2], run[8], run[9], run[11]
        filed, stage, channel = st[1], st[4], st[7]
        best, k0, k1, k2 = -1, np.inf, np.inf, np.inf
        for g in range(lo, hi):
            if stage[g] == WAITING:
                a0 = 0.0 if channel[g] >= 0 else 1.0
                a1 = -weight[g % contracts] if priority == VOLUME else filed[g]
                a2 = filed[g] if priority == VOLUME else 0.0
                if before(a0, a1, a2, k0, k1, k2):
                    best, k0, k1, k2 = g, a0, a1, a2
        head, tail = int(sv[5]), int(sv[6])
        if head < tail:
            a1 = -weight.mean() if priority == VOLUME else waiting[head]
            a2 = waiting[head] if priority == VOLUME else 0.0
            if before(1.0, a1, a2, k0, k1, k2):
                best = -1
                sv[5] += 1
            elif best < 0:
                return
        elif best < 0:
            return
        if best >= 0:
            stage[best] = SERVING
        done = completion(ph[0], ph[1], j, t)
        sv[0], sv[1], sv[2] = 1.0, float(best), done
        if done == t:
            end_turn(run, st, sv, ph, ch, t)


@njit(cache=True, nogil=True, inline="always")
def end_turn(run, st, sv, ph, ch, t: float) -> None:
    """The turn of the application being served ends on day ``t``."""
    sv[0], sv[2] = 0.0, np.inf
    if sv[1] >= 0:
        take_turn(run, st, ph, ch, int(sv[1]), t)
    else:  # another application: it only takes the capacity
        count(st[10], run[5], run[6], t, -1.0)


@njit(cache=True, nogil=True, inline="always")
def file_application(run, st, ch, g: int, t: float) -> None:
    """Contract ``g`` files an application on day ``t`` and joins the queue."""
    contracts, first, span = run[2], run[5], run[6]
    i = g // contracts
    st[4][g], st[1][g], st[6][g] = WAITING, t, st[5][g]
    st[5][g] += 1
    st[9][i, 2] += 1.0
    count(st[10], first, span, t, 1.0)
    st[7][g] = route(ch[0], ch[1], ch[2], i, t)


@njit(cache=True, nogil=True, inline="always")
def plan(run, st, cy, g: int, t: float) -> None:
    """Contract ``g`` will apply on day ``t`` (after suspensions; never from the end)."""
    st[0][g] = after_suspensions(cy[3], cy[4], run[4], t)
    st[4][g] = IDLE


@njit(cache=True, nogil=True, inline="always")
def decide(run, st, ph, ch, cy, g: int, t: float) -> None:
    """Contract ``g``'s application is decided on day ``t``."""
    seed, event, contracts, first, span, draw, j, flows = run[:3] + run[5:9] + run[10:11]
    t_next, filed, covered, general, stage, _, number, channel, valid, sums, backlog = st
    lead, wait_code, wait_params = cy[0], cy[1], cy[2]
    i, c, k = g // contracts, g % contracts, channel[g]
    sums[i, 0] += t - filed[g]
    sums[i, 1] += 1.0
    count(backlog, first, span, t, -1.0)
    base, key = (flows[i] + 1) * 8, c + contracts * number[g]
    odds = in_force(ph[2], ch[3], ph[0], k, t, j)
    if uniform(seed, event, base + APPROVAL, draw, key) < odds:
        days = general[g] if general[g] > 0 else in_force(ph[3], ch[4], ph[0], k, t, j)
        begin, finish = max(t, covered[g]), t + days
        if finish > begin:
            add_valid(valid, first, span, i, begin, finish, run[11][c])
        covered[g] = max(covered[g], finish)
        plan(run, st, cy, g, max(covered[g] - lead[j], t + 1.0))
    else:
        wait = sample(wait_code, wait_params, seed, event, base + WAIT, draw, key)
        plan(run, st, cy, g, t + max(np.rint(wait), 1.0))


@njit(cache=True, nogil=True, inline="always")
def revoke(run, st, cy, ac, lo: int, hi: int, r: int, t: float) -> None:
    """Revocation ``r`` on day ``t``: the contracts drawn lose their licence and apply."""
    seed, event, contracts, first, span, draw, j, flows, weight = run[:3] + run[5:9] + run[10:12]
    covered, general, stage, valid = st[2], st[3], st[4], st[8]
    share, reach = ac[7], ac[8]
    for g in range(lo, hi):
        i, c = g // contracts, g % contracts
        base = (flows[i] + 1) * 8
        if (
            reach[r, i]
            and uniform(seed, event, base + REVOKE, draw, c + contracts * r) < share[r, j]
        ):
            general[g] = 0.0
            if covered[g] > t:
                add_valid(valid, first, span, i, t, covered[g], -weight[c])
                covered[g] = t
                if stage[g] == IDLE:
                    plan(run, st, cy, g, t)


@njit(cache=True, nogil=True, inline="always")
def grant(run, st, cy, ac, lo: int, hi: int, top, q: int, t: float) -> None:
    """Grant ``q`` on day ``t``: general licences for the largest contracts of the flows
    reached, those whose middle (``top``: the share of the volume before it plus half its
    own) lies within the grant's share, each with the grant's odds."""
    seed, event, contracts, first, span, draw, j, flows, weight = run[:3] + run[5:9] + run[10:12]
    covered, general, stage, valid = st[2], st[3], st[4], st[8]
    share, odds, validity, reach = ac[2], ac[3], ac[4], ac[5]
    for g in range(lo, hi):
        i, c = g // contracts, g % contracts
        if not reach[q, i] or top[c] >= share[q, j]:
            continue
        base = (flows[i] + 1) * 8
        if uniform(seed, event, base + GRANT, draw, c + contracts * q) >= odds[q, j]:
            continue
        general[g] = validity[q, j]
        begin, finish = max(t, covered[g]), t + general[g]
        if finish > begin:
            add_valid(valid, first, span, i, begin, finish, weight[c])
        covered[g] = max(covered[g], finish)
        if stage[g] == IDLE:
            plan(run, st, cy, g, max(covered[g] - cy[0][j], t + 1.0))


@njit(cache=True, nogil=True, inline="always")
def other_application(run, st, sv, waiting, cy, rate: float, t: float) -> None:
    """Another application joins the queue on day ``t``; the next comes ``1 / rate`` later."""
    count(st[10], run[5], run[6], t, 1.0)
    waiting[int(sv[6])] = t
    sv[6] += 1
    sv[3] = after_suspensions(cy[3], cy[4], run[4], t + 1.0 / rate)


@njit(cache=True, nogil=True, inline="always")
def simulate_group(run, st, sv, waiting, ph, ch, cy, ac, lo: int, hi: int, top, rate: float):
    """Run contracts ``lo:hi`` (and the other applications) in time order."""
    t_next, stage = st[0], st[4]
    acts, grant_day, revoke_day = ac[0], ac[1], ac[6]
    a = 0
    while True:
        bt, bk, bi = np.inf, 9, -1
        for g in range(lo, hi):
            if stage[g] == IDLE or stage[g] == DECIDING:
                kind = APPLY if stage[g] == IDLE else DECISION
                if t_next[g] < bt or (t_next[g] == bt and kind < bk):
                    bt, bk, bi = t_next[g], kind, g
        if a < acts.shape[0]:
            kind, number = acts[a, 0], acts[a, 1]
            day = revoke_day[number] if kind == REVOCATION else grant_day[number]
            if day < bt or (day == bt and kind < bk):
                bt, bk, bi = day, kind, number
        if sv[0] == 1.0 and (sv[2] < bt or (sv[2] == bt and SERVED < bk)):
            bt, bk, bi = sv[2], SERVED, 0
        if sv[3] < bt:
            bt, bk, bi = sv[3], OTHER, 0
        if bt == np.inf:
            return
        if bk == DECISION:
            decide(run, st, ph, ch, cy, bi, bt)
        elif bk == REVOCATION:
            revoke(run, st, cy, ac, lo, hi, bi, bt)
            a += 1
        elif bk == GRANTING:
            grant(run, st, cy, ac, lo, hi, top, bi, bt)
            a += 1
        elif bk == SERVED:
            end_turn(run, st, sv, ph, ch, bt)
        elif bk == APPLY:
            file_application(run, st, ch, bi, bt)
        else:
            other_application(run, st, sv, waiting, cy, rate, bt)
        if sv[0] == 0.0:
            next_turn(run, st, sv, waiting, ph, ch, lo, hi, bt)


# ---------------------------------------------------------------------------------- draws


@njit(cache=True, nogil=True)
def first_day(seed, event, base, contracts, c, draw, start, initial, spread) -> float:
    """The day contract ``c`` first applies: the first day in the initial wave (chance
    ``initial``), else a day drawn over ``spread`` days after it."""
    if initial >= 1.0 or uniform(seed, event, base + FIRST, draw, c) < initial:
        return start
    return start + spread * uniform(seed, event, base + FIRST, draw, contracts + c)


@njit(cache=True, nogil=True)
def write_draw(run, st, lifted, out, j: int) -> None:
    """The gates, gated days, delays, waits and backlog peak of the draw just run."""
    first, span, weight = run[5], run[6], run[11]
    valid, sums, backlog = st[8], st[9], st[10]
    gate, gated, delay, wait, applications, peak = out
    total = weight.sum()
    for i in range(gated.shape[0]):
        gate[:, i, j] = 1.0
        running, closed = 0.0, 0.0
        for d in range(span):
            running += valid[i, d]
            share = 1.0 if lifted[d] else min(max(running / total, 0.0), 1.0)
            gate[first + d, i, j] = share
            closed += 1.0 - share
        gated[i, j] = closed
        delay[i, j] = sums[i, 0] / sums[i, 1] if sums[i, 1] else np.nan
        wait[i, j] = sums[i, 3] / sums[i, 4] if sums[i, 4] else np.nan
        applications[i, j] = sums[i, 2]
    level, most = 0.0, 0.0
    for d in range(span):
        level += backlog[d]
        most = max(most, level)
    peak[j] = most / st[0].shape[0]


@njit(cache=True, nogil=True)
def licence_kernel(scalars, flows, draws, ph, ch, cy, per_draw, ac, lifted, out) -> None:
    """Every draw of one event: ``scalars`` (seed, event, contracts, start, last, first,
    span, priority, independent, others), ``per_draw`` (lead, size exponent, initial share,
    spread, other applications a day)."""
    seed, event, contracts, start, last, first, span, priority, alone, others = scalars
    lead, exponent, initial, spread, background = per_draw
    n = contracts * flows.shape[0]
    weight, top = np.zeros(contracts), np.zeros(contracts)
    st = (
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, np.int64),
        np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
        np.zeros((flows.shape[0], span + 1)), np.zeros((flows.shape[0], SUMS)),
        np.zeros(span + 1),
    )  # fmt: skip
    sv, waiting = np.zeros(7), np.zeros(others + 1)
    for j in range(draws.shape[0]):
        for c in range(contracts):
            weight[c] = (c + 1.0) ** -exponent[j]
        for c in range(contracts):
            top[c] = (weight[:c].sum() + 0.5 * weight[c]) / weight.sum()
        st[0][:], st[1][:], st[2][:], st[3][:] = np.inf, 0.0, -np.inf, 0.0
        st[4][:], st[5][:], st[6][:], st[7][:] = IDLE, 0, 0, -1
        st[8][:, :], st[9][:, :], st[10][:] = 0.0, 0.0, 0.0
        run = (seed, event, contracts, start, last, first, span, draws[j], j, priority, flows,
               weight)  # fmt: skip
        for g in range(n):
            base = (flows[g // contracts] + 1) * 8
            t = first_day(seed, event, base, contracts, g % contracts, draws[j], start,
                          initial[j], spread[j])  # fmt: skip
            plan(run, st, cy, g, t)
        rate = background[j]
        sv[:] = (0.0, -1.0, np.inf, np.inf, 0.0, 0.0, 0.0)
        if rate > 0:
            sv[3] = after_suspensions(cy[3], cy[4], last, start + 1.0 / rate)
        for group in range(n if alone else 1):  # alone: each contract by itself
            lo, hi = (group, group + 1) if alone else (0, n)
            simulate_group(run, st, sv, waiting, ph, ch, cy, ac, lo, hi, top, rate)
        write_draw(run, st, lifted, out, j)


# -------------------------------------------------------------------------------- entries


def action_order(authority: Authority) -> np.ndarray:
    """``[A, 2]`` (kind, number) of the revocations and grants, by day, kind and number."""
    rows = [(day, REVOCATION, r) for r, day in enumerate(authority.revoke_day)]
    rows += [(day, GRANTING, q) for q, day in enumerate(authority.grant_day)]
    rows.sort()
    return np.array([(kind, number) for _, kind, number in rows], np.int64).reshape(-1, 2)


def run_licensing(
    seed: int,
    event: int,
    flows: np.ndarray,
    draws: np.ndarray,
    contracts: int,
    window: tuple[int, int, int],
    authority: Authority,
) -> Licensing:
    """The gates and statistics of one licensing event for the flows (link ids, which key
    the random numbers) and draws; ``window`` is (start, end, horizon) in days."""
    start, end, horizon = window
    flows, draws = np.asarray(flows, np.int64), np.asarray(draws, np.int64)
    au = authority.filled(len(flows))
    first, last = max(int(start), 0), min(int(end), horizon)
    span = max(last - first, 0)
    days = np.arange(first, first + span, dtype=float)
    lifted = np.zeros(span, np.bool_)
    for begin, until in zip(au.suspend_begin, au.suspend_until, strict=True):
        lifted |= (days >= begin) & (days < until)
    others = int(np.ceil(max(last - start, 0) * float(np.max(au.background, initial=0.0))))
    out = Licensing.empty(horizon, len(flows), len(draws))
    scalars = (int(seed), int(event), int(contracts), float(start), float(last), first, span,
               int(au.priority), au.independent, others)  # fmt: skip
    phases = (np.asarray(au.begin, float), au.rate, au.approval, au.validity,
              np.asarray(au.delay_code, np.int64), np.asarray(au.delay_params, float))  # fmt: skip
    channels = (np.asarray(au.channel_begin, float), np.asarray(au.channel_until, float),
                au.channel_reach, au.channel_approval, au.channel_validity,
                np.asarray(au.channel_code, np.int64),
                np.asarray(au.channel_params, float))  # fmt: skip
    cycle = (au.lead, int(au.wait_code), np.asarray(au.wait_params, float),
             np.asarray(au.suspend_begin, float), np.asarray(au.suspend_until, float))  # fmt: skip
    per_draw = (au.lead, au.size_exponent, au.initial, au.spread, au.background)
    actions = (action_order(au), np.asarray(au.grant_day, float), au.grant_share,
               au.grant_probability, au.grant_validity, au.grant_reach,
               np.asarray(au.revoke_day, float), au.revoke_share, au.revoke_reach)  # fmt: skip
    outputs = (out.gate, out.gated, out.delay, out.wait, out.applications, out.backlog_peak)
    licence_kernel(scalars, flows, draws, phases, channels, cycle, per_draw, actions, lifted,
                   outputs)  # fmt: skip
    return out


def open_authority(
    approval: np.ndarray,
    validity: np.ndarray,
    lead: np.ndarray,
    delay: tuple[int, np.ndarray],
    wait: tuple[int, np.ndarray],
) -> Authority:
    """The authority of the model before it: unlimited capacity, one set of values, equal
    contracts all applying on the first day, no other applications and no actions."""
    draws = len(approval)
    return Authority(
        begin=np.full(1, -np.inf),
        rate=np.full((1, draws), np.inf),
        approval=np.asarray(approval, float).reshape(1, draws),
        validity=np.asarray(validity, float).reshape(1, draws),
        delay_code=np.full(1, delay[0], np.int64),
        delay_params=np.asarray(delay[1], float).reshape(1, 4),
        lead=np.asarray(lead, float),
        wait_code=int(wait[0]),
        wait_params=np.asarray(wait[1], float),
        size_exponent=np.zeros(draws),
        initial=np.ones(draws),
        spread=np.zeros(draws),
        background=np.zeros(draws),
    )


def licence_gates(
    seed: int,
    event: int,
    flows: np.ndarray,
    draws: np.ndarray,
    contracts: int,
    start: int,
    end: int,
    horizon: int,
    approval: np.ndarray,
    validity: np.ndarray,
    lead: np.ndarray,
    delay_code: int,
    delay_params: np.ndarray,
    wait_code: int,
    wait_params: np.ndarray,
    gate_out: np.ndarray,
    gated_out: np.ndarray,
    delay_out: np.ndarray,
) -> None:
    """The model before the authority (unlimited capacity, constant odds, equal contracts
    all applying on the first day): fill ``gate_out[day, flow, draw]``, ``gated_out[flow,
    draw]`` (gated days per contract within the window) and ``delay_out[flow, draw]``."""
    authority = open_authority(
        approval, validity, lead, (delay_code, delay_params), (wait_code, wait_params)
    )
    out = run_licensing(seed, event, flows, draws, contracts, (start, end, horizon), authority)
    gate_out[...], gated_out[...], delay_out[...] = out.gate, out.gated, out.delay
