"""Run BoARIO's ARIOPsiModel and chokepoint's ``ario`` mode side by side on one table.

    python bench/ario_vs_boario.py --sectors test --steps 365
    python bench/ario_vs_boario.py --sectors 1000 --steps 365
    python bench/ario_vs_boario.py --sectors 3400 --steps 365

``--sectors test`` uses pymrio's test system; a number builds a synthetic MRIO of about that
many industries (100 sectors per region up to 2,000 industries, 200 beyond; ``--density``
of non-zero flows, 2% by default). Both models get the same table, BoARIO's default
parameters and the same event: every industry of the first two sectors (in label order),
in every region, loses half its productive capital on step 5; the full damage lasts 10
steps, then recovers linearly over 90 steps (BoARIO ``EventKapitalRecover``).

BoARIO (``pip install boario progressbar2``) must be importable: it is not a chokepoint
dependency, so run this from an environment that has both (see bench/README.md). The last
line printed is one JSON object: ``boario_s``, ``chokepoint_s``, ``speedup``,
``max_rel_diff`` (largest relative difference of total production over all steps) and more.
Both times cover building the model from the pymrio ``IOSystem`` and the run; chokepoint's
numba kernel is compiled (or loaded from numba's cache) before the clock starts, and that
warm-up is reported apart as ``jit_warm_up_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

OCCURRENCE, DURATION, RECOVERY_TAU, SHARE_DESTROYED = 5, 10, 90, 0.5
MONETARY_FACTOR = 10**6


def _table(sectors: str, density: float, seed: int):
    import pymrio

    from chokepoint.economy.synthetic import synthetic_mrio, to_pymrio

    if sectors == "test":
        system = pymrio.load_test()
        system.calc_all()
        return system
    industries = int(sectors)
    per_region = 100 if industries <= 2000 else 200
    regions = max(1, round(industries / per_region))
    return to_pymrio(synthetic_mrio(regions, per_region, density=density, seed=seed))


def _damages(system) -> pd.Series:
    """Half the capital (4 x value added, BoARIO's default) of the first two sectors."""
    value_added = (system.x.iloc[:, 0] - system.Z.sum(axis=0)).clip(lower=0.0)
    capital = 4.0 * value_added
    sectors = sorted(system.get_sectors())[:2]
    hit = capital[capital.index.get_level_values(1).isin(sectors)]
    damages = (hit * SHARE_DESTROYED).round(3)
    damages.index.names = ["region", "sector"]
    return damages[damages > 0]


def run_boario(system, damages: pd.Series, steps: int) -> tuple[pd.DataFrame, float]:
    import boario.event
    from boario.extended_models import ARIOPsiModel
    from boario.simulation import Simulation

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BoARIO's own deprecation and info warnings
        model = ARIOPsiModel(system, monetary_factor=MONETARY_FACTOR)
        simulation = Simulation(
            model,
            n_temporal_units_to_sim=steps,
            boario_output_dir=tempfile.mkdtemp(prefix="boario-bench-"),
        )
        simulation.add_event(
            boario.event.from_series(
                damages,
                event_type="recovery",
                occurrence=OCCURRENCE,
                duration=DURATION,
                recovery_tau=RECOVERY_TAU,
                recovery_function="linear",
                event_monetary_factor=MONETARY_FACTOR,
            )
        )
        simulation.loop()
    elapsed = time.perf_counter() - started
    return simulation.production_realised, elapsed


def warm_up(engine: str) -> float:
    """Compile (or load from numba's cache) the ARIO kernel on a tiny table; seconds taken."""
    from chokepoint.economy.ario import build_ario, run_ario
    from chokepoint.economy.mrio import load_mrio

    started = time.perf_counter()
    run_ario(build_ario(load_mrio("test")), 3, engine=engine)
    return time.perf_counter() - started


def run_chokepoint(
    system, damages: pd.Series, steps: int, engine: str
) -> tuple[pd.DataFrame, float, int]:
    from chokepoint.economy.ario import ARIOParameters, build_ario, run_ario
    from chokepoint.economy.events import CapitalDestruction, capital_loss
    from chokepoint.economy.mrio import from_pymrio

    started = time.perf_counter()
    mrio = from_pymrio(system)
    model = build_ario(mrio, ARIOParameters())
    event = CapitalDestruction(
        damages,
        occurrence=OCCURRENCE,
        duration=DURATION,
        recovery_tau=RECOVERY_TAU,
        recovery="linear",
        rounding_decimals=int(np.log10(MONETARY_FACTOR)) + 1,
    )
    result = run_ario(
        model, steps, capacity_loss=capital_loss(model, [event], steps), engine=engine
    )
    elapsed = time.perf_counter() - started
    production = pd.DataFrame(result.production[:, :, 0], columns=mrio.industries)
    return production, elapsed, int(result.shortage_steps.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sectors", default="test", help="'test' or a number of industries")
    parser.add_argument("--steps", type=int, default=365)
    parser.add_argument("--density", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--engine", choices=["numba", "numpy"], default="numba", help="chokepoint's ARIO loop"
    )
    args = parser.parse_args()
    try:
        import boario  # noqa: F401
    except ImportError:
        sys.exit(
            "BoARIO is not installed here: pip install boario progressbar2 (see bench/README.md)"
        )

    system = _table(args.sectors, args.density, args.seed)
    damages = _damages(system)
    warm_up_s = warm_up(args.engine)
    reference, boario_s = run_boario(system, damages, args.steps)
    ours, chokepoint_s, shortage_steps = run_chokepoint(system, damages, args.steps, args.engine)
    ours = ours[reference.columns]
    total_ref = reference.sum(axis=1).to_numpy()
    total_ours = ours.sum(axis=1).to_numpy()
    total_diff = np.abs(total_ours - total_ref) / np.abs(total_ref)
    scale = np.maximum(np.abs(reference.to_numpy()), 1e-12 * np.abs(reference.to_numpy()).max())
    industry_diff = np.abs(ours.to_numpy() - reference.to_numpy()) / scale
    result = {
        "table": args.sectors,
        "industries": int(reference.shape[1]),
        "nonzero_flows": int((system.Z.to_numpy() != 0).sum()),
        "steps": args.steps,
        "damaged_industries": len(damages),
        "lowest_total_production": float((total_ref / total_ref[0]).min()),
        "industry_steps_limited_by_stocks": shortage_steps,
        "boario_s": round(boario_s, 3),
        "chokepoint_s": round(chokepoint_s, 3),
        "engine": args.engine,
        "jit_warm_up_s": round(warm_up_s, 2),
        "speedup": round(boario_s / chokepoint_s, 1),
        "max_rel_diff": float(total_diff.max()),
        "max_industry_rel_diff": float(industry_diff.max()),
        "cpus": os.cpu_count(),
    }
    print(
        f"{result['industries']} industries, {args.steps} steps: BoARIO {boario_s:.2f} s, "
        f"chokepoint {chokepoint_s:.3f} s ({result['speedup']}x); total production agrees to "
        f"{result['max_rel_diff']:.2e} (worst industry {result['max_industry_rel_diff']:.2e})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
