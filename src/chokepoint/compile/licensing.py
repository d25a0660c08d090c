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
from typing import Any, ClassVar

import numpy as np
from numba import njit

from chokepoint.compile.rng import sample, uniform

UNCOUNTED: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
"""Options of the kernel's helpers: cached, without the GIL and without reference counting
(see "Speed" below)."""

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
# Speed: numba counts references to every array a function is given or takes from a tuple
# (atomic increments and decrements it cannot always prune inside loops); they cost several
# times the simulation itself. So the kernel takes arrays only, no tuples, and every
# function below but the kernel, which allocates, is compiled without reference counting
# (``_nrt=False``: numba's flag, which its own sort and string code use; they allocate
# nothing, so nothing needs counting, and numba refuses to compile one that does).
# Per-contract state is two 2-D arrays, ``fs`` (floats) and ``ist`` (integers), columns:
T_NEXT, FILED, COVERED, GENERAL, KEY0, KEY1, KEY2 = range(7)
"""``fs``: day of the next application or decision, filing day, licence end, general
licence's validity (0: none), queue key."""
STAGE, APPLIED, NUMBER, CHANNEL = range(4)
"""``ist``: stage, applications filed, number of the one pending, its channel (-1)."""
SEED, EVENT, CONTRACTS, FIRST, SPAN, PRIORITY, WAIT_CODE, ALONE = range(8)
"""``ints``: the event's integer scalars."""
RATE, ODDS, DAYS = range(3)
"""Middle axis of a phase's (and a channel's) values ``[P, 3, J]``."""
SHARE, PROBABILITY, VALIDITY = range(3)
"""Middle axis of an action's values ``[A, 3, J]`` (a revocation has a share only)."""
BUSY, SERVING, T_DONE, T_OTHER = range(4)
"""The server ``sv``: busy (0/1), whom it serves (-1: another application), when the turn
ends, when the next other application comes."""
EVENTS, QUEUED, HEAD, TAIL = range(4)
"""Sizes ``qs``: of the event heap, of the queue heap, the other applications' FIFO."""
BLOCK = 16
"""Draws whose gates are written together (along the gate's last axis, as in memory)."""


@njit(**UNCOUNTED)
def phase_at(begin: np.ndarray, t: float) -> int:
    """The phase in force on day ``t`` (phases by ``begin``, the first from -inf)."""
    p = 0
    while p + 1 < begin.shape[0] and begin[p + 1] <= t:
        p += 1
    return p


@njit(**UNCOUNTED)
def completion(begin: np.ndarray, phv: np.ndarray, j: int, t: float) -> float:
    """When an application whose turn starts on day ``t`` ends it: one decision's worth of
    the capacity in force, phase by phase (inf when it never does)."""
    p = phase_at(begin, t)
    remaining, now = 1.0, t
    while True:
        current = phv[p, RATE, j]
        if current == np.inf:
            return now
        stop = begin[p + 1] if p + 1 < begin.shape[0] else np.inf
        if current > 0 and now + remaining / current <= stop:
            return now + remaining / current
        if stop == np.inf:
            return np.inf
        remaining -= current * (stop - now)
        now, p = stop, p + 1


@njit(**UNCOUNTED)
def after_suspensions(susp: np.ndarray, last: float, t: float) -> float:
    """The day an application planned for ``t`` is filed: after any suspension (``susp``
    rows: begin, until) it falls in; inf from the window's end on."""
    moved = True
    while moved:
        moved = False
        for s in range(susp.shape[0]):
            if susp[s, 0] <= t < susp[s, 1]:
                t, moved = susp[s, 1], True
    return t if t < last else np.inf


@njit(**UNCOUNTED)
def day_index(ints: np.ndarray, t: float) -> int:
    """The window's day index of day ``t`` (0 before it, ``span`` after it)."""
    return int(min(max(np.ceil(t) - ints[FIRST], 0.0), ints[SPAN]))


@njit(**UNCOUNTED)
def add_valid(ints, valid: np.ndarray, i: int, begin: float, finish: float, w: float) -> None:
    """Count volume ``w`` of flow ``i`` as licensed on days ``[ceil(begin), ceil(finish))``."""
    valid[i, day_index(ints, begin)] += w
    valid[i, day_index(ints, finish)] -= w


