"""A 365-day ARIO run on a synthetic EXIOBASE-sized MRIO: wall time and peak memory.

    python bench/economy_scale.py                        # 49 regions x 200 sectors = 9,800
    python bench/economy_scale.py --regions 49 --sectors 200 --density 0.02 --draws 4

The table is synthetic (``chokepoint.economy.synthetic``: ~2% non-zero flows, EXIOBASE's
49 regions x 200 products). The event is the one of ``bench/ario_vs_boario.py``: every
industry of the first two sectors loses half its productive capital on step 5 for 10 steps,
then recovers linearly over 90 steps. The last line is one JSON object with ``run_s``
(build + 365 steps), ``cpu_s`` (CPU time of all threads over the same span: on a shared
machine the figure that does not depend on the load, reported as ``load_average``),
``generate_s``, ``peak_mib`` (the process's ``ru_maxrss``: imports,
table and run together) and the table's size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=49)
    parser.add_argument("--sectors", type=int, default=200)
    parser.add_argument("--density", type=float, default=0.02)
    parser.add_argument("--steps", type=int, default=365)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["float32", "float64"], default="float32")
    parser.add_argument("--block", type=int, default=None, help="draws per compiled block")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from chokepoint.economy.ario import DRAW_BLOCK, ARIOParameters, build_ario, run_ario
    from chokepoint.economy.events import CapitalDestruction, capital_loss
    from chokepoint.economy.synthetic import synthetic_mrio

    started = time.perf_counter()
    mrio = synthetic_mrio(args.regions, args.sectors, density=args.density, seed=args.seed)
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    cpu_started = time.process_time()
    model = build_ario(mrio, ARIOParameters())
    capital = pd.Series(model.capital, index=mrio.industries)
    hit = capital[capital.index.get_level_values(1).isin(mrio.sectors[:2])]
    event = CapitalDestruction((hit * 0.5).round(3), occurrence=5, duration=10, recovery_tau=90)
    loss = capital_loss(model, [event], args.steps)
    options = {} if args.block is None else {"block": args.block}
    result = run_ario(
        model,
        args.steps,
        capacity_loss=loss,
        draws=args.draws,
        keep_production=False,
        precision=args.precision,
        threads=args.threads,
        **options,
    )
    run_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "industries": mrio.n_industries,
        "nonzero_flows": int(mrio.Z.nnz),
        "density": round(mrio.Z.nnz / mrio.n_industries**2, 4),
        "slots": model.n_slots,
        "steps": args.steps,
        "draws": args.draws,
        "precision": args.precision,
        "block": args.block or DRAW_BLOCK,
        "generate_s": round(generate_s, 2),
        "run_s": round(run_s, 2),
        "cpu_s": round(cpu_s, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_mib": round(peak_mib, 1),
        "value_added_lost_share": float(
            result.value_added_loss.sum(axis=0).mean()
            / (np.maximum(mrio.value_added, 0).sum() * args.steps / 365)
        ),
        "industry_steps_limited_by_stocks": int(result.shortage_steps.sum()),
    }
    print(
        f"{report['industries']} industries ({report['nonzero_flows']:,} flows), "
        f"{args.steps} steps x {args.draws} draw(s): {run_s:.1f} s, peak {peak_mib:.0f} MiB"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
