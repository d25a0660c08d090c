"""The licensing model before the authority (chokepoint 0.x, one contract at a time): the
oracle the authority kernel (chokepoint.compile.licensing) must equal draw for draw when its
capacity is unlimited and nothing else is set. Not part of the package.

Export licensing: the share of a flow's contracts holding a valid licence, day by day.

Each contract applies on the regime's first day; a decision comes after a processing delay
(drawn per application, rounded to whole days); approved with probability ``approval`` the
licence is valid from the decision day for ``validity`` days and its renewal is applied for
``lead`` days before expiry; refused, the contract applies again after a wait. The gate of
a day is the share of contracts holding a valid licence; outside ``[start, end)`` it is 1.

Compiled with numba: it runs for every flow, contract and draw of a Monte Carlo run. Random
numbers come from :mod:`chokepoint.compile.rng`, keyed by (seed, event, flow and purpose, draw,
application), so any draw can be computed alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from chokepoint.compile.rng import sample, uniform

DELAY, APPROVAL, WAIT = 0, 1, 2


@njit(nogil=True)
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
    """Fill ``gate_out[day, flow, draw]``, ``gated_out[flow, draw]`` (gated days per
    contract within the window) and ``delay_out[flow, draw]`` (mean processing delay of the
    applications) for the flows (ids used to key the random numbers)."""
    first = max(start, 0)
    last = min(end, horizon)
    span = max(last - first, 0)
    valid = np.zeros(span + 1)
    for i in range(flows.shape[0]):
        base = (flows[i] + 1) * 8
        for j in range(draws.shape[0]):
            draw = draws[j]
            for d in range(span + 1):
                valid[d] = 0.0
            delay_sum = 0.0
            applications = 0
            for c in range(contracts):
                apply_day = float(start)
                covered = -np.inf
                application = 0
                while apply_day < last:
                    index = c + contracts * application
                    delay = sample(delay_code, delay_params, seed, event, base + DELAY, draw, index)
                    decision = apply_day + max(np.rint(delay), 0.0)
                    delay_sum += max(np.rint(delay), 0.0)
                    applications += 1
                    if uniform(seed, event, base + APPROVAL, draw, index) < approval[j]:
                        begin = max(decision, covered)
                        finish = decision + validity[j]
                        covered = max(covered, finish)
                        lo = int(min(max(np.ceil(begin) - first, 0.0), span))
                        hi = int(min(max(np.ceil(finish) - first, 0.0), span))
                        valid[lo] += 1.0
                        valid[hi] -= 1.0
                        apply_day = max(decision + validity[j] - lead[j], decision + 1.0)
                    else:
                        wait = sample(wait_code, wait_params, seed, event, base + WAIT, draw, index)
                        apply_day = decision + max(np.rint(wait), 1.0)
                    application += 1
            for d in range(horizon):
                gate_out[d, i, j] = 1.0
            running = 0.0
            gated = 0.0
            for d in range(span):
                running += valid[d]
                share = min(max(running / contracts, 0.0), 1.0)
                gate_out[first + d, i, j] = share
                gated += 1.0 - share
            gated_out[i, j] = gated
            delay_out[i, j] = delay_sum / applications if applications else np.nan
