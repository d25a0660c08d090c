"""Solve the stochastic program by Benders decomposition: one small program per draw.

The extensive form (every draw in one program) grows faster than linearly with the draws
(``bench/optimise.py``). Here each draw's second stage is its own program, with the
measures fixed by their bounds; its optimal value ``v_r(x)`` — lost value, lost output, or
shortfall beyond the stop tolerance — is convex and piecewise linear in the measures
``x`` (they enter only its right-hand side), and the reduced costs of the fixed measure
columns are a subgradient. A master program over ``x`` keeps these cuts,
``θ_r >= v_r(x̂) + g_r · (x - x̂)``, and the targets on ``θ``:

* ``elv``: ``mean_r θ_r <= X``; ``cvar95``: Rockafellar–Uryasev on ``θ``;
* ``pstop``: ``θ_r <= M_r z_r`` with one binary per draw and ``Σ z <= floor(p N)``;
  ``M_r = v_r(0)`` (measures only reduce shortfalls).

Each round solves the master (a small mixed-integer program), evaluates every draw at its
answer (warm-started: only the measure bounds change) and adds a cut where the master
underestimates. It stops when the draws confirm the master's answer: the result is then
the exact SAA optimum of the linear model (up to the tolerance).
"""

from __future__ import annotations

import math
import time

import numpy as np

from chokepoint.optimise.adapter import Case
from chokepoint.optimise.catalogue import Candidate
from chokepoint.optimise.lp import MEUR, VIOLATION_COST, build, draw_effects, measure_effects
from chokepoint.optimise.matrix import LinearProgram, summed
from chokepoint.optimise.measures import MEASURE_KINDS
from chokepoint.optimise.solve import Progress, Solution, SolveError, _highs, _quiet, equilibrate
from chokepoint.optimise.targets import Target

TOLERANCE = 1e-6


class _Draw:
    """The second stage of one draw for one target, kept in HiGHS between rounds."""

    scale: np.ndarray  # column scale (x = scale × scaled x)
    row_scale: np.ndarray

    def __init__(
        self,
        case: Case,
        candidates,
        effects,
        target: Target,
        position: int,
        like: _Draw | None = None,
    ):
        self.built = build(
            case.take(position),
            candidates,
            [],
            measure=target,
            effects=draw_effects(effects, position),
        )
        # ``like``: a draw of the same case whose scaling this one reuses (same structure)
        scales = None if like is None else (like.row_scale, like.scale)
        arrays, self.scale = equilibrate(self.built.lp.arrays(), scales=scales)
        self.row_scale = arrays["row_scale"]
        self.columns = self.built.decision
        self.h = _highs(arrays, False, {})
        self.shape = self.built.short.shape

    def evaluate(
        self, amounts: np.ndarray, start: _Draw | None = None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, subgradient (per unit of each measure) and shortfall at ``amounts``.

        ``start``: another draw's program, already solved, whose basis starts this one (the
        draws share their structure; only numbers differ), several times faster than cold.
        """
        fixed = amounts / self.scale[self.columns]
        self.h.changeColsBounds(len(self.columns), self.columns, fixed, fixed)
        if start is not None and start.shape == self.shape:
            basis = start.h.getBasis()
            if basis.valid:
                self.h.setBasis(basis)
        with _quiet():
            self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        if status != "Optimal":
            raise SolveError(f"a draw's second stage could not be solved ({status})")
        solution = self.h.getSolution()
        value = float(self.h.getInfo().objective_function_value)
        duals = np.asarray(solution.col_dual)[self.columns] / self.scale[self.columns]
        values = np.asarray(solution.col_value) * self.scale
        return value, duals, values[self.built.short].reshape(self.shape)[0]

    def shortfall(self, amounts: np.ndarray, *, polish: bool = False) -> np.ndarray:
        """``[period, group]`` shortfall at ``amounts``; with ``polish`` the least one among
        the answers with the least excess (a small cost on every unit short, then put back)."""
        if not polish:
            return self.evaluate(amounts)[2]
        columns = self.built.lp.names["within"].ravel()
        periods = self.built.short.shape[1]
        before = np.asarray(self.h.getLp().col_cost_)[columns]
        weight = before + POLISH / periods * self.scale[columns]
        self.h.changeColsCost(len(columns), columns, weight)
        try:
            return self.evaluate(amounts)[2]
        finally:
            self.h.changeColsCost(len(columns), columns, before)


POLISH = 0.05
"""Weight of the lost output within the stop tolerance, relative to the excess beyond it,
when a ``pstop`` answer's shortfall is read back: the stoppage program leaves the shortfall
within the tolerance free, so any amount up to it is optimal; the reported lost output is
the least the linear model needs."""


def solve_decomposed(
    case: Case,
    candidates: list[Candidate],
    targets: list[Target],
    *,
    budget: float | None = None,
    time_limit: float = 60.0,
    max_rounds: int = 100,
    progress: Progress | None = None,
    cache: dict | None = None,
) -> Solution:
    """The cheapest portfolio meeting the targets, solved draw by draw (see the module)."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    effects = measure_effects(case, candidates)
    kinds = [MEASURE_KINDS[c.type] for c in candidates]
    price = np.array([k.cost_per_unit(c, case) for k, c in zip(kinds, candidates, strict=True)])
    upper = np.array([k.upper(c) for k, c in zip(kinds, candidates, strict=True)])
    integer = np.array([k.integer for k in kinds])
    R = len(case.draws)
    cache = {} if cache is None else cache  # second stages by (kind, group): bounds differ
    draws = []
    for target in targets:
        key = (target.kind, target.group)
        if key not in cache:
            say(f"building {R} second-stage programs for {target.kind} {target.group or ''}")
            row: list[_Draw] = []
            for r in range(R):
                row.append(_Draw(case, candidates, effects, target, r, like=row[0] if r else None))
            cache[key] = row
        draws.append(cache[key])
    zero = np.zeros(len(candidates))
    cuts: list[list[list]] = [[[] for _ in range(R)] for _ in targets]
    big_m = np.zeros((len(targets), R))
    shortfall = np.zeros((R, *case.group_ref.shape))
    for t, row in enumerate(draws):
        for r, problem in enumerate(row):
            value, slope, _ = problem.evaluate(zero, start=row[r - 1] if r else None)
            big_m[t, r] = value
            cuts[t][r].append((value, slope, zero))
    amounts, status, gap = zero, "Optimal", 0.0
    for round_number in range(1, max_rounds + 1):
        remaining = time_limit - (time.perf_counter() - started)
        amounts, status, gap, objective = _master(
            targets, cuts, big_m, price, upper, integer, budget, max(remaining, 1.0), R
        )
        new_cuts, worst = 0, 0.0
        for t, row in enumerate(draws):
            for r, problem in enumerate(row):
                value, slope, short = problem.evaluate(amounts)
                estimate = max(v + s @ (amounts - x) for v, s, x in cuts[t][r])
                if value > estimate + TOLERANCE * max(1.0, abs(value)):
                    cuts[t][r].append((value, slope, amounts.copy()))
                    new_cuts += 1
                    worst = max(worst, value - estimate)
                if t == 0:
                    shortfall[r] = short
        say(
            f"round {round_number}: cost EUR {amounts @ price:,.0f}, {new_cuts} new cuts, "
            f"largest gap {worst:.3g}"
        )
        if new_cuts == 0 or time.perf_counter() - started > time_limit:
            break
    # the shortfall of every group, from the first target's programs at the final answer
    for r, problem in enumerate(draws[0]):
        shortfall[r] = problem.shortfall(amounts, polish=targets[0].kind == "pstop")
    seconds = time.perf_counter() - started
    converged = new_cuts == 0
    say(f"{'converged' if converged else 'stopped'} after {round_number} rounds, {seconds:.1f} s")
    solution = Solution(
        case,
        candidates,
        targets,
        price,
        amounts,
        shortfall,
        status if converged else f"{status}; not converged ({round_number} rounds)",
        objective * MEUR,
        gap,
        seconds,
        method="benders",
        iterations=round_number,
    )
    solution.evaluate = lambda x: np.stack([p.evaluate(np.asarray(x, float))[2] for p in draws[0]])
    return solution


