"""``optimise``: the cheapest portfolio for the targets, in separate callable steps.

:func:`setup` compiles the scenario and the catalogue into a case; :func:`choose` solves it
(Benders by default, or the extensive form); :mod:`chokepoint.optimise.writeback` turns the
answer into scenario events; :func:`chokepoint.optimise.check.check_portfolio` runs it
through the engine. :func:`optimise` does all four.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from chokepoint.network.container import SupplyNetwork
from chokepoint.optimise.adapter import Case, compile_case
from chokepoint.optimise.catalogue import Candidate, load_catalogue
from chokepoint.optimise.measures import MEASURE_KINDS
from chokepoint.optimise.solve import Progress, Solution, solve
from chokepoint.optimise.targets import Target, parse_targets
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import prepare


@dataclass
class Setup:
    case: Case
    candidates: list[Candidate]
    targets: list[Target]
    dropped: list[str]  # candidates that reach no modelled slot


def setup(
    scenario: Scenario,
    targets: list[str] | list[Target] | str,
    *,
    network: SupplyNetwork | str | Path | None = None,
    draws: int = 200,
    step_days: int = 7,
    measures: str | Path | list[Candidate] | None = None,
) -> Setup:
    """Compile the scenario's draws and the candidate measures for the targets."""
    targets = [t if isinstance(t, Target) else t for t in _targets(targets)]
    candidates = measures if isinstance(measures, list) else load_catalogue(measures)
    prepared = prepare(scenario, network)

    class _Model:  # the kinds only read the model when locating their slots
        model = prepared.model

    extra: set[int] = set()
    for candidate in candidates:
        extra |= {int(s) for s in MEASURE_KINDS[candidate.type].model_slots(candidate, _Model)}
    groups = (
        None
        if any(t.product is None for t in targets)  # a target without a group: all groups
        else [(cast(str, t.product), cast(str, t.region)) for t in targets]
    )
    case = compile_case(
        scenario,
        network,
        draws=draws,
        step_days=step_days,
        groups=groups,
        extra_slots=extra,
        prepared=prepared,
    )
    kept: list[Candidate] = []
    dropped: list[Candidate] = []
    for candidate in candidates:
        slots = MEASURE_KINDS[candidate.type].model_slots(candidate, case)
        (kept if np.isin(slots, case.slots).any() else dropped).append(candidate)
    return Setup(case, kept, targets, [c.id for c in dropped])


def _targets(targets) -> list[Target]:
    if isinstance(targets, list) and targets and isinstance(targets[0], Target):
        return targets
    return parse_targets(targets)


def choose(
    prepared: Setup,
    *,
    budget: float | None = None,
    method: str = "benders",
    time_limit: float = 60.0,
    progress: Progress | None = None,
) -> Solution:
    """Solve: ``benders`` (per-draw programs) or ``extensive`` (one program)."""
    if method == "extensive":
        from chokepoint.optimise.lp import build

        built = build(prepared.case, prepared.candidates, prepared.targets, budget=budget)
        return solve(built, time_limit=time_limit, progress=progress)
    from chokepoint.optimise.decompose import solve_decomposed

    return solve_decomposed(
        prepared.case,
        prepared.candidates,
        prepared.targets,
        budget=budget,
        time_limit=time_limit,
        progress=progress,
    )


def optimise(
    scenario: Scenario,
    targets: list[str] | str,
    *,
    network: SupplyNetwork | str | Path | None = None,
    draws: int = 200,
    step_days: int = 7,
    measures: str | Path | list[Candidate] | None = None,
    budget: float | None = None,
    method: str = "benders",
    time_limit: float = 60.0,
    check_draws: int | None = None,
    progress: Progress | None = None,
) -> tuple[Solution, pd.DataFrame | None]:
    """Choose the portfolio and check it with the engine (``check_draws=0``: no check)."""
    from chokepoint.optimise.check import check_portfolio

    prepared = setup(
        scenario, targets, network=network, draws=draws, step_days=step_days, measures=measures
    )
    solution = choose(
        prepared, budget=budget, method=method, time_limit=time_limit, progress=progress
    )
    if check_draws == 0:
        return solution, None
    if progress:
        progress("checking the portfolio with the engine on the same and on fresh draws")
    return solution, check_portfolio(solution, draws=check_draws)
