"""Bench of the licensing kernel: wall time of one event's gates for the model before the
authority (unlimited capacity) and for a queue (finite capacity, other applications), on
50 flows of 10 contracts over a year. Prints JSON."""

from __future__ import annotations

import json
import time

import numpy as np

from chokepoint.compile.licensing import Authority, run_licensing
from chokepoint.compile.rng import LOGNORMAL, UNIFORM


def authority(draws: int, rate: float, background: float) -> Authority:
    return Authority(
        begin=np.array([-np.inf]),
        rate=np.full((1, draws), rate),
        approval=np.full((1, draws), 0.95),
        validity=np.full((1, draws), 180.0),
        delay_code=np.array([LOGNORMAL]),
        delay_params=np.array([[63.0, 0.5, 0.0, 0.0]]),
        lead=np.full(draws, 30.0),
        wait_code=UNIFORM,
        wait_params=np.array([10.0, 40.0, 0.0, 0.0]),
        size_exponent=np.ones(draws),
        initial=np.full(draws, 0.8),
        spread=np.full(draws, 60.0),
        background=np.full(draws, background),
        priority=1,
    )


def timed(draws: int, rate: float, background: float) -> float:
    flows = np.arange(50)
    au = authority(draws, rate, background)
    run_licensing(1, 0, flows, np.arange(2), 10, (0, 365, 365), au.draws(0, 2))  # compile
    began = time.perf_counter()
    run_licensing(1, 0, flows, np.arange(draws), 10, (0, 365, 365), au)
    return time.perf_counter() - began


def main() -> None:
    draws = 200
    cases = {
        "unlimited": (np.inf, 0.0),
        "queue_50_per_week": (50 / 7, 0.0),
        "queue_with_others": (50 / 7, 20 / 7),
    }
    report = {"flows": 50, "contracts": 10, "days": 365, "draws": draws}
    for name, (rate, background) in cases.items():
        report[f"{name}_seconds"] = round(timed(draws, rate, background), 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