def _master(targets, cuts, big_m, price, upper, integer, budget, time_limit, R):
    lp = LinearProgram()
    x = lp.var("x", (len(price),), upper=upper, cost=price / MEUR, integer=False)
    lp.integer[0][:] = integer
    soft = budget is not None
    for t, target in enumerate(targets):
        theta = lp.var(f"theta{t}", (R,))
        for r in range(R):
            for value, slope, at in cuts[t][r]:
                lp.constrain(
                    "cut",
                    [(1.0, theta[r]), (-slope, summed(x))],
                    lower=value - slope @ at,
                )
        slack = lp.var(f"slack{t}", (), cost=VIOLATION_COST) if soft else None
        relief = [] if slack is None else [(-1.0, slack)]
        if target.kind == "pstop":
            z = lp.var(f"z{t}", (R,), upper=1.0, integer=True)
            lp.constrain("stop", [(1.0, theta), (-np.maximum(big_m[t], 1e-9), z)], upper=0.0)
            allowed = math.floor(target.bound * R + 1e-9)
            lp.constrain("pstop", [(1.0, summed(z)), *relief], upper=float(allowed))
        elif target.kind == "elv":
            lp.constrain("elv", [(1.0 / R, summed(theta)), *relief], upper=target.bound / MEUR)
        else:
            eta = lp.var(f"eta{t}", (), lower=-np.inf)
            excess = lp.var(f"excess{t}", (R,))
            lp.constrain("tail", [(1.0, theta), (-1.0, eta), (-1.0, excess)], upper=0.0)
            lp.constrain(
                "cvar",
                [(1.0, eta), (1.0 / (0.05 * R), summed(excess)), *relief],
                upper=target.bound,
            )
    if budget is not None:
        lp.constrain("budget", [(price / MEUR, summed(x))], upper=budget / MEUR)
    arrays = lp.arrays()
    h = _highs(
        arrays, bool(arrays["integer"].any()), {"time_limit": time_limit, "mip_rel_gap": 1e-6}
    )
    with _quiet():
        h.run()
    status = h.modelStatusToString(h.getModelStatus())
    values = np.asarray(h.getSolution().col_value)
    if status not in {"Optimal", "Time limit reached"} or len(values) != lp.n_cols:
        raise SolveError(
            f"no portfolio of these measures meets the targets ({status}); widen the measure "
            "limits, add measures or loosen the target"
        )
    gap = float(getattr(h.getInfo(), "mip_gap", 0.0) or 0.0)
    amounts = np.clip(values[x], 0.0, upper)
    return amounts, status, gap, float(h.getInfo().objective_function_value)