@njit(**UNCOUNTED)
def before(a0: float, a1: float, a2: float, b0: float, b1: float, b2: float) -> bool:
    """Lexicographic (a0, a1, a2) < (b0, b1, b2)."""
    if a0 != b0:
        return a0 < b0
    if a1 != b1:
        return a1 < b1
    return a2 < b2


@njit(**UNCOUNTED)
def route(ch: np.ndarray, reach: np.ndarray, i: int, t: float) -> int:
    """The channel an application of flow ``i`` filed on day ``t`` goes to (-1: none)."""
    k = -1
    for n in range(ch.shape[0]):
        if ch[n, 0] <= t < ch[n, 1] and reach[n, i]:
            k = n
    return k


@njit(**UNCOUNTED)
def in_force(phv, chv, begin, which: int, k: int, t: float, j: int) -> float:
    """A value (``ODDS``, ``DAYS``) in force on day ``t``: the channel's unless NaN or none."""
    if k >= 0 and not np.isnan(chv[k, which, j]):
        return chv[k, which, j]
    return phv[phase_at(begin, t), which, j]


# ---------------------------------------------------------------- what happens to a contract


@njit(**UNCOUNTED)
def plan(fs, ist, susp, last: float, g: int, t: float) -> None:
    """Contract ``g`` will apply on day ``t`` (after suspensions; never from the end)."""
    fs[g, T_NEXT] = after_suspensions(susp, last, t)
    ist[g, STAGE] = IDLE


@njit(**UNCOUNTED)
def file_application(ints, ch, ch_reach, fs, ist, sums, backlog, g: int, t: float) -> None:
    """Contract ``g`` files an application on day ``t`` and joins the queue."""
    i = g // ints[CONTRACTS]
    ist[g, STAGE], fs[g, FILED], ist[g, NUMBER] = WAITING, t, ist[g, APPLIED]
    ist[g, APPLIED] += 1
    sums[i, 2] += 1.0
    backlog[day_index(ints, t)] += 1.0
    ist[g, CHANNEL] = route(ch, ch_reach, i, t)


@njit(**UNCOUNTED)
def take_turn(ints, draw, flows, ph_begin, ph_code, ph_params, ch_code, ch_params, fs, ist,
              sums, g: int, t: float) -> None:  # fmt: skip
    """Contract ``g``'s application has its turn on day ``t``: decided after the delay."""
    contracts = ints[CONTRACTS]
    i, c, k = g // contracts, g % contracts, ist[g, CHANNEL]
    if k >= 0 and ch_code[k] >= 0:
        code, params = ch_code[k], ch_params[k]
    else:
        p = phase_at(ph_begin, t)
        code, params = ph_code[p], ph_params[p]
    key = c + contracts * ist[g, NUMBER]
    part = (flows[i] + 1) * 8 + DELAY
    delay = sample(code, params, ints[SEED], ints[EVENT], part, draw, key)
    ist[g, STAGE], fs[g, T_NEXT] = DECIDING, t + max(np.rint(delay), 0.0)
    sums[i, 3] += t - fs[g, FILED]
    sums[i, 4] += 1.0


@njit(**UNCOUNTED)
def decide(ints, last, draw, j, flows, ph_begin, phv, chv, wait_params, susp, lead, weight,
           fs, ist, valid, sums, backlog, g: int, t: float) -> None:  # fmt: skip
    """Contract ``g``'s application is decided on day ``t``."""
    contracts = ints[CONTRACTS]
    i, c, k = g // contracts, g % contracts, ist[g, CHANNEL]
    sums[i, 0] += t - fs[g, FILED]
    sums[i, 1] += 1.0
    backlog[day_index(ints, t)] -= 1.0
    base, key = (flows[i] + 1) * 8, c + contracts * ist[g, NUMBER]
    odds = in_force(phv, chv, ph_begin, ODDS, k, t, j)
    if uniform(ints[SEED], ints[EVENT], base + APPROVAL, draw, key) < odds:
        general = fs[g, GENERAL]
        days = general if general > 0 else in_force(phv, chv, ph_begin, DAYS, k, t, j)
        begin, finish = max(t, fs[g, COVERED]), t + days
        if finish > begin:
            add_valid(ints, valid, i, begin, finish, weight[c])
        fs[g, COVERED] = max(fs[g, COVERED], finish)
        plan(fs, ist, susp, last, g, max(fs[g, COVERED] - lead, t + 1.0))
    else:
        seed, event = ints[SEED], ints[EVENT]
        wait = sample(ints[WAIT_CODE], wait_params, seed, event, base + WAIT, draw, key)
        plan(fs, ist, susp, last, g, t + max(np.rint(wait), 1.0))


