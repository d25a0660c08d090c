"""Assumption audit: what a headline number rests on.

Every assumed input (:mod:`chokepoint.evidence.inputs`) is swung over its range, one at a
time, from a base case, against a headline metric (:mod:`chokepoint.evidence.headline`). The
base case is the headline as it is quoted: the data as given and the scenario as written, its
distributions sampled per draw, so that the base is the Monte Carlo mean the user reads
(``base="median"`` instead fixes every distribution at its median: on a licensing scenario
that is often a case with no loss at all, because the losses come from the slow tail). A
scenario distribution is swung by fixing it at its 5th and then its 95th percentile. All
runs share the scenario's seed (common random numbers), so a difference between two runs is
the input's effect, not noise.

Steps, each documented in docs/evidence.md:

1. **Fixed rows** (low = high) have nothing to swing: effect 0, no run. **Unreached rows**
   lie in a part of the network (weakly connected through its links) that no event of the
   scenario touches: there the shocked run equals the no-shock run whatever the row's
   value, so no loss can change; effect 0, no run.
2. **Group screening, then one at a time.** Inputs are grouped by table, column and
   material (e.g. the days of cover of every rare-earth stock). A group is swung as a whole
   to its members' lows and then to their highs; if neither moves the headline by more than
   ``tolerance`` × |base|, every member is reported as screened with the group's effect as
   its bound. Otherwise the group is halved and each half screened again, down to single
   inputs, which are swung alone (low, high). This sequential bifurcation costs two runs per
   group visited instead of two per input; its one assumption is that members of a group do
   not cancel each other out, which grouping by column and material makes unlikely (and
   the report names every input screened this way).
3. **Interactions**: the ``morris_inputs`` inputs with the largest swings are screened with
   Morris elementary effects (SALib, ``morris_trajectories`` trajectories on 4 levels over
   the same ranges). A ratio σ/μ* well above 0.5 says the input's effect depends on the
   others (interaction or non-linearity), so its one-at-a-time swing understates or
   overstates it.
4. **Variance share**: with every input uniform over its range and the headline additive in
   the inputs (step 3 says how far that holds), each input's variance is that of the
   piecewise-linear curve through its low, base and high runs; the share owed to unsourced
   inputs is their sum over the total.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.errors import OptionError
from chokepoint.evidence.headline import Headline, evaluate, parse_headline
from chokepoint.evidence.inputs import (
    Input,
    all_inputs,
    apply,
    base_scenario,
    components,
    touched_components,
)
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.simulation.check import network_for

COLUMNS = [
    "rank",
    "input",
    "kind",
    "group",
    "sourced",
    "base",
    "low",
    "high",
    "metric_low",
    "metric_high",
    "swing",
    "screened",
    "morris_mu_star",
    "morris_sigma",
    "variance_share",
    "source",
    "reason",
]
"""Columns of :attr:`Audit.table`. ``screened``: ``alone`` (swung alone), ``group`` (its
group moved the headline by at most the tolerance: ``swing`` is that bound), ``unreached``
(in a part of the network no event touches: it cannot change any loss) or ``fixed``."""


@dataclass
class Audit:
    """What an audit found: the ranked inputs and the figures about them."""

    headline: Headline
    base_value: float
    table: pd.DataFrame
    morris: pd.DataFrame
    unsourced_share: float
    runs: int
    seconds: float
    draws: int
    tolerance: float
    scenario: str
    network: str
    notes: list[str] = field(default_factory=list)

    def top(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` inputs with the largest swings."""
        return self.table.head(n)

    def to_dict(self) -> dict:
        """A JSON-ready form (the table as records)."""
        from chokepoint.reporting.tables import to_records

        return {
            "scenario": self.scenario,
            "network": self.network,
            "metric": self.headline.label,
            "base_value": self.base_value,
            "unsourced_variance_share": self.unsourced_share,
            "draws": self.draws,
            "tolerance": self.tolerance,
            "runs": self.runs,
            "seconds": round(self.seconds, 1),
            "inputs": len(self.table),
            "notes": self.notes,
            "morris": to_records(self.morris),
            "table": to_records(self.table),
        }


_WORKER: dict = {}


def _start_worker(
    net: SupplyNetwork, scenario: Scenario, headline: Headline, draws: int, inputs: list[Input]
) -> None:
    _WORKER.update(net=net, scenario=scenario, headline=headline, draws=draws, inputs=inputs)


def _work(task: list[tuple[int, float]]) -> float:
    inputs = _WORKER["inputs"]
    net, scenario = apply(_WORKER["net"], _WORKER["scenario"], {inputs[i]: v for i, v in task})
    return evaluate(scenario, net, _WORKER["headline"], _WORKER["draws"], threads=1)


