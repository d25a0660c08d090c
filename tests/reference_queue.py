"""A plain-Python reference of the licensing authority (queue, phases, channels, general
licences, revocations, suspensions, weighted contracts): the oracle the numba kernel
(chokepoint.compile.licensing) is tested against, draw for draw. Not part of the package.

Written apart from the kernel on purpose: one heap of timed events (with versions for the
plans a grant or revocation replaces), one heap of waiting applications, the rules in one
function per event. Only the random numbers (chokepoint.compile.rng) are shared.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from chokepoint.compile.licensing import Authority
from chokepoint.compile.rng import sample, uniform

DELAY, APPROVAL, WAIT, FIRST, REVOKE, GRANT = range(6)
DECISION, REVOCATION, GRANTING, SERVED, APPLY, OTHER = range(6)


def _phase(begin, t):
    return max(p for p in range(len(begin)) if begin[p] <= t) if len(begin) > 1 else 0


def _finish_turn(begin, rate, t):
    """When one decision's worth of capacity, from day ``t``, is used up."""
    left, p = 1.0, _phase(begin, t)
    while True:
        if math.isinf(rate[p]):
            return t
        end = begin[p + 1] if p + 1 < len(begin) else math.inf
        if rate[p] > 0 and t + left / rate[p] <= end:
            return t + left / rate[p]
        if math.isinf(end):
            return math.inf
        left -= rate[p] * (end - t)
        t, p = end, p + 1


