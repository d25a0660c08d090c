"""Solve a built program with HiGHS and read the portfolio and in-sample risk back.

For a ``pstop`` target the program is a mixed-integer one. Before branching, a heuristic
gives HiGHS a feasible start: solve the relaxation, let the ``floor(p × N)`` draws whose
relaxed stop variable is largest stop, solve the linear program left, and pass that
solution on. The answer reports HiGHS's status, the MIP gap and the time.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.errors import ChokepointError
from chokepoint.optimise.adapter import Case
from chokepoint.optimise.lp import MEUR, Built

Progress = Callable[[str], None]


class SolveError(ChokepointError):
    """The program has no solution (the targets cannot be met with these measures)."""


@dataclass
class Solution:
    """A solved program: the portfolio, the solver's report and the in-sample risk."""

    case: Case
    candidates: list
    targets: list
    cost_per_unit: np.ndarray  # EUR per unit of each decision
    amounts: np.ndarray
    short: np.ndarray  # [draw, period, group] shortfall against the reference output
    status: str
    objective: float  # EUR (measure costs, plus any violation cost)
    mip_gap: float
    seconds: float
    method: str = "extensive"
    iterations: int = 0
    evaluate: Callable | None = None  # amounts -> [draw, period, group] shortfall

    def risk_at(self, amounts: np.ndarray) -> pd.DataFrame:
        """In-sample risk of other amounts (Benders solutions only)."""
        if self.evaluate is None:
            raise ChokepointError("risk at other amounts needs a Benders solution")
        case = self.case
        return risk_table(self.evaluate(amounts), case.group_ref, case.groups, case.stop_tolerance)

    @property
    def cost(self) -> float:
        return float(self.amounts @ self.cost_per_unit)

    def portfolio(self) -> pd.DataFrame:
        """One row per candidate: amount chosen, unit, cost (EUR)."""
        from chokepoint.optimise.measures import MEASURE_KINDS

        rows = []
        for candidate, amount, price in zip(
            self.candidates, self.amounts, self.cost_per_unit, strict=True
        ):
            amount = 0.0 if abs(amount) < 1e-9 else float(amount)
            rows.append(
                {
                    "measure": candidate.id,
                    "type": candidate.type,
                    "amount": amount,
                    "unit": MEASURE_KINDS[candidate.type].unit,
                    "cost": amount * price,
                }
            )
        return pd.DataFrame(rows)

    def risk(self) -> pd.DataFrame:
        """In-sample risk per group, as the linear model sees it."""
        case = self.case
        return risk_table(self.short, case.group_ref, case.groups, case.stop_tolerance)


def risk_table(short: np.ndarray, ref: np.ndarray, groups: pd.DataFrame, tolerance: float):
    """P(stop), mean and CVaR95 of lost output, expected lost value per group."""
    stopped = (short > tolerance * ref[None] + 1e-6 * np.maximum(ref[None], 1.0)).any(axis=1)
    lost = short.sum(axis=1)
    rows = []
    group: Any  # a namedtuple of the groups' columns
    for g, group in enumerate(groups.itertuples(index=False)):
        tail = np.sort(lost[:, g])[::-1][: max(1, math.ceil(0.05 * len(lost)))]
        value = group.value if np.isfinite(group.value) else math.nan
        rows.append(
            {
                "product": group.product,
                "region": group.region,
                "stoppage_probability": float(stopped[:, g].mean()),
                "lost_output_mean": float(lost[:, g].mean()),
                "lost_output_cvar95": float(tail.mean()),
                "lost_value_mean": float(lost[:, g].mean() * value),
            }
        )
    return pd.DataFrame(rows)


def equilibrate(
    arrays: dict, rounds: int = 8, scales: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[dict, np.ndarray]:
    """Ruiz scaling: rows and columns scaled so each one's largest entry is near 1.

    Returns the scaled program and the column scale ``c`` (``x = c × x_scaled``); integer
    columns keep scale 1; the row scale is ``scaled["row_scale"]``. HiGHS scales too, but
    the time-expanded program (cars by the million, terbium by the tonne) solves several
    times faster scaled first. ``scales`` (rows, columns) reuses another program's scaling
    (the draws of one case share their structure and magnitudes).
    """
    import scipy.sparse as sp

    matrix = arrays["matrix"].tocsc(copy=True)
    n_rows, n_cols = matrix.shape
    row_scale, col_scale = np.ones(n_rows), np.ones(n_cols)
    free = ~arrays["integer"]
    if scales is not None and scales[0].shape == (n_rows,) and scales[1].shape == (n_cols,):
        row_scale, col_scale = scales
        matrix = (sp.diags(row_scale) @ matrix @ sp.diags(col_scale)).tocsc()
        rounds = 0
    for _ in range(rounds):
        absolute = abs(matrix)
        row_max = absolute.max(axis=1).toarray().ravel()
        col_max = absolute.max(axis=0).toarray().ravel()
        r = 1.0 / np.sqrt(np.where(row_max > 0, row_max, 1.0))
        c = np.where(free, 1.0 / np.sqrt(np.where(col_max > 0, col_max, 1.0)), 1.0)
        matrix = (sp.diags(r) @ matrix @ sp.diags(c)).tocsc()
        row_scale *= r
        col_scale *= c
    scaled = dict(arrays)
    scaled["matrix"] = matrix
    scaled["cost"] = arrays["cost"] * col_scale
    scaled["lower"] = arrays["lower"] / col_scale
    scaled["upper"] = arrays["upper"] / col_scale
    scaled["row_lower"] = arrays["row_lower"] * row_scale
    scaled["row_upper"] = arrays["row_upper"] * row_scale
    scaled["row_scale"] = row_scale
    return scaled, col_scale


def _highs(arrays: dict, integer: bool, options: dict):
    import highspy

    with _quiet():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.pop("log", False)))
    for name, value in options.items():
        h.setOptionValue(name, value)
    lp = highspy.HighsLp()
    matrix = arrays["matrix"]
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = arrays["cost"]
    lp.col_lower_ = arrays["lower"]
    lp.col_upper_ = np.where(np.isinf(arrays["upper"]), highspy.kHighsInf, arrays["upper"])
    lp.row_lower_ = np.where(np.isinf(arrays["row_lower"]), -highspy.kHighsInf, arrays["row_lower"])
    lp.row_upper_ = np.where(np.isinf(arrays["row_upper"]), highspy.kHighsInf, arrays["row_upper"])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if integer:
        kinds = highspy.HighsVarType
        lp.integrality_ = [
            kinds.kInteger if flag else kinds.kContinuous for flag in arrays["integer"]
        ]
    h.passModel(lp)
    return h


