"""The assumption audit on the demo scenario: how long it takes and what it finds.

Run: ``python bench/audit.py [--scenario licences-3m] [--metric lost_value] [--draws 10]
[--workers 2]``. Runs :func:`chokepoint.evidence.audit.audit` on the default network and
prints one JSON object: wall time (imports and worker start-up included), CPU time (this
process and its workers: on a shared machine, wall time / cores is a floor), engine runs, the
machine's cores and load average at the start, the base value of the headline, the share of
its variance owed to unsourced inputs and the top five inputs with their swings. Issue 11
asks for under 5 minutes (300 s) on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="licences-3m")
    parser.add_argument("--metric", default="lost_value")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--save", help="Also write the JSON here (the demo reads one).")
    args = parser.parse_args()
    load = os.getloadavg()
    import chokepoint
    from chokepoint.evidence.audit import audit

    network = chokepoint.load_default()
    result = audit(
        chokepoint.load_scenario(args.scenario),
        network,
        metric=args.metric,
        draws=args.draws,
        workers=args.workers,
    )
    top = result.top(5)
    summary = {
        "scenario": args.scenario,
        "metric": result.headline.label,
        "date": time.strftime("%Y-%m-%d"),
        "data_version": network.data_version,
        "draws_per_run": args.draws,
        "workers": args.workers,
        "cores": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in load],
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(time.perf_counter() - started, 1),
        "audit_s": round(result.seconds, 1),
        "cpu_s": round(_cpu_seconds(), 1),
        "runs": result.runs,
        "inputs": len(result.table),
        "screened": result.table["screened"].value_counts().to_dict(),
        "base_value": result.base_value,
        "unsourced_variance_share": result.unsourced_share,
        "morris": result.morris[["input", "mu_star", "sigma"]].to_dict(orient="records"),
        "notes": result.notes,
        "top5": [
            {
                "input": row.input,
                "sourced": bool(row.sourced),
                "low": row.low,
                "high": row.high,
                "metric_low": row.metric_low,
                "metric_high": row.metric_high,
                "swing": row.swing,
                "reason": row.reason,
                "source": row.source,
            }
            for row in top.itertuples(index=False)
        ],
        "under_5_minutes": time.perf_counter() - started < 300,
    }
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
