"""linopy against the optimiser's own builder (sparse arrays straight to highspy), on the same
linear program: the second stage of the default data's car chain under a scenario, every
draw in one program (flows, stocks, production, shortfall; the core rows of
``chokepoint.optimise.lp``: slot balances, the share each link may win of a modelled
supplier, capacities, the group's output), minimising lost output.

Not part of the test suite and linopy is not a dependency: run it in a scratch environment
that has linopy (``pip install linopy`` there), with this checkout's ``src`` on the path::

    PYTHONPATH=src python bench/optimise_linopy.py --draws 20 50 100

It prints, per number of draws, the time to build the program and hand it to HiGHS, the
solve time, peak memory of the build, and checks both give the same optimum.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np


def core_arrays(case):
    """The pieces both builders use, from a compiled case."""
    S = len(case.slots)
    into = [np.flatnonzero(case.link_slot == s) for s in range(S)]
    regular = np.flatnonzero((case.link_from >= 0) & ~case.link_alternative)
    rhs = case.slot_inflow.copy()
    rhs[:, 0, :] += case.slot_stock
    return into, regular, rhs


def build_own(case):
    """The program with :class:`chokepoint.optimise.matrix.LinearProgram`."""
    from chokepoint.optimise.lp import _padded
    from chokepoint.optimise.matrix import LinearProgram, summed

    lp = LinearProgram()
    R, T = len(case.draws), len(case.period_start)
    P, S, L = len(case.producers), len(case.slots), len(case.links)
    into, regular, rhs = core_arrays(case)
    y = lp.var("y", (R, T, P), upper=case.prod_cap)
    x = lp.var("x", (R, T, L), upper=case.link_bound)
    inv = lp.var("inv", (R, T, S))
    short = lp.var("short", (R, T, 1), cost=1.0)
    index, mask = _padded(into)
    owner = np.maximum(case.slot_owner, 0)
    use = case.slot_net_share[None, None, :] * case.slot_coef * (case.slot_owner >= 0)
    previous = np.concatenate([inv[:, :1, :], inv[:, :-1, :]], axis=1)
    first = np.zeros((1, T, 1))
    first[0, 0, 0] = 1.0
    lp.constrain(
        "balance",
        [
            (1.0, inv),
            (-(1.0 - first), previous),
            (-mask[None, None], summed(x[:, :, index])),
            (use, y[:, :, owner]),
        ],
        lower=rhs,
        upper=rhs,
    )
    supplier = case.link_from[regular]
    lp.constrain(
        "share",
        [(1.0, x[:, :, regular]), (-case.link_share[regular], y[:, :, supplier])],
        upper=0.0,
    )
    made, made_mask = _padded(case.group_producers[:1])
    lp.constrain(
        "output",
        [(1.0, short), (made_mask[None, None], summed(y[:, :, made]))],
        lower=case.group_ref[None, :, :1],
    )
    return lp.arrays()


def solve_own(arrays):
    from chokepoint.optimise.solve import _highs, _quiet

    h = _highs(arrays, False, {})
    with _quiet():
        h.run()
    return h.getInfo().objective_function_value


def build_linopy(case):
    """The same program with linopy's labelled variables and expressions."""
    import warnings

    import linopy
    import xarray as xr

    warnings.filterwarnings("ignore", module="linopy")

    R, T = len(case.draws), len(case.period_start)
    P, S, L = len(case.producers), len(case.slots), len(case.links)
    into, regular, rhs = core_arrays(case)
    m = linopy.Model()
    cap = xr.DataArray(case.prod_cap, dims=("draw", "period", "producer"))
    bound = xr.DataArray(case.link_bound, dims=("draw", "period", "link"))

    def axes(name: str, size: int) -> list:
        import pandas as pd

        return [
            pd.RangeIndex(R, name="draw"),
            pd.RangeIndex(T, name="period"),
            pd.RangeIndex(size, name=name),
        ]

    y = m.add_variables(0, cap, coords=axes("producer", P), name="y")
    x = m.add_variables(0, bound, coords=axes("link", L), name="x")
    inv = m.add_variables(0, coords=axes("slot", S), name="inv")
    short = m.add_variables(0, coords=axes("slot", S)[:2], name="short")
    # arrivals: the links into each slot, grouped by their slot
    arrivals = x.groupby(xr.DataArray(case.link_slot, dims="link", name="slot")).sum()
    owner = np.maximum(case.slot_owner, 0)
    use = case.slot_net_share[None, None, :] * case.slot_coef * (case.slot_owner >= 0)
    taken = y.isel(producer=xr.DataArray(owner, dims="slot")) * xr.DataArray(use, dims=inv.dims)
    m.add_constraints(
        inv - inv.shift(period=1).fillna(0) - arrivals + taken
        == xr.DataArray(rhs, dims=("draw", "period", "slot")),
        name="balance",
    )
    supplier = xr.DataArray(case.link_from[regular], dims="regular")
    shares = y.isel(producer=supplier) * xr.DataArray(case.link_share[regular], dims="regular")
    m.add_constraints(
        x.isel(link=xr.DataArray(regular, dims="regular")) - shares <= 0, name="share"
    )
    made = y.isel(producer=xr.DataArray(case.group_producers[0], dims="member")).sum("member")
    m.add_constraints(
        short + made >= xr.DataArray(case.group_ref[:, 0], dims="period"), name="output"
    )
    m.add_objective(short.sum())
    return m


def solve_linopy(m):
    from chokepoint.optimise.solve import _quiet

    with _quiet():
        m.solve(solver_name="highs", output_flag=False, progress=False)
    return float(m.objective.value)


def measure(function, *args, peak: bool = False):
    """Value and seconds of ``function(*args)``; with ``peak``, a second call under
    tracemalloc gives its peak of Python-allocated memory (timed apart: tracemalloc slows
    code that allocates many small objects)."""
    started = time.perf_counter()
    value = function(*args)
    seconds = time.perf_counter() - started
    most = float("nan")
    if peak:
        tracemalloc.start()
        function(*args)
        most = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return value, seconds, most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="ree-2025-10")
    parser.add_argument("--draws", type=int, nargs="+", default=[20, 50, 100])
    args = parser.parse_args()
    from chokepoint.optimise.run import setup
    from chokepoint.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    print("draws | builder | build s | build peak MiB | solve s | lost output")
    for draws in args.draws:
        case = setup(scenario, "pstop:car_bev@EU27<=0.05", draws=draws).case
        arrays, own_build, own_peak = measure(build_own, case, peak=True)
        own_value, own_solve, _ = measure(solve_own, arrays)
        model, lin_build, lin_peak = measure(build_linopy, case, peak=True)
        # linopy hands the model to HiGHS inside solve(): its solve time includes that
        lin_value, lin_solve, _ = measure(solve_linopy, model)
        print(
            f"{draws} | own | {own_build:.2f} | {own_peak:.0f} | {own_solve:.2f} | {own_value:,.0f}"
        )
        print(
            f"{draws} | linopy | {lin_build:.2f} | {lin_peak:.0f} | {lin_solve:.2f} | "
            f"{lin_value:,.0f}"
        )
        assert abs(own_value - lin_value) <= 1e-6 * max(1.0, abs(own_value)), "optima differ"


if __name__ == "__main__":
    main()