class Draw:
    """One draw of one event, simulated in time order."""

    def __init__(self, au: Authority, seed, event, flows, contracts, window, j, draw):
        self.au, self.seed, self.event, self.flows, self.C = au, seed, event, flows, contracts
        self.start, end, horizon = window
        self.first, self.last = max(self.start, 0), min(end, horizon)
        self.span = max(self.last - self.first, 0)
        self.j, self.draw = j, draw
        self.N = contracts * len(flows)
        self.w = [(c + 1.0) ** -au.size_exponent[j] for c in range(contracts)]
        self.top = [(sum(self.w[:c]) + self.w[c] / 2) / sum(self.w) for c in range(contracts)]
        self.events: list = []
        self.waiting: list = []
        self.version = [0] * self.N
        self.stage = ["idle"] * self.N
        self.covered = [-math.inf] * self.N
        self.general = [0.0] * self.N
        self.filed = [0.0] * self.N
        self.applied = [0] * self.N
        self.number = [0] * self.N
        self.channel = [-1] * self.N
        self.valid = np.zeros((len(flows), self.span + 1))
        self.sums = np.zeros((len(flows), 5))
        self.backlog = np.zeros(self.span + 1)
        self.busy, self.others = None, 0

    # -------------------------------------------------------------------- helpers
    def u(self, g, purpose, key):
        base = (self.flows[g // self.C] + 1) * 8
        return uniform(self.seed, self.event, base + purpose, self.draw, key)

    def s(self, g, purpose, code, params, key):
        base = (self.flows[g // self.C] + 1) * 8
        return sample(code, params, self.seed, self.event, base + purpose, self.draw, key)

    def index(self, t):
        return int(min(max(math.ceil(t) - self.first, 0), self.span))

    def licensed(self, g, begin, finish, sign=1.0):
        i = g // self.C
        self.valid[i, self.index(begin)] += sign * self.w[g % self.C]
        self.valid[i, self.index(finish)] -= sign * self.w[g % self.C]

    def unsuspended(self, t):
        au = self.au
        while any(b <= t < u for b, u in zip(au.suspend_begin, au.suspend_until, strict=True)):
            t = max(
                u for b, u in zip(au.suspend_begin, au.suspend_until, strict=True) if b <= t < u
            )
        return t if t < self.last else math.inf

    def plan(self, g, t):
        self.stage[g] = "idle"
        self.version[g] += 1
        t = self.unsuspended(t)
        if t < math.inf:
            heapq.heappush(self.events, (t, APPLY, g, self.version[g]))

    def value(self, values, channel_values, g, t):
        k = self.channel[g]
        if k >= 0 and not np.isnan(channel_values[k, self.j]):
            return channel_values[k, self.j]
        return values[_phase(self.au.begin, t), self.j]

    # ------------------------------------------------------------------- the rules
    def apply(self, g, t):
        au, i = self.au, g // self.C
        self.stage[g], self.filed[g], self.number[g] = "waiting", t, self.applied[g]
        self.applied[g] += 1
        self.sums[i, 2] += 1
        self.backlog[self.index(t)] += 1
        reach = au.channel_reach
        self.channel[g] = -1
        for k in range(len(au.channel_begin)):
            if au.channel_begin[k] <= t < au.channel_until[k] and reach[k, i]:
                self.channel[g] = k
        first = 0 if self.channel[g] >= 0 else 1
        if au.priority == 1:
            key = (first, -self.w[g % self.C], t, g)
        else:
            key = (first, t, 0.0, g)
        heapq.heappush(self.waiting, key)

    def other(self, t):
        au = self.au
        self.backlog[self.index(t)] += 1
        mean = sum(self.w) / self.C
        key = (1, -mean, t) if au.priority == 1 else (1, t, 0.0)
        heapq.heappush(self.waiting, (*key, self.N + self.others))
        self.others += 1
        after = self.unsuspended(t + 1.0 / au.background[self.j])
        if after < math.inf:
            heapq.heappush(self.events, (after, OTHER, 0, 0))

    def turn(self, ident, t):
        au = self.au
        if ident >= self.N:
            self.backlog[self.index(t)] -= 1
            return
        g, k = ident, self.channel[ident]
        if k >= 0 and au.channel_code[k] >= 0:
            code, params = au.channel_code[k], au.channel_params[k]
        else:
            p = _phase(au.begin, t)
            code, params = au.delay_code[p], au.delay_params[p]
        key = g % self.C + self.C * self.number[g]
        delay = self.s(g, DELAY, code, params, key)
        self.stage[g] = "deciding"
        self.sums[g // self.C, 3] += t - self.filed[g]
        self.sums[g // self.C, 4] += 1
        heapq.heappush(self.events, (t + max(np.rint(delay), 0.0), DECISION, g, 0))

    def serve(self, t):
        """Give turns while the server is free and someone waits."""
        while self.busy is None and self.waiting:
            ident = heapq.heappop(self.waiting)[-1]
            if ident < self.N:
                self.stage[ident] = "serving"
            done = _finish_turn(self.au.begin, self.au.rate[:, self.j], t)
            self.busy = ident
            if done == t:
                self.busy = None
                self.turn(ident, t)
            elif done < math.inf:
                heapq.heappush(self.events, (done, SERVED, 0, 0))

    def decide(self, g, t):
        au, i, j = self.au, g // self.C, self.j
        self.sums[i, 0] += t - self.filed[g]
        self.sums[i, 1] += 1
        self.backlog[self.index(t)] -= 1
        key = g % self.C + self.C * self.number[g]
        if self.u(g, APPROVAL, key) < self.value(au.approval, au.channel_approval, g, t):
            days = self.general[g] or self.value(au.validity, au.channel_validity, g, t)
            begin, finish = max(t, self.covered[g]), t + days
            if finish > begin:
                self.licensed(g, begin, finish)
            self.covered[g] = max(self.covered[g], finish)
            self.plan(g, max(self.covered[g] - au.lead[j], t + 1.0))
        else:
            wait = self.s(g, WAIT, au.wait_code, au.wait_params, key)
            self.plan(g, t + max(np.rint(wait), 1.0))

    def revoke(self, r, t):
        au = self.au
        for g in range(self.N):
            hit = self.u(g, REVOKE, g % self.C + self.C * r) < au.revoke_share[r, self.j]
            if au.revoke_reach[r, g // self.C] and hit:
                self.general[g] = 0.0
                if self.covered[g] > t:
                    self.licensed(g, t, self.covered[g], -1.0)
                    self.covered[g] = t
                    if self.stage[g] == "idle":
                        self.plan(g, t)

    def grant(self, q, t):
        au, j = self.au, self.j
        for g in range(self.N):
            c = g % self.C
            if not au.grant_reach[q, g // self.C] or self.top[c] >= au.grant_share[q, j]:
                continue
            if self.u(g, GRANT, c + self.C * q) >= au.grant_probability[q, j]:
                continue
            self.general[g] = au.grant_validity[q, j]
            begin, finish = max(t, self.covered[g]), t + self.general[g]
            if finish > begin:
                self.licensed(g, begin, finish)
            self.covered[g] = max(self.covered[g], finish)
            if self.stage[g] == "idle":
                self.plan(g, max(self.covered[g] - au.lead[j], t + 1.0))

    # ------------------------------------------------------------------- the run
    def run(self):
        au, j = self.au, self.j
        for g in range(self.N):
            c = g % self.C
            t = float(self.start)
            if au.initial[j] < 1.0 and self.u(g, FIRST, c) >= au.initial[j]:
                t = self.start + au.spread[j] * self.u(g, FIRST, self.C + c)
            self.plan(g, t)
        for r, day in enumerate(au.revoke_day):
            heapq.heappush(self.events, (day, REVOCATION, r, 0))
        for q, day in enumerate(au.grant_day):
            heapq.heappush(self.events, (day, GRANTING, q, 0))
        if au.background[j] > 0:
            t = self.unsuspended(self.start + 1.0 / au.background[j])
            if t < math.inf:
                heapq.heappush(self.events, (t, OTHER, 0, 0))
        while self.events:
            t, kind, ident, version = heapq.heappop(self.events)
            if kind == APPLY and (version != self.version[ident] or self.stage[ident] != "idle"):
                continue
            handlers = {
                DECISION: self.decide,
                REVOCATION: self.revoke,
                GRANTING: self.grant,
                APPLY: self.apply,
            }
            if kind == SERVED:
                self.end_turn(t)
            elif kind == OTHER:
                self.other(t)
            else:
                handlers[kind](ident, t)
            self.serve(t)
        return self

    def end_turn(self, t):
        ident, self.busy = self.busy, None
        self.turn(ident, t)


def reference_licensing(seed, event, flows, draws, contracts, window, authority: Authority):
    """(gate [day, flow, draw], gated, delay, wait, applications, backlog_peak [draw])."""
    au = authority.filled(len(flows))
    start, end, horizon = window
    first, last = max(start, 0), min(end, horizon)
    span = max(last - first, 0)
    F, J = len(flows), len(draws)
    gate, gated = np.ones((horizon, F, J)), np.zeros((F, J))
    delay, wait, apps, peak = np.zeros((F, J)), np.zeros((F, J)), np.zeros((F, J)), np.zeros(J)
    days = np.arange(first, first + span)
    lifted = np.zeros(span, bool)
    for b, u in zip(au.suspend_begin, au.suspend_until, strict=True):
        lifted |= (days >= b) & (days < u)
    for j, draw in enumerate(draws):
        sim = Draw(au, seed, event, list(flows), contracts, window, j, int(draw)).run()
        shares = np.clip(np.cumsum(sim.valid[:, :span], axis=1) / sum(sim.w), 0.0, 1.0)
        shares[:, lifted] = 1.0
        gate[first:last, :, j] = shares.T
        gated[:, j] = (1.0 - shares).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            delay[:, j] = np.where(sim.sums[:, 1] > 0, sim.sums[:, 0] / sim.sums[:, 1], np.nan)
            wait[:, j] = np.where(sim.sums[:, 4] > 0, sim.sums[:, 3] / sim.sums[:, 4], np.nan)
        apps[:, j] = sim.sums[:, 2]
        peak[j] = max(np.cumsum(sim.backlog[:span]).max(initial=0.0), 0.0) / sim.N
    return gate, gated, delay, wait, apps, peak
