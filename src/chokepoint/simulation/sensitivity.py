"""Which uncertain inputs drive the losses: a tornado and a variance-based index.

* **Tornado** (one at a time): every uncertain parameter at its median gives the base run;
  then each parameter alone at its 5th and 95th percentile. The swing between the two is
  its effect. All runs share the seed (common random numbers), so differences are not noise
  from the draws.
* **First-order index** from one Monte Carlo run: the share of the outcome's variance
  explained by each parameter alone, ``Var(E[Y | X_i]) / Var(Y)``, estimated by sorting the
  draws by the parameter's realised value and comparing the means of equal-sized bins
  (a given-data estimator; positive bias of about ``bins / draws``). Per-draw parameters
  are recomputed from the counter-based random numbers; for per-application parameters
  (processing delays, re-application waits) the realised value is the draw's mean delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.compile.context import per_draw
from chokepoint.errors import ChokepointError, OptionError
from chokepoint.network.container import SupplyNetwork
from chokepoint.results.results import Results
from chokepoint.scenario import Scenario
from chokepoint.scenario.distributions import Fixed, median, quantile
from chokepoint.simulation.run import simulate

PER_APPLICATION = {"processing_days": "mean_delay", "reapply_days": None}
"""Licensing parameters drawn per application, and the per-draw column that realises them
(None: none does)."""


@dataclass(frozen=True)
class Parameter:
    """An uncertain parameter of a scenario: where it sits and its distribution."""

    event: int
    field: str
    exemption: int | None
    value: Any

    @property
    def label(self) -> str:
        if self.exemption is not None:
            return f"events[{self.event}].exemptions[{self.exemption}].{self.field}"
        return f"events[{self.event}].{self.field}"


def uncertain_parameters(scenario: Scenario) -> list[Parameter]:
    """Every parameter given as a (non-fixed) distribution."""
    found = []
    for index, event in enumerate(scenario.events):
        for name in type(event).model_fields:
            value = getattr(event, name)
            if _uncertain(value):
                found.append(Parameter(index, name, None, value))
            if name == "exemptions":
                for number, exemption in enumerate(value):
                    if _uncertain(exemption.share):
                        found.append(Parameter(index, "share", number, exemption.share))
    return found


def _uncertain(value: Any) -> bool:
    return hasattr(value, "dist") and not isinstance(value, Fixed)


def with_value(scenario: Scenario, parameter: Parameter, value: float) -> Scenario:
    """A copy of the scenario with one parameter fixed to ``value``."""
    data = scenario.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True)
    event = data["events"][parameter.event]
    if parameter.exemption is not None:
        event["exemptions"][parameter.exemption][parameter.field] = value
    else:
        event[parameter.field] = value
    changed = Scenario.model_validate(data)
    changed._path = scenario.path
    return changed


def at_medians(scenario: Scenario, parameters: list[Parameter]) -> Scenario:
    for parameter in parameters:
        scenario = with_value(scenario, parameter, median(parameter.value))
    return scenario


def outcome(results: Results, metric: str, product: str | None, region: str) -> pd.Series:
    """Per draw: the metric summed over the region's products (or one product)."""
    rows = results.summary[results.summary["region"] == region]
    if product is not None:
        rows = rows[rows["product"] == product]
        if rows.empty:
            raise OptionError("product", f"no results for '{product}' in {region}")
    return rows.groupby("draw")[metric].sum(min_count=1).fillna(0.0)


