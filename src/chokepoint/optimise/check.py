"""The out-of-sample check: run the chosen portfolio through the engine.

The optimiser's risk is that of its linear model on its own draws (in-sample). The engine
runs the written-back scenario twice: on the same draws (the difference is the error of
the linear model alone) and on fresh draws, from another seed (the difference adds the
sampling error of a portfolio fitted to N draws). The table shows the three side by side.
"""

from __future__ import annotations

import pandas as pd

from chokepoint.optimise.solve import Solution
from chokepoint.optimise.writeback import portfolio_scenario

MEASURES = ["stoppage_probability", "lost_output_mean", "lost_output_cvar95", "lost_value_mean"]


def engine_risk(scenario, network, groups: pd.DataFrame, draws: int, seed: int) -> pd.DataFrame:
    """Engine risk of the target groups on ``draws`` draws of ``seed``."""
    from chokepoint.simulation.run import simulate

    results = simulate(scenario, network, draws=draws, seed=seed)
    stats = results.stats.merge(groups[["product", "region"]], on=["product", "region"])
    return stats[["product", "region", *MEASURES]].reset_index(drop=True)


def check_portfolio(
    solution: Solution, *, draws: int | None = None, seed: int | None = None
) -> pd.DataFrame:
    """In-sample (optimiser), same draws (engine) and fresh draws (engine), per group.

    Fresh draws use ``seed`` (default: the scenario's seed + 1) and ``draws`` of them
    (default: as many as the optimiser used).
    """
    case = solution.case
    scenario = portfolio_scenario(solution)
    network = case.net
    n = len(case.draws)
    in_sample = solution.risk()
    same = engine_risk(scenario, network, case.groups, n, case.scenario.seed)
    fresh_seed = case.scenario.seed + 1 if seed is None else seed
    fresh = engine_risk(scenario, network, case.groups, draws or n, fresh_seed)
    rows = []
    for label, table in (
        ("optimiser, in-sample", in_sample),
        ("engine, same draws", same),
        ("engine, fresh draws", fresh),
    ):
        for row in table.itertuples(index=False):
            rows.append(
                {
                    "estimate": label,
                    **{k: getattr(row, k) for k in ["product", "region", *MEASURES]},
                }
            )
    return pd.DataFrame(rows)
