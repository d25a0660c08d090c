"""Optimiser benchmark: the default data under ``ree-2025-04`` (or ``--scenario``), the full
shipped measure set, target ``pstop:car_bev@EU27<=0.05``.

Run: ``python bench/optimise.py [--scenario S] [--draws 50,100,200] [--extensive 20]``.
Each configuration runs in its own process so its peak memory is its own. Prints one JSON
object: per configuration the draws, method, program size, setup and solve seconds, the
cost and the stockpile chosen, and ``peak_mib`` (peak resident memory of that process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGET = "pstop:car_bev@EU27<=0.05"


def one(draws: int, method: str, scenario: str = "ree-2025-04") -> dict:
    from chokepoint.optimise.run import choose, setup
    from chokepoint.scenario import load_scenario

    started = time.perf_counter()
    prepared = setup(load_scenario(scenario), TARGET, draws=draws)
    built_s = time.perf_counter() - started
    solution = choose(prepared, method=method, time_limit=60)
    portfolio = solution.portfolio()
    return {
        "draws": draws,
        "method": method,
        "periods": len(prepared.case.period_start),
        "modelled_producers": len(prepared.case.producers),
        "modelled_slots": len(prepared.case.slots),
        "modelled_links": len(prepared.case.links),
        "measures": len(prepared.candidates),
        "setup_s": round(built_s, 2),
        "solve_s": round(solution.seconds, 2),
        "total_s": round(time.perf_counter() - started, 2),
        "status": solution.status,
        "rounds": solution.iterations,
        "cost_eur": round(solution.cost),
        "chosen": {r.measure: round(r.amount, 3) for r in portfolio.itertuples() if r.amount > 0},
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", default="50,100,200")
    parser.add_argument("--extensive", default="20")
    parser.add_argument("--scenario", default="ree-2025-04")
    parser.add_argument("--one", nargs=2, metavar=("DRAWS", "METHOD"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.scenario)))
        return
    runs = [(int(d), "benders") for d in args.draws.split(",") if d]
    runs += [(int(d), "extensive") for d in args.extensive.split(",") if d]
    results = []
    for draws, method in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(draws), method, "--scenario", args.scenario],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{method} {draws} draws: {results[-1]['total_s']} s", file=sys.stderr)
    print(json.dumps({"target": TARGET, "scenario": args.scenario, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