@njit(**UNCOUNTED)
def act(ints, last, draw, j, flows, acts, act_val, act_reach, a: int, susp, lead, weight, top,
        fs, ist, valid, g: int, t: float) -> bool:  # fmt: skip
    """Action ``a`` (``acts[a]``: kind, number; ``act_val[a]`` its values, ``act_reach[a]``
    its flows) on day ``t`` for contract ``g``: revoked, a contract loses its licence and
    applies; a grant gives a general licence to the largest contracts of the flows reached,
    those whose middle (``top``: the share of the volume before it plus half its own) lies
    within the grant's share, each with the grant's odds. Whether ``g`` was planned anew."""
    contracts = ints[CONTRACTS]
    i, c = g // contracts, g % contracts
    if not act_reach[a, i]:
        return False
    base, key = (flows[i] + 1) * 8, c + contracts * acts[a, 1]
    if acts[a, 0] == REVOCATION:
        u = uniform(ints[SEED], ints[EVENT], base + REVOKE, draw, key)
        if u >= act_val[a, SHARE, j]:
            return False
        fs[g, GENERAL] = 0.0
        if fs[g, COVERED] <= t:
            return False
        add_valid(ints, valid, i, t, fs[g, COVERED], -weight[c])
        fs[g, COVERED] = t
        if ist[g, STAGE] != IDLE:
            return False
        plan(fs, ist, susp, last, g, t)
        return True
    if top[c] >= act_val[a, SHARE, j]:
        return False
    if uniform(ints[SEED], ints[EVENT], base + GRANT, draw, key) >= act_val[a, PROBABILITY, j]:
        return False
    fs[g, GENERAL] = act_val[a, VALIDITY, j]
    begin, finish = max(t, fs[g, COVERED]), t + fs[g, GENERAL]
    if finish > begin:
        add_valid(ints, valid, i, begin, finish, weight[c])
    fs[g, COVERED] = max(fs[g, COVERED], finish)
    if ist[g, STAGE] != IDLE:
        return False
    plan(fs, ist, susp, last, g, max(fs[g, COVERED] - lead, t + 1.0))
    return True


# ------------------------------------------------------------------------------- heaps
# The contracts' next events: an indexed binary heap ``hp`` (``pos[g]``: where ``g`` is,
# -1: out) by (day, kind, contract). The queue: a binary heap ``wq`` by the key ``fs[g,
# KEY0:KEY2 + 1]``, then contract. Each contract is at most once in each.


@njit(**UNCOUNTED)
def event_before(fs, ist, a: int, b: int) -> bool:
    """Whether contract ``a``'s next event comes before ``b``'s (day, kind, contract)."""
    if fs[a, T_NEXT] != fs[b, T_NEXT]:
        return fs[a, T_NEXT] < fs[b, T_NEXT]
    ka, kb = ist[a, STAGE] == DECIDING, ist[b, STAGE] == DECIDING  # DECISION before APPLY
    if ka != kb:
        return ka
    return a < b


@njit(**UNCOUNTED)
def queue_before(fs, a: int, b: int) -> bool:
    """Whether contract ``a`` has its turn before ``b``."""
    if fs[a, KEY0] != fs[b, KEY0] or fs[a, KEY1] != fs[b, KEY1] or fs[a, KEY2] != fs[b, KEY2]:
        return before(fs[a, KEY0], fs[a, KEY1], fs[a, KEY2], fs[b, KEY0], fs[b, KEY1],
                      fs[b, KEY2])  # fmt: skip
    return a < b


