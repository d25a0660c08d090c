"""Engine benchmark: the default network under ``licences-3m``, 10,000 draws × 365 days.

Run: ``python bench/engine.py [--draws 10000] [--no-transit] [--firms N]``. ``--no-transit``
turns transit times off (``settings.transit: false``); ``--firms N`` declares every EU car
plant as N firms with covers spread ±50% around the default cover (what cohorts cost).
Prints a few lines and, last, one JSON
object: ``wall_s`` (simulate, JIT already warm), ``peak_mib`` (peak resident memory of the
process), ``updates_per_s`` (link·day·draw updates per second), ``floor_s`` (the time a
plain numpy pass takes to write one float32 per link·day·draw) and ``x_floor``
(``wall_s / floor_s``), and where the wall time went: ``kernel_s`` (the daily kernel),
``exogenous_s`` (compiling the exogenous inputs: licence timelines, gates), ``summary_s``
(per-draw outcomes) and ``other_s`` (bands, assembly, preparing the run).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np


def floor_seconds(links: int, days: int, draws: int, block: int = 1000, repeats: int = 3) -> float:
    """Time to write one float32 per link·day·draw, in blocks of draws (a reused buffer); the
    best of ``repeats`` passes, so the first pass's page faults do not count."""
    buffer = np.empty((days, links, min(block, draws)), dtype=np.float32)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        done = 0
        while done < draws:
            size = min(block, draws - done)
            buffer[:, :, :size] = 1.0
            done += size
        best = min(best, time.perf_counter() - start)
    return float(best)


def with_firms(net, firms: int):
    """The network with every car plant (``car_*``) declared as ``firms`` firms whose input
    covers spread ±50% around the scenario default of 30 days (bench only: not validated)."""
    import dataclasses

    import pandas as pd

    plants = net.producers[net.producers["commodity"].str.startswith("car_")]
    inputs = plants.merge(net.recipes, left_on="commodity", right_on="output")
    rows = pd.DataFrame(
        {
            "holder": inputs["id"],
            "commodity": inputs["input"],
            "days_of_cover": 30.0,
            "target_days": 30.0,
            "firms": firms,
            "firm_cover_spread": 0.5,
        }
    ).reindex(columns=net.stocks.columns)
    for column in net.stocks.columns:
        if net.stocks[column].dtype.kind not in "fiub" and column not in ("firms",):
            rows[column] = rows[column].fillna("")
    stocks = pd.concat([net.stocks, rows.astype(net.stocks.dtypes.to_dict())], ignore_index=True)
    return dataclasses.replace(net, stocks=stocks)


def timed_stages() -> dict[str, float]:
    """Wall seconds spent in the stages of each chunk (the daily kernel, compiling the
    exogenous inputs, summarising), collected while ``simulate`` runs: the functions
    ``run_chunk`` calls are wrapped with timers (bench only)."""
    from chokepoint.simulation import chunks

    spent = {"kernel_s": 0.0, "exogenous_s": 0.0, "summary_s": 0.0}
    for name, key in (
        ("run", "kernel_s"),
        ("compile_exogenous", "exogenous_s"),
        ("_summary", "summary_s"),
    ):
        setattr(chunks, name, _timer(getattr(chunks, name), spent, key))
    return spent


def _timer(function, spent: dict[str, float], key: str):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--scenario", default="licences-3m")
    parser.add_argument("--no-transit", action="store_true")
    parser.add_argument("--firms", type=int, default=1)
    args = parser.parse_args()

    from chokepoint.compile.model import build_model
    from chokepoint.network.container import load_default
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.run import simulate

    net = with_firms(load_default(), args.firms) if args.firms > 1 else load_default()
    scenario = load_scenario(args.scenario)
    if args.no_transit:
        settings = scenario.settings.model_copy(update={"transit": False})
        scenario = scenario.model_copy(update={"settings": settings})
    start = time.perf_counter()
    simulate(scenario, net, draws=8)  # compiles the kernels (cached on disk afterwards)
    warmup = time.perf_counter() - start

    stages = timed_stages()
    start = time.perf_counter()
    results = simulate(scenario, net, draws=args.draws)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    links = build_model(net, scenario).n_links
    days = scenario.horizon_days
    updates = links * days * args.draws
    floor = floor_seconds(links, days, args.draws)
    car = results.stats.query("product == 'car_bev' and region == 'EU27'").iloc[0]
    print(
        f"{args.scenario}: {args.draws} draws x {days} days x {links} links "
        f"(warm-up incl. JIT {warmup:.1f} s)",
        file=sys.stderr,
    )
    print(
        f"car_bev EU27: P(stop) {car['stoppage_probability']:.2f}, "
        f"mean lost {car['lost_output_mean']:,.0f} cars",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "draws": args.draws,
                "days": days,
                "links": links,
                "wall_s": round(wall, 3),
                "peak_mib": round(peak, 1),
                "updates_per_s": round(updates / wall),
                "floor_s": round(floor, 3),
                "x_floor": round(wall / floor, 2),
                "warmup_s": round(warmup, 2),
                **{key: round(value, 2) for key, value in stages.items()},
                "other_s": round(wall - sum(stages.values()), 2),
                "transit": not args.no_transit,
                "firms": args.firms,
            }
        )
    )


if __name__ == "__main__":
    main()