@contextlib.contextmanager
def _quiet():
    """Silence HiGHS's banner, which it prints on C's stdout."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _run(h) -> tuple[str, np.ndarray, float, float]:
    with _quiet():
        h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value)
    gap = float(getattr(info, "mip_gap", 0.0) or 0.0)
    return status, values, float(info.objective_function_value), gap


def solve(
    built: Built,
    *,
    time_limit: float = 60.0,
    mip_gap: float = 1e-3,
    progress: Progress | None = None,
    log: bool = False,
) -> Solution:
    """Solve the program; raise SolveError if no portfolio meets the targets."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    arrays, scale = equilibrate(built.lp.arrays())
    integer = bool(arrays["integer"].any())
    options = {"time_limit": float(time_limit), "log": log}  # threads: HiGHS keeps one global pool
    say(
        f"program: {built.lp.n_cols:,} columns, {built.lp.n_rows:,} rows, "
        f"{arrays['matrix'].nnz:,} nonzeros, {int(arrays['integer'].sum())} integer"
    )
    start = None
    if integer:
        say("solving the relaxation for a first portfolio")
        relaxed = _highs(arrays, False, dict(options))
        status, values, _, _ = _run(relaxed)
        if status == "Optimal":
            start = _rounded_start(built, arrays, values, options, say)
    elapsed = time.perf_counter() - started
    options["time_limit"] = max(float(time_limit) - elapsed, 1.0)
    if integer:
        options["mip_rel_gap"] = float(mip_gap)
    say("solving" + (" (branch and bound)" if integer else ""))
    h = _highs(arrays, integer, options)
    if start is not None:
        h.setSolution(_highs_solution(start))
    status, values, objective, gap = _run(h)
    seconds = time.perf_counter() - started
    feasible = len(values) == built.lp.n_cols and status in {
        "Optimal",
        "Time limit reached",
        "Iteration limit reached",
        "Interrupted by user",
    }
    if feasible and status != "Optimal" and not np.isfinite(objective):
        feasible = False
    if not feasible and start is not None:
        status, values, objective, gap = (
            "Heuristic (solver found nothing better)",
            start,
            float(start @ arrays["cost"]),
            math.nan,
        )
        feasible = True
    if not feasible:
        raise SolveError(
            f"no portfolio of these measures meets the targets ({status}); widen the measure "
            "limits, add measures or loosen the target"
        )
    values = values * scale
    say(f"{status} in {seconds:.1f} s, cost EUR {objective * MEUR:,.0f}")
    return Solution(
        built.case,
        built.candidates,
        built.targets,
        built.cost_per_unit,
        values[built.decision],
        values[built.short],
        status,
        objective * MEUR,
        gap,
        seconds,
    )


def _rounded_start(built: Built, arrays: dict, relaxed: np.ndarray, options: dict, say):
    """Fix every binary from the relaxation (the largest stop variables stop), solve the rest."""
    lower, upper = arrays["lower"].copy(), arrays["upper"].copy()
    for number, z in built.stop.items():
        order = np.argsort(-relaxed[z], kind="stable")
        target = built.targets[number]
        count = math.floor(target.bound * len(z) + 1e-9)
        chosen = np.zeros(len(z), bool)
        chosen[order[:count]] = True
        lower[z], upper[z] = chosen.astype(float), chosen.astype(float)
    others = arrays["integer"].copy()
    for z in built.stop.values():
        others[z] = False
    columns = np.flatnonzero(others)
    lower[columns] = np.ceil(relaxed[columns] - 1e-6)
    upper[columns] = lower[columns]
    fixed = dict(arrays, lower=lower, upper=np.maximum(upper, lower))
    h = _highs(fixed, False, dict(options))
    status, values, _, _ = _run(h)
    if status != "Optimal":
        say("no first portfolio from the relaxation; branching from scratch")
        return None
    say(f"first portfolio: EUR {values @ arrays['cost'] * MEUR:,.0f}")
    return values


def _highs_solution(values: np.ndarray):
    import highspy

    solution = highspy.HighsSolution()
    solution.col_value = list(values)
    solution.value_valid = True
    return solution