@njit(**UNCOUNTED)
def sift_event(hp, pos, size: int, fs, ist, at: int) -> None:
    """Move the event heap's entry at ``at`` up or down to its place."""
    g = hp[at]
    while at > 0 and event_before(fs, ist, g, hp[(at - 1) // 2]):
        up = (at - 1) // 2
        hp[at], pos[hp[up]] = hp[up], at
        at = up
    while 2 * at + 1 < size:
        child = 2 * at + 1
        if child + 1 < size and event_before(fs, ist, hp[child + 1], hp[child]):
            child += 1
        if not event_before(fs, ist, hp[child], g):
            break
        hp[at], pos[hp[child]] = hp[child], at
        at = child
    hp[at], pos[g] = g, at


@njit(**UNCOUNTED)
def sift_queue(wq, size: int, fs, at: int) -> None:
    """Move the queue heap's entry at ``at`` up or down to its place."""
    g = wq[at]
    while at > 0 and queue_before(fs, g, wq[(at - 1) // 2]):
        up = (at - 1) // 2
        wq[at] = wq[up]
        at = up
    while 2 * at + 1 < size:
        child = 2 * at + 1
        if child + 1 < size and queue_before(fs, wq[child + 1], wq[child]):
            child += 1
        if not queue_before(fs, wq[child], g):
            break
        wq[at] = wq[child]
        at = child
    wq[at] = g


@njit(**UNCOUNTED)
def reschedule(hp, pos, qs, fs, ist, g: int) -> None:
    """Put contract ``g`` at its place in the event heap after its stage or day changed: in
    while it plans an application or awaits a decision, out otherwise."""
    stage = ist[g, STAGE]
    pending = stage == DECIDING or (stage == IDLE and fs[g, T_NEXT] < np.inf)
    at = pos[g]
    if at < 0:
        if pending:
            at = qs[EVENTS]
            qs[EVENTS] += 1
            hp[at], pos[g] = g, at
            sift_event(hp, pos, qs[EVENTS], fs, ist, at)
        return
    if pending:
        sift_event(hp, pos, qs[EVENTS], fs, ist, at)
        return
    qs[EVENTS] -= 1
    pos[g] = -1
    if at < qs[EVENTS]:
        hp[at] = hp[qs[EVENTS]]
        pos[hp[at]] = at
        sift_event(hp, pos, qs[EVENTS], fs, ist, at)


@njit(**UNCOUNTED)
def enqueue(wq, qs, fs, g: int) -> None:
    """Contract ``g`` joins the queue (its key set)."""
    at = qs[QUEUED]
    qs[QUEUED] += 1
    wq[at] = g
    sift_queue(wq, qs[QUEUED], fs, at)


@njit(**UNCOUNTED)
def dequeue(wq, qs, fs) -> int:
    """The contract whose turn is next, out of the queue."""
    g = wq[0]
    qs[QUEUED] -= 1
    if qs[QUEUED] > 0:
        wq[0] = wq[qs[QUEUED]]
        sift_queue(wq, qs[QUEUED], fs, 0)
    return g


# ------------------------------------------------------------------------ one draw's run
# Arguments shared by the runs, in this order: ``ints, last, draw, j, flows`` (the event and
# draw), ``ph_begin, phv, ph_code, ph_params`` (phases), ``ch, chv, ch_reach, ch_code,
# ch_params`` (channels), ``wait_params, susp`` (re-application, suspensions), ``acts,
# act_day, act_val, act_reach`` (actions by day), ``lead, weight, top`` (the draw's), then
# the state ``fs, ist`` and the outputs ``valid, sums, backlog``.


@njit(**UNCOUNTED)
def simulate_alone(ints, last, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch, chv,
                   ch_reach, ch_code, ch_params, wait_params, susp, acts, act_day, act_val,
                   act_reach, lead, weight, top, fs, ist, valid, sums,
                   backlog) -> None:  # fmt: skip
    """Contracts that never wait for one another (every phase decides at once, no other
    applications), each by itself: its events and the actions in time order; its turn
    comes the day it files."""
    for g in range(fs.shape[0]):
        a = 0
        while True:
            bt = fs[g, T_NEXT]
            bk = DECISION if ist[g, STAGE] == DECIDING else APPLY
            if a < acts.shape[0] and (act_day[a] < bt or (act_day[a] == bt and acts[a, 0] < bk)):
                bt, bk = act_day[a], acts[a, 0]
            if bt == np.inf:
                break
            if bk == DECISION:
                decide(ints, last, draw, j, flows, ph_begin, phv, chv, wait_params, susp, lead,
                       weight, fs, ist, valid, sums, backlog, g, bt)  # fmt: skip
            elif bk == APPLY:
                file_application(ints, ch, ch_reach, fs, ist, sums, backlog, g, bt)
                take_turn(ints, draw, flows, ph_begin, ph_code, ph_params, ch_code, ch_params,
                          fs, ist, sums, g, bt)  # fmt: skip
            else:
                act(ints, last, draw, j, flows, acts, act_val, act_reach, a, susp, lead,
                    weight, top, fs, ist, valid, g, bt)  # fmt: skip
                a += 1


@njit(**UNCOUNTED)
def end_turn(ints, draw, j, flows, ph_begin, ph_code, ph_params, ch_code, ch_params, fs, ist,
             sums, backlog, hp, pos, qs, sv, t: float) -> None:  # fmt: skip
    """The turn of the application being served ends on day ``t``."""
    sv[BUSY], sv[T_DONE] = 0.0, np.inf
    if sv[SERVING] >= 0:
        g = int(sv[SERVING])
        take_turn(ints, draw, flows, ph_begin, ph_code, ph_params, ch_code, ch_params, fs,
                  ist, sums, g, t)  # fmt: skip
        reschedule(hp, pos, qs, fs, ist, g)
    else:  # another application: it only takes the capacity
        backlog[day_index(ints, t)] -= 1.0


@njit(**UNCOUNTED)
def next_turn(ints, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch_code, ch_params,
              mean_weight, fs, ist, sums, backlog, hp, pos, wq, qs, sv, waiting,
              t: float) -> None:  # fmt: skip
    """A free server gives the next turn on day ``t`` (channels first, then by arrival or
    size); at unlimited capacity that turn ends at once, and the next one starts."""
    volume = ints[PRIORITY] == VOLUME
    while sv[BUSY] == 0.0:
        best, k0, k1, k2 = -1, np.inf, np.inf, np.inf
        if qs[QUEUED] > 0:
            best = wq[0]
            k0, k1, k2 = fs[best, KEY0], fs[best, KEY1], fs[best, KEY2]
        if qs[HEAD] < qs[TAIL]:
            day = waiting[qs[HEAD]]
            if before(1.0, -mean_weight if volume else day, day if volume else 0.0, k0, k1, k2):
                best = -1
                qs[HEAD] += 1
            elif best < 0:
                return
        elif best < 0:
            return
        if best >= 0:
            dequeue(wq, qs, fs)
            ist[best, STAGE] = SERVING
        done = completion(ph_begin, phv, j, t)
        sv[BUSY], sv[SERVING], sv[T_DONE] = 1.0, float(best), done
        if done == t:
            end_turn(ints, draw, j, flows, ph_begin, ph_code, ph_params, ch_code, ch_params,
                     fs, ist, sums, backlog, hp, pos, qs, sv, t)  # fmt: skip


@njit(**UNCOUNTED)
def simulate_queue(ints, last, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch, chv,
                   ch_reach, ch_code, ch_params, wait_params, susp, acts, act_day, act_val,
                   act_reach, lead, weight, top, rate, fs, ist, valid, sums, backlog, hp, pos,
                   wq, qs, sv, waiting) -> None:  # fmt: skip
    """Every contract and the other applications (``rate`` a day) in time order, the next
    event from a heap."""
    n, volume, mean_weight = fs.shape[0], ints[PRIORITY] == VOLUME, weight.mean()
    qs[:], pos[:] = 0, -1
    for g in range(n):
        reschedule(hp, pos, qs, fs, ist, g)
    a = 0
    while True:
        bt, bk, bi = np.inf, 9, -1
        if qs[EVENTS] > 0:
            bi = hp[0]
            bt, bk = fs[bi, T_NEXT], DECISION if ist[bi, STAGE] == DECIDING else APPLY
        if a < acts.shape[0] and (act_day[a] < bt or (act_day[a] == bt and acts[a, 0] < bk)):
            bt, bk = act_day[a], acts[a, 0]
        if sv[BUSY] == 1.0 and (sv[T_DONE] < bt or (sv[T_DONE] == bt and SERVED < bk)):
            bt, bk = sv[T_DONE], SERVED
        if sv[T_OTHER] < bt:
            bt, bk = sv[T_OTHER], OTHER
        if bt == np.inf:
            return
        if bk == DECISION:
            decide(ints, last, draw, j, flows, ph_begin, phv, chv, wait_params, susp, lead,
                   weight, fs, ist, valid, sums, backlog, bi, bt)  # fmt: skip
            reschedule(hp, pos, qs, fs, ist, bi)
        elif bk == REVOCATION or bk == GRANTING:
            for g in range(n):
                if act(ints, last, draw, j, flows, acts, act_val, act_reach, a, susp, lead,
                       weight, top, fs, ist, valid, g, bt):  # fmt: skip
                    reschedule(hp, pos, qs, fs, ist, g)
            a += 1
        elif bk == SERVED:
            end_turn(ints, draw, j, flows, ph_begin, ph_code, ph_params, ch_code, ch_params,
                     fs, ist, sums, backlog, hp, pos, qs, sv, bt)  # fmt: skip
        elif bk == APPLY:
            file_application(ints, ch, ch_reach, fs, ist, sums, backlog, bi, bt)
            reschedule(hp, pos, qs, fs, ist, bi)
            c = bi % ints[CONTRACTS]
            fs[bi, KEY0] = 0.0 if ist[bi, CHANNEL] >= 0 else 1.0
            fs[bi, KEY1] = -weight[c] if volume else bt
            fs[bi, KEY2] = bt if volume else 0.0
            enqueue(wq, qs, fs, bi)
        else:  # another application joins the queue; the next comes 1 / rate later
            backlog[day_index(ints, bt)] += 1.0
            waiting[qs[TAIL]] = bt
            qs[TAIL] += 1
            sv[T_OTHER] = after_suspensions(susp, last, bt + 1.0 / rate)
        if sv[BUSY] == 0.0:
            next_turn(ints, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch_code,
                      ch_params, mean_weight, fs, ist, sums, backlog, hp, pos, wq, qs, sv,
                      waiting, bt)  # fmt: skip


# ---------------------------------------------------------------------------------- draws


@njit(**UNCOUNTED)
def first_day(seed, event, base, contracts, c, draw, start, initial, spread) -> float:
    """The day contract ``c`` first applies: the first day in the initial wave (chance
    ``initial``), else a day drawn over ``spread`` days after it."""
    if initial >= 1.0 or uniform(seed, event, base + FIRST, draw, c) < initial:
        return start
    return start + spread * uniform(seed, event, base + FIRST, draw, contracts + c)


@njit(**UNCOUNTED)
def write_draw(ints, weight, valid, sums, backlog, lifted, block, gated, delay, wait,
               applications, peak, j: int) -> None:  # fmt: skip
    """The gated days, delays, waits and backlog peak of the draw just run, and its gates in
    the window into ``block[j % BLOCK, flow, day]``."""
    span, total, b = ints[SPAN], weight.sum(), j % BLOCK
    for i in range(gated.shape[0]):
        running, closed = 0.0, 0.0
        for d in range(span):
            running += valid[i, d]
            share = 1.0 if lifted[d] else min(max(running / total, 0.0), 1.0)
            block[b, i, d] = share
            closed += 1.0 - share
        gated[i, j] = closed
        delay[i, j] = sums[i, 0] / sums[i, 1] if sums[i, 1] else np.nan
        wait[i, j] = sums[i, 3] / sums[i, 4] if sums[i, 4] else np.nan
        applications[i, j] = sums[i, 2]
    level, most = 0.0, 0.0
    for d in range(span):
        level += backlog[d]
        most = max(most, level)
    peak[j] = most / (ints[CONTRACTS] * gated.shape[0])


@njit(**UNCOUNTED)
def write_gates(ints, block, gate, j0: int, size: int) -> None:
    """The gates of draws ``j0:j0 + size`` from ``block`` (1 outside the window), written
    along the draws (the last axis), as they lie in memory."""
    first, span = ints[FIRST], ints[SPAN]
    for d in range(gate.shape[0]):
        if first <= d < first + span:
            for i in range(gate.shape[1]):
                for b in range(size):
                    gate[d, i, j0 + b] = block[b, i, d - first]
        else:
            gate[d, :, j0 : j0 + size] = 1.0


@njit(cache=True, nogil=True)
def licence_kernel(ints, reals, flows, draws, ph_begin, phv, ph_code, ph_params, ch, chv,
                   ch_reach, ch_code, ch_params, wait_params, susp, per_draw, acts, act_day,
                   act_val, act_reach, lifted, waiting, gate, gated, delay, wait,
                   applications, peak) -> None:  # fmt: skip
    """Every draw of one event: ``ints`` (seed, event, contracts, first, span, priority,
    wait code, alone), ``reals`` (start, last), ``per_draw`` ``[5, J]`` (lead, size
    exponent, initial share, spread, other applications a day)."""
    contracts, span, alone = ints[CONTRACTS], ints[SPAN], ints[ALONE] != 0
    start, last = reals[0], reals[1]
    n = contracts * flows.shape[0]
    weight, top = np.zeros(contracts), np.zeros(contracts)
    fs, ist = np.zeros((n, 7)), np.zeros((n, 4), np.int64)
    valid, sums = np.zeros((flows.shape[0], span + 1)), np.zeros((flows.shape[0], SUMS))
    backlog = np.zeros(span + 1)
    hp, pos, wq = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    qs, sv = np.zeros(4, np.int64), np.zeros(4)
    block = np.zeros((BLOCK, flows.shape[0], span))
    for j in range(draws.shape[0]):
        draw, lead, rate = draws[j], per_draw[0, j], per_draw[4, j]
        for c in range(contracts):
            weight[c] = (c + 1.0) ** -per_draw[1, j]
        for c in range(contracts):
            top[c] = (weight[:c].sum() + 0.5 * weight[c]) / weight.sum()
        fs[:, FILED], fs[:, COVERED], fs[:, GENERAL] = 0.0, -np.inf, 0.0
        ist[:, :], ist[:, CHANNEL] = 0, -1
        valid[:, :], sums[:, :], backlog[:] = 0.0, 0.0, 0.0
        for g in range(n):
            base = (flows[g // contracts] + 1) * 8
            t = first_day(ints[SEED], ints[EVENT], base, contracts, g % contracts, draw, start,
                          per_draw[2, j], per_draw[3, j])  # fmt: skip
            plan(fs, ist, susp, last, g, t)
        if alone:
            simulate_alone(ints, last, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch,
                           chv, ch_reach, ch_code, ch_params, wait_params, susp, acts, act_day,
                           act_val, act_reach, lead, weight, top, fs, ist, valid, sums,
                           backlog)  # fmt: skip
        else:
            sv[BUSY], sv[SERVING], sv[T_DONE], sv[T_OTHER] = 0.0, -1.0, np.inf, np.inf
            if rate > 0:
                sv[T_OTHER] = after_suspensions(susp, last, start + 1.0 / rate)
            simulate_queue(ints, last, draw, j, flows, ph_begin, phv, ph_code, ph_params, ch,
                           chv, ch_reach, ch_code, ch_params, wait_params, susp, acts, act_day,
                           act_val, act_reach, lead, weight, top, rate, fs, ist, valid, sums,
                           backlog, hp, pos, wq, qs, sv, waiting)  # fmt: skip
        write_draw(ints, weight, valid, sums, backlog, lifted, block, gated, delay, wait,
                   applications, peak, j)  # fmt: skip
        if j % BLOCK == BLOCK - 1 or j == draws.shape[0] - 1:
            write_gates(ints, block, gate, j - j % BLOCK, j % BLOCK + 1)


# -------------------------------------------------------------------------------- entries


def action_order(authority: Authority) -> np.ndarray:
    """``[A, 2]`` (kind, number) of the revocations and grants, by day, kind and number."""
    rows = [(day, REVOCATION, r) for r, day in enumerate(authority.revoke_day)]
    rows += [(day, GRANTING, q) for q, day in enumerate(authority.grant_day)]
    rows.sort()
    return np.array([(kind, number) for _, kind, number in rows], np.int64).reshape(-1, 2)


def kernel_arrays(au: Authority, flows: int) -> dict[str, np.ndarray]:
    """The authority as the kernel's C-ordered arrays (one type each, so numba compiles the
    kernel once, whatever the chunk of draws)."""
    draws = len(au.lead)

    def values(*rows: np.ndarray | None) -> np.ndarray:
        """``[X, 3, J]`` from up to three ``[X, J]`` (None: NaN)."""
        given = [row for row in rows if row is not None]
        out = np.full((len(given[0]), 3, draws), np.nan)
        for n, row in enumerate(rows):
            if row is not None:
                out[:, n, :] = row
        return out

    acts = action_order(au)
    revoke, grant = acts[:, 0] == REVOCATION, acts[:, 0] == GRANTING
    act_day = np.zeros(len(acts))
    act_val = np.zeros((len(acts), 3, draws))
    act_reach = np.zeros((len(acts), flows), np.bool_)
    r, q = acts[revoke, 1], acts[grant, 1]
    act_day[revoke], act_day[grant] = au.revoke_day[r], au.grant_day[q]
    act_val[revoke, SHARE] = np.asarray(au.revoke_share)[r]
    act_reach[revoke] = np.asarray(au.revoke_reach)[r]
    act_val[grant, SHARE] = np.asarray(au.grant_share)[q]
    act_val[grant, PROBABILITY] = np.asarray(au.grant_probability)[q]
    act_val[grant, VALIDITY] = np.asarray(au.grant_validity)[q]
    act_reach[grant] = np.asarray(au.grant_reach)[q]
    c = np.ascontiguousarray
    return {
        "ph_begin": c(au.begin, float),
        "phv": values(au.rate, au.approval, au.validity),
        "ph_code": c(au.delay_code, np.int64),
        "ph_params": c(np.reshape(au.delay_params, (-1, 4)), float),
        "ch": c(np.column_stack([au.channel_begin, au.channel_until]).reshape(-1, 2), float),
        "chv": values(None, au.channel_approval, au.channel_validity),
        "ch_reach": c(au.channel_reach, np.bool_).reshape(-1, flows),
        "ch_code": c(au.channel_code, np.int64),
        "ch_params": c(np.reshape(au.channel_params, (-1, 4)), float),
        "wait_params": c(au.wait_params, float),
        "susp": c(np.column_stack([au.suspend_begin, au.suspend_until]).reshape(-1, 2), float),
        "per_draw": c(
            np.vstack([au.lead, au.size_exponent, au.initial, au.spread, au.background]), float
        ),  # fmt: skip
        "acts": c(acts, np.int64),
        "act_day": act_day,
        "act_val": act_val,
        "act_reach": act_reach,
    }


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
    flows = np.ascontiguousarray(flows, np.int64)
    draws = np.ascontiguousarray(draws, np.int64)
    au = authority.filled(len(flows))
    first, last = max(int(start), 0), min(int(end), horizon)
    span = max(last - first, 0)
    days = np.arange(first, first + span, dtype=float)
    lifted = np.zeros(span, np.bool_)
    for begin, until in zip(au.suspend_begin, au.suspend_until, strict=True):
        lifted |= (days >= begin) & (days < until)
    others = int(np.ceil(max(last - start, 0) * float(np.max(au.background, initial=0.0))))
    out = Licensing.empty(horizon, len(flows), len(draws))
    ints = np.array([seed, event, contracts, first, span, au.priority, au.wait_code,
                     au.independent], np.int64)  # fmt: skip
    reals = np.array([start, last], float)
    arrays = kernel_arrays(au, len(flows))
    outputs = [out.gate, out.gated, out.delay, out.wait, out.applications, out.backlog_peak]
    licence_kernel(*[ints, reals, flows, draws, *arrays.values(), lifted, np.zeros(others + 1),
                     *outputs])  # fmt: skip
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
