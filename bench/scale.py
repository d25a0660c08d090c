"""Scale benchmark: synthetic networks of 1,000 / 10,000 / 50,000 producers, ~10 links each.

Run: ``python bench/scale.py [--sizes 1000 10000 50000] [--draws 100] [--days 365]``. Each
size runs in a fresh subprocess (so its peak memory is its own): build and validate the
network, compile the model, and simulate an export ban plus a plant outage over the days
and draws. Prints one JSON line per size and, last, one JSON object with all of them; cost
should grow linearly in links × days × draws (``ns_per_update`` roughly flat).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

STAGES = 5
COUNTRIES = [
    "CHN",
    "USA",
    "DEU",
    "FRA",
    "JPN",
    "KOR",
    "IND",
    "BRA",
    "AUS",
    "CAN",
    "MEX",
    "VNM",
    "MYS",
    "THA",
    "POL",
    "ESP",
    "ITA",
    "NLD",
    "TUR",
    "ZAF",
]
A = "synthetic benchmark network"


def synthetic_network(producers: int, links_per_producer: int = 10, seed: int = 0):
    """A layered network: STAGES commodities in a chain, producers spread over the stages,
    each buying from ~``links_per_producer`` producers of the stage before; the last stage
    sells to final demands."""
    from chokepoint.network.container import SupplyNetwork

    rng = np.random.default_rng(seed)
    per_stage = producers // STAGES
    stage_of = np.repeat(np.arange(STAGES), per_stage)
    ids = np.array([f"p{i}" for i in range(len(stage_of))])
    countries = rng.choice(COUNTRIES, size=len(ids))
    suppliers, customers, shares = [], [], []
    for stage in range(1, STAGES):
        upstream = np.flatnonzero(stage_of == stage - 1)
        for customer in np.flatnonzero(stage_of == stage):
            chosen = rng.choice(
                upstream, size=min(links_per_producer, len(upstream)), replace=False
            )
            weights = rng.dirichlet(np.ones(len(chosen)))
            suppliers += list(ids[chosen])
            customers += [ids[customer]] * len(chosen)
            shares += list(weights)
    finals = np.flatnonzero(stage_of == STAGES - 1)
    demand_ids = [f"d{i}" for i in range(max(1, len(finals) // links_per_producer))]
    holder = rng.integers(0, len(demand_ids), size=len(finals))
    output = np.zeros(len(ids))
    output[finals] = 1000.0
    demand_quantity = np.zeros(len(demand_ids))
    np.add.at(demand_quantity, holder, output[finals])
    for position, final in enumerate(finals):
        suppliers.append(ids[final])
        customers.append(demand_ids[holder[position]])
    final_shares = output[finals] / demand_quantity[holder]
    shares += list(final_shares)
    links = pd.DataFrame({"supplier": suppliers, "customer": customers, "share": shares})
    # size upstream outputs to what their customers draw (plus 10% sold outside)
    index = pd.Series(np.arange(len(ids)), index=ids)
    for stage in range(STAGES - 1, 0, -1):
        inner = links[links["customer"].isin(ids[stage_of == stage])]
        drawn = inner["share"].to_numpy() * output[index[inner["customer"]].to_numpy()]
        np.add.at(output, index[inner["supplier"]].to_numpy(), drawn * 1.1)
    output = np.maximum(output, 1.0)
    commodities = [f"c{k}" for k in range(STAGES)]
    tables = {
        "sources": pd.DataFrame(columns=["id", "title", "publisher", "url", "year", "kind"]),
        "commodities": pd.DataFrame(
            {
                "id": commodities,
                "name": commodities,
                "unit": "t",
                "stage": "material",
                "material": "synthetic",
                "value": "100",
                "assumption": A,
            }
        ),
        "producers": pd.DataFrame(
            {
                "id": ids,
                "name": ids,
                "country": countries,
                "commodity": [commodities[k] for k in stage_of],
                "capacity": (output * 1.3).astype(str),
                "output": output.astype(str),
                "assumption": A,
            }
        ),
        "links": links.assign(share=links["share"].astype(str), assumption=A),
        "recipes": pd.DataFrame(
            {
                "output": commodities[1:],
                "input": commodities[:-1],
                "quantity": "1",
                "unit": "t/t",
                "assumption": A,
            }
        ),
        "demand": pd.DataFrame(
            {
                "id": demand_ids,
                "region": "EU27",
                "commodity": commodities[-1],
                "quantity": demand_quantity.astype(str),
                "unit": "t",
                "assumption": A,
            }
        ),
    }
    return SupplyNetwork.from_tables(tables, name=f"synthetic-{producers}")


SCENARIO = """
name: scale
horizon_days: {days}
draws: {draws}
seed: 1
events:
  - type: export_ban
    exporter: [CHN, USA, JPN, KOR]
    start: 30
    end: 300
  - type: outage
    producer: p{outage}
    capacity_loss: {{dist: uniform, low: 0.3, high: 0.9}}
    start: 10
    end: 90
    recovery_days: 30
"""


def one(size: int, draws: int, days: int) -> dict:
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.run import simulate

    start = time.perf_counter()
    net = synthetic_network(size)
    built = time.perf_counter() - start
    scenario = Scenario.from_text(SCENARIO.format(days=days, draws=draws, outage=size // 2))
    start = time.perf_counter()
    results = simulate(scenario, net)
    wall = time.perf_counter() - start
    links = len(net.links)
    return {
        "producers": len(net.producers),
        "links": links,
        "days": days,
        "draws": draws,
        "build_s": round(built, 2),
        "simulate_s": round(wall, 2),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ns_per_update": round(wall / (links * days * draws) * 1e9, 2),
        "lost_share_mean": round(float(results.stats["lost_output_share_mean"].mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.draws, args.days)))
        return
    rows = []
    for size in args.sizes:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--draws",
                str(args.draws),
                "--days",
                str(args.days),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(json.dumps({"runs": rows}))


if __name__ == "__main__":
    main()
