"""Cost against risk over a range of targets, and what each chosen measure contributes.

:func:`frontier` solves the same target at several bounds, reusing the per-draw programs,
so the points cost one build. :func:`contributions` takes each chosen measure out of the
portfolio alone and reports the risk that returns: its risk reduction at the chosen point.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.optimise.decompose import solve_decomposed
from chokepoint.optimise.run import Setup
from chokepoint.optimise.solve import Progress, Solution, SolveError

RISK_COLUMN = {
    "pstop": "stoppage_probability",
    "elv": "lost_value_mean",
    "cvar95": "lost_output_cvar95",
}


def frontier(
    prepared: Setup,
    bounds: list[float],
    *,
    time_limit: float = 60.0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Least cost at each bound of the first target (the others kept); infeasible bounds
    are reported with cost NaN."""
    cache: dict = {}
    first = prepared.targets[0]
    rows: list[dict[str, Any]] = []
    for bound in bounds:
        targets = [replace(first, bound=float(bound)), *prepared.targets[1:]]
        try:
            solution = solve_decomposed(
                prepared.case,
                prepared.candidates,
                targets,
                time_limit=time_limit,
                progress=progress,
                cache=cache,
            )
        except SolveError:
            rows.append({"bound": bound, "cost": np.nan, "risk": np.nan})
            continue
        risk = _risk(solution, first)
        portfolio = solution.portfolio()
        rows.append(
            {
                "bound": bound,
                "cost": solution.cost,
                "risk": risk,
                **dict(zip(portfolio["measure"], portfolio["amount"], strict=True)),
            }
        )
    return pd.DataFrame(rows)


def _risk(solution: Solution, target, table: pd.DataFrame | None = None) -> float:
    table = solution.risk() if table is None else table
    if target.group is None:
        return float(table["lost_value_mean"].sum())
    row = table[(table["product"] == target.product) & (table["region"] == target.region)]
    return float(row[RISK_COLUMN[target.kind]].iloc[0])


def contributions(solution: Solution) -> pd.DataFrame:
    """Cost and risk reduction of each chosen measure (the portfolio without it, in-sample)."""
    target = solution.targets[0]
    full = _risk(solution, target)
    rows = []
    row: Any  # a namedtuple of the portfolio's columns
    for position, row in enumerate(solution.portfolio().itertuples(index=False)):
        if row.amount <= 0:
            continue
        amounts = solution.amounts.copy()
        amounts[position] = 0.0
        without = _risk(solution, target, solution.risk_at(amounts))
        rows.append(
            {
                "measure": row.measure,
                "type": row.type,
                "amount": row.amount,
                "unit": row.unit,
                "cost": row.cost,
                "risk_without": without,
                "risk_reduction": without - full,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["measure", "type", "amount", "unit", "cost", "risk_without", "risk_reduction"],
    )
