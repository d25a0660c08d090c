"""The licensing authority against cases with known answers (queue, stall, channel,
general licences, revocation, suspension, volume order), against the model before it
(reference_licensing) and against a plain-Python reference of every new part
(reference_queue), draw for draw."""

from __future__ import annotations

import numpy as np
import pytest
from netbuild import chain
from reference_licensing import licence_gates as before_authority
from reference_queue import reference_licensing

from chokepoint.compile.licensing import Authority, licence_gates, run_licensing
from chokepoint.compile.rng import FIXED, LOGNORMAL, UNIFORM
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate


def fixed(value: float) -> np.ndarray:
    return np.array([float(value), 0.0, 0.0, 0.0])


def authority(draws: int = 1, *, delay=30.0, approval=1.0, validity=1000.0, lead=30.0,
              rate=np.inf, **changes) -> Authority:  # fmt: skip
    """An authority with one phase and fixed values; ``changes`` replace fields."""
    base = Authority(
        begin=np.array([-np.inf]),
        rate=np.full((1, draws), rate),
        approval=np.full((1, draws), approval),
        validity=np.full((1, draws), validity),
        delay_code=np.array([FIXED]),
        delay_params=fixed(delay)[None, :],
        lead=np.full(draws, lead),
        wait_code=FIXED,
        wait_params=fixed(20),
        size_exponent=np.zeros(draws),
        initial=np.ones(draws),
        spread=np.zeros(draws),
        background=np.zeros(draws),
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def gates(au: Authority, *, contracts=1, flows=1, start=0, end=400, horizon=400):
    out = run_licensing(3, 0, np.arange(flows), np.arange(len(au.lead)), contracts,
                        (start, end, horizon), au)  # fmt: skip
    return out


# ------------------------------------------------------------------ the model before


@pytest.mark.parametrize(
    ("approval", "validity", "lead", "start", "end", "contracts"),
    [(0.7, 90.5, 20, -10, 300, 5), (1.0, 180, 30, 0, 365, 10), (0.3, 60, 59, 40, 200, 3)],
)
def test_unlimited_authority_is_the_model_before(approval, validity, lead, start, end, contracts):
    flows, draws, horizon = np.array([0, 4, 9]), np.arange(6) + 11, 365
    shape = (horizon, len(flows), len(draws))
    args = (5, 2, flows, draws, contracts, start, end, horizon, np.full(6, approval),
            np.full(6, float(validity)), np.full(6, float(lead)), LOGNORMAL,
            np.array([40.0, 0.5, 0, 0]), UNIFORM, np.array([5.0, 25.0, 0, 0]))  # fmt: skip
    new = np.empty(shape), np.empty(shape[1:]), np.empty(shape[1:])
    old = np.empty(shape), np.empty(shape[1:]), np.empty(shape[1:])
    licence_gates(*args, *new)
    before_authority(*args, *old)
    for a, b in zip(new, old, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


# ------------------------------------------------------------------------- the queue


@pytest.mark.parametrize(("n", "k", "delay"), [(10, 2, 30), (14, 7, 0), (20, 5, 45), (3, 1, 10)])
def test_queue_last_decision_comes_on_day_d_plus_7n_over_k(n, k, delay) -> None:
    """n applications on day 0, capacity k a week, processing D: decision m comes on day
    D + 7m/k, the last on D + 7n/k."""
    out = gates(authority(delay=delay, rate=k / 7.0), contracts=n)
    gate = out.gate[:, 0, 0]
    for m in range(1, n + 1):
        day = delay + 7 * m / k
        assert gate[int(np.ceil(day))] == pytest.approx(m / n)
        assert gate[int(np.ceil(day)) - 1] == pytest.approx((m - 1) / n)
    assert out.delay[0, 0] == pytest.approx(delay + 7 * (n + 1) / (2 * k))
    assert out.backlog_peak[0] == pytest.approx(1.0)


def test_capacity_per_week_in_a_scenario_is_a_share_of_the_contracts() -> None:
    events = """
  - type: export_licensing
    exporter: CHN
    commodity: ore
    contracts: 20
    processing_days: 10
    validity_days: 1000
    authority: {capacity_per_week: 0.25}
"""
    text = f"name: q\nhorizon_days: 60\ndraws: 1\nevents:\n{events}"
    results = simulate(Scenario.from_text(text), chain(5.0), keep="daily")
    gate = results.trajectories["gate"].values[0, :, 0]
    # 5 decisions a week: the 20th comes on day 10 + 28
    assert gate[38] == 1.0 and gate[37] == pytest.approx(19 / 20)
    assert results.licence_draws["mean_wait"].iloc[0] == pytest.approx(7 * 21 / 2 / 5)


def test_a_stall_stops_decisions_and_capacity_resumes_after_it() -> None:
    au = authority(delay=0, begin=np.array([-np.inf, 3.0, 10.0]))
    au.rate = np.array([[1.0], [0.0], [1.0]])
    for name in ("approval", "validity"):
        setattr(au, name, np.repeat(getattr(au, name), 3, axis=0))
    au.delay_code, au.delay_params = np.repeat(au.delay_code, 3), np.repeat(au.delay_params, 3, 0)
    gate = gates(au, contracts=6).gate[:, 0, 0]
    # turns end on days 1, 2, 3; nothing from 3 to 10; then 11, 12, 13
    assert list(np.round(gate[:15] * 6)) == [0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 6]


def test_a_channel_is_served_first_with_its_own_delay() -> None:
    au = authority(delay=30, rate=1.0, channel_begin=np.array([0.0]),
                   channel_until=np.array([np.inf]), channel_reach=np.array([[False, True]]),
                   channel_code=np.array([FIXED]), channel_params=fixed(5)[None, :])  # fmt: skip
    out = gates(au, contracts=3, flows=2)
    # one decision a day, no pre-emption: flow 0's first application (filed first, the
    # server free) has the turn ending on day 1; then flow 1's three (days 2-4, decided 5
    # days later), then flow 0's other two (days 5-6, decided 30 days later)
    assert out.gate[9, 1, 0] == 1.0 and out.gate[8, 1, 0] == pytest.approx(2 / 3)
    assert out.gate[31, 0, 0] == pytest.approx(1 / 3) and out.gate[30, 0, 0] == 0.0
    assert out.gate[36, 0, 0] == 1.0 and out.gate[35, 0, 0] == pytest.approx(2 / 3)


def test_volume_order_serves_the_largest_contracts_first() -> None:
    weights = 1.0 / np.arange(1, 5)
    share = np.cumsum(weights) / weights.sum()
    for priority, expected in ((1, share), (0, share)):
        au = authority(delay=0, rate=1.0, size_exponent=np.ones(1), priority=priority)
        gate = gates(au, contracts=4).gate[:, 0, 0]
        assert np.allclose(gate[1:5], expected)  # same order: arrival ties go by contract
    # arrivals spread over time: the volume order still decides the largest first
    au = authority(delay=0, rate=0.5, size_exponent=np.ones(1), priority=1,
                   initial=np.zeros(1), spread=np.full(1, 1.0))  # fmt: skip
    gate = gates(au, contracts=4).gate[:, 0, 0]
    assert np.all(np.diff(np.round(gate[[3, 5, 7, 9]], 9)) >= 0)


def test_other_applications_take_the_capacity() -> None:
    """Two other applications a day at a capacity of one: the line grows without end and
    renewals (every 20 days) wait ever longer behind it."""
    short = {"delay": 0, "rate": 1.0, "validity": 20.0, "lead": 0.0}
    alone = gates(authority(**short), contracts=10)
    crowded = gates(authority(**short, background=np.full(1, 2.0)), contracts=10)
    assert np.argmax(alone.gate[:, 0, 0] >= 1.0) == 10
    assert alone.gated[0, 0] < 40
    assert crowded.gated[0, 0] > 200
    assert crowded.wait[0, 0] > 10 * alone.wait[0, 0]
    assert crowded.backlog_peak[0] > 10


# ------------------------------------------------------------------------------ actions


def test_general_licences_reach_the_largest_contracts_holding_the_share() -> None:
    au = authority(delay=100, size_exponent=np.ones(1), grant_day=np.array([20.0]),
                   grant_share=np.full((1, 1), 0.65), grant_probability=np.ones((1, 1)),
                   grant_validity=np.full((1, 1), 365.0),
                   grant_reach=np.ones((1, 1), bool))  # fmt: skip
    gate = gates(au, contracts=4).gate[:, 0, 0]
    weights = 1.0 / np.arange(1, 5)
    # weights 1, 1/2, 1/3, 1/4: the middles of contracts 0 and 1 (12%, 60%) lie within 65%
    assert gate[19] == 0.0 and gate[20] == pytest.approx(weights[:2].sum() / weights.sum())
    assert gate[100] == 1.0


def test_revocation_closes_the_gate_until_the_new_decision() -> None:
    au = authority(delay=10, revoke_day=np.array([50.0]), revoke_share=np.ones((1, 1)),
                   revoke_reach=np.ones((1, 1), bool))  # fmt: skip
    gate = gates(au, contracts=3).gate[:, 0, 0]
    assert np.all(gate[10:50] == 1.0) and np.all(gate[50:60] == 0.0) and gate[60] == 1.0


def test_suspension_lifts_the_gate_and_defers_applications() -> None:
    au = authority(delay=30, suspend_begin=np.array([0.0]), suspend_until=np.array([100.0]))
    out = gates(au, contracts=2)
    gate = out.gate[:, 0, 0]
    assert np.all(gate[:100] == 1.0) and np.all(gate[100:130] == 0.0) and gate[130] == 1.0
    assert out.applications[0, 0] == 2


# ---------------------------------------------------------------- against the reference


def random_authority(rng: np.random.Generator, draws: int, flows: int) -> Authority:
    """Every part at once: phases with a stall, a channel, a grant, a revocation, a
    suspension, other applications, weighted contracts, a spread wave, volume order."""
    phases = 3
    au = authority(draws)
    parts = dict(
        begin=np.array([-np.inf, *np.sort(rng.uniform(10, 200, phases - 1))]),
        rate=rng.choice([0.0, 0.3, 1.5, np.inf], (phases, draws)),
        approval=rng.uniform(0.3, 1.0, (phases, draws)),
        validity=rng.uniform(40, 200, (phases, draws)),
        delay_code=np.full(phases, LOGNORMAL),
        delay_params=np.array([[rng.uniform(5, 40), 0.5, 0, 0] for _ in range(phases)]),
        lead=rng.uniform(0, 40, draws),
        wait_code=UNIFORM,
        wait_params=np.array([3.0, 30.0, 0, 0]),
        size_exponent=rng.uniform(0, 1.5, draws),
        initial=rng.uniform(0.3, 1, draws),
        spread=rng.uniform(1, 60, draws),
        background=rng.choice([0.0, 0.2], draws),
        priority=int(rng.integers(2)),
        channel_begin=np.array([30.0]),
        channel_until=np.array([150.0]),
        channel_reach=rng.random((1, flows)) < 0.5,
        channel_approval=np.where(rng.random((1, draws)) < 0.5, np.nan, 0.95),
        channel_validity=np.full((1, draws), np.nan),
        channel_code=np.array([FIXED]),
        channel_params=fixed(7)[None, :],
        grant_day=np.array([120.0]),
        grant_share=rng.uniform(0, 1, (1, draws)),
        grant_probability=rng.uniform(0.5, 1, (1, draws)),
        grant_validity=np.full((1, draws), 365.0),
        grant_reach=rng.random((1, flows)) < 0.7,
        revoke_day=np.array([90.0]),
        revoke_share=rng.uniform(0, 1, (1, draws)),
        revoke_reach=np.ones((1, flows), bool),
        suspend_begin=np.array([200.0]),
        suspend_until=np.array([240.0]),
    )
    for name, value in parts.items():
        setattr(au, name, value)
    return au


@pytest.mark.parametrize("case", range(6))
def test_kernel_matches_the_reference_draw_for_draw(case: int) -> None:
    rng = np.random.default_rng(case)
    flows, draws = np.array([0, 3, 7]), np.arange(4) + 100 * case
    au = random_authority(rng, len(draws), len(flows))
    window = (int(rng.integers(-30, 20)), 330, 360)
    got = run_licensing(9, 1, flows, draws, 6, window, au)
    expected = reference_licensing(9, 1, flows, draws, 6, window, au)
    names = ("gate", "gated", "delay", "wait", "applications", "backlog_peak")
    for name, want in zip(names, expected, strict=True):
        assert np.allclose(getattr(got, name), want, rtol=0, atol=1e-9, equal_nan=True), name
