"""Bench of the licensing kernel: time of one event's gates for the model before the
authority (unlimited capacity) and for a queue (finite capacity, other applications), on
50 flows of 10 contracts over a year, and of the kernel before the authority
(tests/reference_licensing.py, equal contracts applying on the first day) on the same
flows. Prints JSON: wall seconds (``*_seconds``) and, as the machine may be shared, the
process's CPU seconds (``*_cpu``), each the best of ``--repeat`` runs.

Run: ``python bench/licensing.py [--draws 200] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from chokepoint.compile.licensing import Authority, run_licensing
from chokepoint.compile.rng import LOGNORMAL, UNIFORM

FLOWS, CONTRACTS, WINDOW = 50, 10, (0, 365, 365)
DELAY, WAIT = np.array([63.0, 0.5, 0.0, 0.0]), np.array([10.0, 40.0, 0.0, 0.0])


def authority(draws: int, rate: float, background: float) -> Authority:
    return Authority(
        begin=np.array([-np.inf]),
        rate=np.full((1, draws), rate),
        approval=np.full((1, draws), 0.95),
        validity=np.full((1, draws), 180.0),
        delay_code=np.array([LOGNORMAL]),
        delay_params=DELAY[None, :],
        lead=np.full(draws, 30.0),
        wait_code=UNIFORM,
        wait_params=WAIT,
        size_exponent=np.ones(draws),
        initial=np.full(draws, 0.8),
        spread=np.full(draws, 60.0),
        background=np.full(draws, background),
        priority=1,
    )


def best_of(repeat: int, run) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``run()``."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        run()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu


def timed(draws: int, rate: float, background: float, repeat: int) -> tuple[float, float]:
    flows = np.arange(FLOWS)
    au = authority(draws, rate, background)
    run_licensing(1, 0, flows, np.arange(2), CONTRACTS, WINDOW, au.draws(0, 2))  # compile
    return best_of(
        repeat, lambda: run_licensing(1, 0, flows, np.arange(draws), CONTRACTS, WINDOW, au)
    )


def timed_before(draws: int, repeat: int) -> tuple[float, float] | None:
    """The kernel before the authority (from the tests), or None when not found."""
    tests = pathlib.Path(__file__).resolve().parent.parent / "tests"
    if not (tests / "reference_licensing.py").exists():
        return None
    sys.path.insert(0, str(tests))
    from reference_licensing import licence_gates  # type: ignore[import-not-found]

    start, end, horizon = WINDOW
    flows = np.arange(FLOWS)
    per_draw = np.full(draws, 0.95), np.full(draws, 180.0), np.full(draws, 30.0)
    out = np.empty((horizon, FLOWS, draws)), np.empty((FLOWS, draws)), np.empty((FLOWS, draws))

    def run(n: int) -> None:
        values = [v[:n] for v in per_draw]
        parts = [o[..., :n] for o in out]
        licence_gates(1, 0, flows, np.arange(n), CONTRACTS, start, end, horizon, *values,
                      LOGNORMAL, DELAY, UNIFORM, WAIT, *parts)  # fmt: skip

    run(2)  # compile
    return best_of(repeat, lambda: run(draws))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {
        "unlimited": (np.inf, 0.0),
        "queue_50_per_week": (50 / 7, 0.0),
        "queue_with_others": (50 / 7, 20 / 7),
    }
    report: dict = {"flows": FLOWS, "contracts": CONTRACTS, "days": 365, "draws": args.draws}
    times = {name: timed(args.draws, *case, args.repeat) for name, case in cases.items()}
    before = timed_before(args.draws, args.repeat)
    if before is not None:
        times["before_authority"] = before
    for name, (wall, cpu) in times.items():
        report[f"{name}_seconds"], report[f"{name}_cpu"] = round(wall, 3), round(cpu, 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
