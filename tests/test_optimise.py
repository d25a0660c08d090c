"""The optimiser against optima computed by hand on a one-product network.

A plant makes ``good`` from ``ore`` (1 t per unit, d = 10 t a day) bought from a mine in
CHN; CHN licenses ore exports with one contract whose decision takes ``T`` ~ U[20, 120]
days, so the plant gets no ore for ``T`` days. Two measures: a stockpile of ore at the
plant (holding cost h per t and year, over the 200-day horizon) and a new ore plant in
DEU (capex c per t/yr, online after L = 50 days). With every day's output counted
(survive threshold 1), a draw is stop-free iff ``S >= d T`` (stock only) or
``S >= d min(T, L)`` with ``K >= 365 d``; costs are linear, so the optimum is one of
the two corners, at the empirical quantile of T.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from netbuild import network

from chokepoint.optimise import Candidate, compile_case, parse_target
from chokepoint.optimise.decompose import solve_decomposed
from chokepoint.optimise.lp import build
from chokepoint.optimise.solve import solve
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import prepare

D = 10.0
HORIZON = 200
LEAD = 50
DRAWS = 60


def _net():
    return network(
        [("mine", "CHN", "ore", 3650.0 * 2, 3650.0), ("plant", "DEU", "good", 7300.0, 3650.0)],
        [("mine", "plant", 1.0)],
        demand=[("buyers", "DEU", "good", 3650.0, "unit")],
        stocks=[("plant", "ore", 0.0, None, None, "t")],
    )


def _scenario():
    return Scenario.model_validate(
        {
            "name": "one-product",
            "horizon_days": HORIZON,
            "seed": 7,
            "draws": DRAWS,
            "settings": {"survive_threshold": 1.0},
            "events": [
                {
                    "type": "export_licensing",
                    "exporter": "CHN",
                    "commodity": "ore",
                    "contracts": 1,
                    "processing_days": {"dist": "uniform", "low": 20, "high": 120},
                    "approval_probability": 1.0,
                    "validity_days": 1000,
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def case():
    scenario, net = _scenario(), _net()
    prepared = prepare(scenario, net)
    return compile_case(
        scenario, net, draws=DRAWS, step_days=1, groups=[("good", "DEU")], prepared=prepared
    )


def _outage_days(case) -> np.ndarray:
    """Days without ore in each draw, read from the compiled gates (the 'by hand' input)."""
    exo = case.exogenous
    gate = exo.gate.values[:, exo.gate.pattern[0], :]
    return np.argmax(gate > 0, axis=0).astype(float)


def _measures(holding: float, capex: float) -> list[Candidate]:
    return [
        Candidate(
            id="stock",
            type="stockpile",
            commodity="ore",
            holders=("plant",),
            unit_cost=holding,
            source="test",
        ),
        Candidate(
            id="plant",
            type="new_capacity",
            commodity="ore",
            country="DEU",
            regions=("DEU",),
            unit_cost=capex,
            lead_days=LEAD,
            source="test",
        ),
    ]


@pytest.mark.parametrize("capex", [100.0, 2.0])
def test_pstop_finds_the_hand_optimum(case, capex):
    holding = 36.5  # EUR per t and year: 20 EUR per t over the 200-day horizon
    per_t = holding * HORIZON / 365
    outage = np.sort(_outage_days(case))
    kept = DRAWS - math.floor(0.1 * DRAWS)
    quantile = outage[kept - 1]
    stock_only = per_t * D * quantile
    with_plant = capex * 365 * D + per_t * D * min(quantile, LEAD)
    targets = [parse_target("pstop:good@DEU<=0.1")]
    solution = solve_decomposed(case, _measures(holding, capex), targets)
    assert solution.cost == pytest.approx(min(stock_only, with_plant), rel=1e-6)
    amounts = dict(
        zip(solution.portfolio()["measure"], solution.portfolio()["amount"], strict=True)
    )
    if stock_only < with_plant:
        assert amounts["stock"] == pytest.approx(D * quantile, rel=1e-6)
        assert amounts["plant"] == pytest.approx(0.0, abs=1e-6)
    else:
        assert amounts["plant"] == pytest.approx(365 * D, rel=1e-6)
        assert amounts["stock"] == pytest.approx(D * min(quantile, LEAD), rel=1e-6)
    assert solution.risk()["stoppage_probability"].iloc[0] <= 0.1


def test_expected_lost_value_finds_the_hand_optimum(case):
    value = 1000.0  # EUR per unit of good
    bound = 2e5
    outage = _outage_days(case)

    def expected_loss(stock: float) -> float:
        return float(np.maximum(D * outage - stock, 0.0).mean() * value)

    low, high = 0.0, D * outage.max()
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if expected_loss(middle) > bound else (low, middle)
    built = build(case, _measures(36.5, 100.0), [parse_target(f"elv:good@DEU<={bound}")])
    solution = solve(built)
    amounts = dict(
        zip(solution.portfolio()["measure"], solution.portfolio()["amount"], strict=True)
    )
    assert amounts["stock"] == pytest.approx(high, rel=1e-6)
    assert solution.risk()["lost_value_mean"].iloc[0] == pytest.approx(bound, rel=1e-6)


def test_cvar_target_is_met_in_sample(case):
    built = build(case, _measures(36.5, 100.0), [parse_target("cvar95:good@DEU<=100")])
    solution = solve(built)
    outage = np.sort(_outage_days(case))[::-1]
    tail = math.ceil(0.05 * DRAWS)
    stock = solution.portfolio()["amount"].iloc[0]
    assert np.maximum(D * outage[:tail] - stock, 0).mean() == pytest.approx(100, rel=1e-6)


def test_benders_and_extensive_form_agree(case):
    target = [parse_target("cvar95:good@DEU<=300")]
    measures = _measures(36.5, 2.0)
    extensive = solve(build(case, measures, target))
    benders = solve_decomposed(case, measures, target)
    assert benders.cost == pytest.approx(extensive.cost, rel=1e-6)