class _Runner:
    """Runs the base case with some inputs changed, here or on worker processes."""

    def __init__(
        self,
        net: SupplyNetwork,
        scenario: Scenario,
        headline: Headline,
        draws: int,
        inputs: list[Input],
        workers: int,
    ) -> None:
        self.index = {item: number for number, item in enumerate(inputs)}
        self.runs = 0
        _start_worker(net, scenario, headline, draws, inputs)
        self.pool = None
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(net, scenario, headline, draws, inputs),
            )

    def many(self, assignments: list[dict[Input, float]]) -> list[float]:
        """The headline for each assignment of values to inputs."""
        tasks = [[(self.index[i], float(v)) for i, v in a.items()] for a in assignments]
        self.runs += len(tasks)
        if self.pool is None or len(tasks) < 2:
            return [_work(task) for task in tasks]
        return list(self.pool.map(_work, tasks))

    def __call__(self, values: dict[Input, float]) -> float:
        return self.many([values])[0]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


@dataclass
class _Swing:
    low: float
    high: float
    screened: str


def _screen(
    groups: Sequence[Sequence[Input]],
    run: _Runner,
    base: float,
    tolerance: float,
    found: dict[Input, _Swing],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Sequential bifurcation of every group, a round at a time (module docstring, step 2)."""
    pending = [list(g) for g in groups]
    round_number = 0
    while pending:
        round_number += 1
        if progress is not None:
            progress(f"screening round {round_number}: {len(pending)} groups")
        assignments = []
        for group in pending:
            assignments += [{i: i.low for i in group}, {i: i.high for i in group}]
        values = run.many(assignments)
        following = []
        for number, group in enumerate(pending):
            low, high = values[2 * number], values[2 * number + 1]
            if len(group) == 1:
                found[group[0]] = _Swing(low, high, "alone")
            elif max(abs(low - base), abs(high - base)) <= tolerance:
                for item in group:
                    found[item] = _Swing(low, high, "group")
            else:
                middle = len(group) // 2
                following += [group[:middle], group[middle:]]
        pending = following


def _variance(item: Input, low: float, base: float, high: float) -> float:
    """Variance of the piecewise-linear headline through (low, base, high) when the input
    is uniform over its range."""
    if item.high <= item.low:
        return 0.0
    if item.kind == "scenario" and hasattr(getattr(item.parameter, "value", None), "dist"):
        # the base samples the whole distribution: no point at the median, a line p5 to p95
        return (high - low) ** 2 / 12.0
    grid = np.linspace(item.low, item.high, 401)
    points = sorted({item.low: low, item.base: base, item.high: high}.items())
    xs, ys = zip(*points, strict=True)
    return float(np.var(np.interp(grid, xs, ys)))


def _morris(items: list[Input], run: _Runner, trajectories: int, seed: int) -> pd.DataFrame:
    """Morris elementary effects of ``items`` (SALib), on 4 levels over their ranges."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    columns = ["input", "mu", "mu_star", "sigma", "sigma_over_mu_star", "runs"]
    if len(items) < 2 or trajectories < 2:
        return pd.DataFrame(columns=columns)
    problem = {
        "num_vars": len(items),
        "names": [i.label for i in items],
        "bounds": [[i.low, i.high] for i in items],
    }
    points = sample.sample(problem, N=trajectories, num_levels=4, seed=seed)
    values = np.array(run.many([dict(zip(items, row, strict=True)) for row in points]))
    result = analyze.analyze(problem, points, values, num_levels=4, seed=seed)
    frame = pd.DataFrame(
        {
            "input": problem["names"],
            "mu": result["mu"],
            "mu_star": result["mu_star"],
            "sigma": result["sigma"],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["sigma_over_mu_star"] = np.where(
            frame["mu_star"] > 0, frame["sigma"] / frame["mu_star"], np.nan
        )
    frame["runs"] = len(points)
    return frame.sort_values("mu_star", ascending=False, ignore_index=True)[columns]


def audit(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    metric: str | Headline = "lost_value",
    draws: int = 20,
    tolerance: float = 0.01,
    morris_inputs: int = 6,
    morris_trajectories: int = 4,
    workers: int = 1,
    base: str = "scenario",
    progress: Callable[[str], None] | None = None,
) -> Audit:
    """Rank every assumed input by its effect on ``metric`` (see the module docstring);
    ``base``: ``scenario`` (distributions sampled per draw) or ``median``."""
    if draws < 1:
        raise OptionError("draws", "at least 1")
    if not 0 <= tolerance < 1:
        raise OptionError("tolerance", "a fraction of the base value, 0 to 1")
    headline = parse_headline(metric) if isinstance(metric, str) else metric
    started = time.perf_counter()
    net = network_for(scenario, network)
    inputs = all_inputs(net, scenario)
    if base not in {"scenario", "median"}:
        raise OptionError("base", "scenario or median")
    start = base_scenario(scenario) if base == "median" else scenario
    run = _Runner(net, start, headline, draws, inputs, workers)
    try:
        return _audit(
            scenario,
            net,
            inputs,
            run,
            headline,
            tolerance,
            morris_inputs,
            morris_trajectories,
            progress,
            started,
        )
    finally:
        run.close()


def _audit(
    scenario: Scenario,
    net: SupplyNetwork,
    inputs: list[Input],
    run: _Runner,
    headline: Headline,
    tolerance: float,
    morris_inputs: int,
    morris_trajectories: int,
    progress: Callable[[str], None] | None,
    started: float,
) -> Audit:
    base = run({})
    bound = tolerance * abs(base) if base != 0 else 1e-12
    found: dict[Input, _Swing] = {i: _Swing(base, base, "fixed") for i in inputs if i.fixed}
    touched, part = touched_components(net, scenario), components(net)
    if touched is not None:
        for item in inputs:
            if item.kind == "data" and not item.fixed:
                if not any(part.get(n) in touched for n in item.nodes):
                    found[item] = _Swing(base, base, "unreached")
    groups: dict[str, list[Input]] = {}
    for item in inputs:
        if item not in found:
            groups.setdefault(item.group, []).append(item)
    _screen(list(groups.values()), run, base, bound, found, progress)
    table = _table(inputs, found, base)
    alone = [i for i in inputs if found[i].screened == "alone"]
    ranked = {i.label: i for i in alone}
    chosen = [ranked[label] for label in table["input"] if label in ranked][:morris_inputs]
    swings = dict(zip(table["input"], table["swing"].astype(float), strict=True))
    chosen = [i for i in chosen if swings[i.label] > 0]
    if progress is not None and len(chosen) > 1:
        progress(f"Morris screening of the top {len(chosen)} inputs")
    morris = _morris(chosen, run, morris_trajectories, scenario.seed % (2**32))
    table = _with_morris(table, morris)
    share = _unsourced_share(table)
    notes = _notes(table, morris)
    return Audit(
        headline=headline,
        base_value=base,
        table=table,
        morris=morris,
        unsourced_share=share,
        runs=run.runs,
        seconds=time.perf_counter() - started,
        draws=_WORKER["draws"],
        tolerance=tolerance,
        scenario=scenario.name,
        network=net.name,
        notes=notes,
    )


def _table(inputs: list[Input], found: dict[Input, _Swing], base: float) -> pd.DataFrame:
    rows = []
    for item in inputs:
        swing = found[item]
        low, high = swing.low, swing.high
        rows.append(
            {
                "input": item.label,
                "kind": item.kind,
                "group": item.group,
                "sourced": item.sourced,
                "base": item.base,
                "low": item.low,
                "high": item.high,
                "metric_low": low,
                "metric_high": high,
                "swing": max(low, high, base) - min(low, high, base),
                "screened": swing.screened,
                "variance": (
                    _variance(item, low, base, high) if swing.screened == "alone" else 0.0
                ),
                "source": item.source,
                "reason": item.reason,
            }
        )
    frame = pd.DataFrame(rows)
    order = {"alone": 0, "group": 1, "unreached": 2, "fixed": 3}
    frame["_order"] = frame["screened"].map(order)
    frame = frame.sort_values(
        ["_order", "swing", "input"], ascending=[True, False, True], kind="stable"
    ).drop(columns="_order")
    frame = frame.reset_index(drop=True)
    total = float(frame["variance"].sum())
    frame["variance_share"] = frame["variance"] / total if total > 0 else 0.0
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.drop(columns="variance")


def _with_morris(table: pd.DataFrame, morris: pd.DataFrame) -> pd.DataFrame:
    indexed = morris.set_index("input") if not morris.empty else pd.DataFrame()
    table["morris_mu_star"] = (
        table["input"].map(indexed["mu_star"] if not indexed.empty else {}).astype(float)
    )
    table["morris_sigma"] = (
        table["input"].map(indexed["sigma"] if not indexed.empty else {}).astype(float)
    )
    return table[COLUMNS]


def _unsourced_share(table: pd.DataFrame) -> float:
    total = float(table["variance_share"].sum())
    if total <= 0:
        return math.nan
    return float(table.loc[~table["sourced"], "variance_share"].sum() / total)


def _notes(table: pd.DataFrame, morris: pd.DataFrame) -> list[str]:
    notes = []
    grouped = int((table["screened"] == "group").sum())
    if grouped:
        notes.append(
            f"{grouped} inputs were screened in groups whose joint swing stayed within the "
            "tolerance; their swing is the group's bound."
        )
    if not morris.empty:
        strong = morris[morris["sigma_over_mu_star"] > 0.5]
        if len(strong):
            notes.append(
                "interaction or non-linearity (Morris σ/μ* > 0.5): "
                + ", ".join(strong["input"].astype(str))
            )
    return notes