def tornado(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    draws: int = 50,
    metric: str = "lost_value",
    product: str | None = None,
    region: str = "EU27",
) -> pd.DataFrame:
    """One-at-a-time effects of each uncertain parameter at its 5th and 95th percentile."""
    parameters = uncertain_parameters(scenario)
    base = at_medians(scenario, parameters)

    def mean_outcome(changed: Scenario) -> float:
        return float(
            outcome(simulate(changed, network, draws=draws), metric, product, region).mean()
        )

    reference = mean_outcome(base)
    rows = []
    for parameter in parameters:
        low_value = quantile(parameter.value, 0.05)
        high_value = quantile(parameter.value, 0.95)
        low = mean_outcome(with_value(base, parameter, low_value))
        high = mean_outcome(with_value(base, parameter, high_value))
        rows.append(
            {
                "parameter": parameter.label,
                "p5_value": low_value,
                "p95_value": high_value,
                "outcome_at_p5": low,
                "outcome_at_p95": high,
                "outcome_at_medians": reference,
                "swing": abs(high - low),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "p5_value",
            "p95_value",
            "outcome_at_p5",
            "outcome_at_p95",
            "outcome_at_medians",
            "swing",
        ],
    )
    return frame.sort_values("swing", ascending=False, ignore_index=True)


def realised_values(results: Results, parameters: list[Parameter]) -> pd.DataFrame:
    """Per draw, the value each uncertain parameter took (columns by label)."""
    scenario = results.scenario
    draws = np.sort(results.summary["draw"].unique())
    columns = {}
    for parameter in parameters:
        if parameter.field in PER_APPLICATION:
            drawn = PER_APPLICATION[parameter.field]
            if drawn is None:
                continue
            licensed = results.licence_draws
            part = licensed[licensed["event"] == parameter.event]
            column = part.groupby("draw")[drawn].mean()
            columns[parameter.label] = column.reindex(draws).to_numpy()
            continue
        name = parameter.field
        if parameter.exemption is not None:
            name = f"exemptions[{parameter.exemption}].{parameter.field}"
        columns[parameter.label] = per_draw(
            parameter.value, scenario.seed, draws, parameter.event, name
        )
    return pd.DataFrame(columns, index=pd.Index(draws, name="draw"))


def first_order_index(x: np.ndarray, y: np.ndarray, bins: int | None = None) -> float:
    """``Var(E[y | x]) / Var(y)`` from paired samples, by equal-count bins of ``x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    total = float(np.var(y))
    if len(y) < 4 or total <= 0:
        return math.nan
    bins = bins or max(2, int(round(math.sqrt(len(y)) / 2)))
    order = np.argsort(x, kind="stable")
    groups = np.array_split(y[order], bins)
    means = np.array([g.mean() for g in groups])
    sizes = np.array([len(g) for g in groups])
    return float(np.sum(sizes * (means - y.mean()) ** 2) / len(y) / total)


def variance_indices(
    results: Results,
    *,
    metric: str = "lost_value",
    product: str | None = None,
    region: str = "EU27",
) -> pd.DataFrame:
    """First-order index of every uncertain parameter from a Monte Carlo run."""
    parameters = uncertain_parameters(results.scenario)
    values = realised_values(results, parameters)
    target = outcome(results, metric, product, region).reindex(values.index).to_numpy()
    rows = [
        {"parameter": label, "first_order_index": first_order_index(column.to_numpy(), target)}
        for label, column in values.items()
    ]
    frame = pd.DataFrame(rows, columns=["parameter", "first_order_index"])
    return frame.sort_values("first_order_index", ascending=False, ignore_index=True)


def sensitivity(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    draws: int = 400,
    tornado_draws: int = 50,
    metric: str = "lost_value",
    product: str | None = None,
    region: str = "EU27",
) -> pd.DataFrame:
    """Both rankings side by side, one row per uncertain parameter."""
    if not uncertain_parameters(scenario):
        raise ChokepointError("the scenario has no uncertain parameter (no distribution)")
    results = simulate(scenario, network, draws=draws)
    indices = variance_indices(results, metric=metric, product=product, region=region)
    swings = tornado(
        scenario, network, draws=tornado_draws, metric=metric, product=product, region=region
    )
    merged = swings.merge(indices, on="parameter", how="outer")
    return merged.sort_values("swing", ascending=False, ignore_index=True)
