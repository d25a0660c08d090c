"""The shortage engine against cases with known answers, and its invariants."""

from __future__ import annotations

import numpy as np
import pytest
from netbuild import chain, network

from chokepoint.compile.licensing import licence_gates
from chokepoint.compile.rng import FIXED
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate


def scenario(events: str, horizon: int = 80, draws: int = 1, seed: int = 0) -> Scenario:
    return Scenario.from_text(
        f"name: test\nhorizon_days: {horizon}\ndraws: {draws}\nseed: {seed}\nevents:\n{events}"
    )


BAN = """
  - type: export_ban
    exporter: CHN
    commodity: ore
    start: {start}
    end: {end}
"""


def plant_output(results) -> np.ndarray:
    return results.trajectories["production"].sel(producer="plant").values


@pytest.mark.parametrize(("stock", "use_days"), [(10.0, 10), (30.0, 30), (1.0, 1)])
def test_full_ban_stops_after_stock_over_use(stock: float, use_days: int) -> None:
    # stock S, use u = 1 t/day: full output for S/u days after the ban, then none
    results = simulate(
        scenario(BAN.format(start=5, end=200), horizon=80), chain(stock), keep="daily"
    )
    output = plant_output(results)[0]
    assert np.allclose(output[: 5 + use_days], 1.0)
    assert np.allclose(output[5 + use_days :], 0.0)
    row = results.summary.query("region == 'EU27'").iloc[0]
    assert row["time_to_survive_days"] == use_days
    assert np.isnan(row["time_to_recover_days"])
    assert row["lost_output"] == pytest.approx(80 - 5 - use_days)


def test_sole_supplier_ban_recovers_when_it_ends() -> None:
    results = simulate(scenario(BAN.format(start=5, end=40)), chain(10.0), keep="daily")
    output = plant_output(results)[0]
    assert np.allclose(output[15:40], 0.0)
    assert np.all(output[40:] >= 1.0 - 1e-9)
    row = results.summary.query("region == 'DEU'").iloc[0]
    assert (row["time_to_survive_days"], row["time_to_recover_days"]) == (10, 35)
    assert row["lost_output"] == pytest.approx(25.0)
    assert row["lost_value"] == pytest.approx(25.0 * 1000.0)


@pytest.mark.parametrize(("capacity_per_day", "qualification"), [(0.4, 7), (2.0, 12), (1.0, 0)])
def test_alternative_restores_output_after_qualification(
    capacity_per_day: float, qualification: int
) -> None:
    net = chain(0.0, alternative=("AUS", capacity_per_day * 365, qualification))
    results = simulate(scenario(BAN.format(start=0, end=200), horizon=60), net, keep="daily")
    output = plant_output(results)[0]
    assert np.allclose(output[:qualification], 0.0)
    assert np.allclose(output[qualification:], min(1.0, capacity_per_day))


def test_alternative_in_the_banned_country_does_not_help() -> None:
    net = chain(0.0, alternative=("CHN", 365.0, 0))
    results = simulate(scenario(BAN.format(start=0, end=200), horizon=30), net, keep="daily")
    assert np.allclose(plant_output(results)[0], 0.0)


def licence_gate(
    delay, validity, lead, *, approval=1.0, start=0, end=730, horizon=730, contracts=1, wait=30.0
):
    """Gate and gated days per contract of one flow in one draw, fixed parameters."""
    gates, gated, delays = np.empty((horizon, 1, 1)), np.empty((1, 1)), np.empty((1, 1))
    fixed = lambda v: np.array([float(v), 0.0, 0.0, 0.0])  # noqa: E731
    licence_gates(
        7,
        0,
        np.array([0]),
        np.array([0]),
        contracts,
        start,
        end,
        horizon,
        np.array([approval]),
        np.array([float(validity)]),
        np.array([float(lead)]),
        FIXED,
        fixed(delay),
        FIXED,
        fixed(wait),
        gates,
        gated,
        delays,
    )
    return gates[:, 0, 0], gated[0, 0]


@pytest.mark.parametrize(("delay", "validity", "lead"), [(45, 90, 45), (30, 365, 60), (10, 50, 49)])
def test_licence_renewed_in_time_is_never_gated_again(delay, validity, lead) -> None:
    gate, gated = licence_gate(delay, validity, lead)
    assert np.all(gate[:delay] == 0.0)
    assert np.all(gate[delay:] == 1.0)
    assert gated == delay


@pytest.mark.parametrize(("delay", "validity", "lead"), [(45, 90, 15), (63, 180, 30), (20, 100, 0)])
def test_late_renewal_gates_delay_minus_lead_per_cycle(delay, validity, lead) -> None:
    horizon = 2000
    gate, _ = licence_gate(delay, validity, lead, end=horizon, horizon=horizon)
    closed = np.flatnonzero(gate == 0.0)
    # the first licence after `delay` days, then a gap of delay - lead days every cycle
    assert np.all(gate[:delay] == 0.0)
    gaps = np.split(closed, np.flatnonzero(np.diff(closed) > 1) + 1)
    cycle = validity + delay - lead
    assert len(gaps) > 5
    for number, gap in enumerate(gaps[1:], start=1):
        assert gap[0] == delay + validity + (number - 1) * cycle
        if gap[-1] < horizon - 1:
            assert len(gap) == delay - lead


def test_approval_probability_zero_keeps_the_gate_shut() -> None:
    gate, gated = licence_gate(
        10, 90, 30, approval=0.0, start=20, end=100, horizon=120, contracts=5
    )
    assert np.all(gate[:20] == 1.0) and np.all(gate[100:] == 1.0)
    assert np.all(gate[20:100] == 0.0)
    assert gated == 80


def test_refused_applications_wait_and_apply_again() -> None:
    # approval 0.5 over many contracts: the share holding a licence after the first decision
    # is near one half, and rises after the second round of decisions
    gate, _ = licence_gate(10, 1000, 30, approval=0.5, contracts=1000, wait=5, horizon=100, end=100)
    assert 0.45 < gate[12] < 0.55
    assert 0.70 < gate[30] < 0.80  # second decision on day 25: 1 - 0.5**2


def test_licensing_in_the_engine_gates_the_flow() -> None:
    events = """
  - type: export_licensing
    exporter: CHN
    commodity: ore
    contracts: 1
    processing_days: 20
    approval_probability: 1
    validity_days: 30
    renewal_lead_days: 5
"""
    results = simulate(scenario(events, horizon=120), chain(5.0), keep="daily")
    gate = results.trajectories["gate"].values[0, :, 0]
    expected = np.ones(120)
    expected[:20] = 0.0
    expected[50:65] = 0.0  # renewal applied on day 45 (50 - 5), decided on day 65
    expected[95:110] = 0.0
    assert np.array_equal(gate, expected)
    output = plant_output(results)[0]
    assert np.allclose(output[:5], 1.0) and np.allclose(output[5:20], 0.0)
    assert results.licences["gated_days_per_contract"].iloc[0] == pytest.approx(20 + 15 + 15)


def test_quota_caps_the_flow() -> None:
    events = """
  - type: export_quota
    exporter: CHN
    commodity: ore
    fraction: 0.25
"""
    results = simulate(scenario(events, horizon=60), chain(0.0), keep="daily")
    assert np.allclose(plant_output(results)[0], 0.25)


def test_outage_with_recovery() -> None:
    net = network(
        [("mine", "CHN", "ore", 365.0, 365.0), ("plant", "DEU", "good", 365.0, 365.0)],
        [("mine", "plant", 1.0), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", 0.0, None, 0.0, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )
    events = """
  - type: outage
    producer: mine
    capacity_loss: 0.5
    start: 10
    end: 20
    recovery_days: 4
"""
    results = simulate(scenario(events, horizon=40), net, keep="daily")
    output = plant_output(results)[0]
    assert np.allclose(output[:10], 1.0)
    assert np.allclose(output[10:20], 0.5)
    assert np.allclose(output[20:24], [0.625, 0.75, 0.875, 1.0])
    assert np.allclose(output[24:], 1.0)


def test_stockpile_released_on_shortage_extends_survival() -> None:
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: stockpile
    commodity: ore
    holders: [plant]
    quantity: 7
"""
    )
    results = simulate(scenario(events, horizon=60), chain(10.0), keep="daily")
    row = results.summary.query("region == 'EU27'").iloc[0]
    assert row["time_to_survive_days"] == 17


def test_recycling_covers_its_share() -> None:
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: recycling
    commodity: ore
    regions: [EU27]
    share: 0.3
"""
    )
    results = simulate(scenario(events, horizon=40), chain(0.0), keep="daily")
    assert np.allclose(plant_output(results)[0], 0.3)


def test_substitution_removes_the_input_need() -> None:
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: substitution
    output: good
    input: ore
    factor: 0
    share: 1.0
    lead_days: 5
"""
    )
    results = simulate(scenario(events, horizon=40), chain(0.0), keep="daily")
    output = plant_output(results)[0]
    assert np.allclose(output[:5], 0.0)
    assert np.allclose(output[5:], 1.0)


def test_partial_substitution_stretches_a_quota() -> None:
    # a quarter of the ore still arrives; switching 80% of output to half the ore per unit
    # needs 1 - 0.8 * 0.5 = 0.6 t per unit, so output is 0.25 / 0.6
    events = """
  - type: export_quota
    exporter: CHN
    commodity: ore
    fraction: 0.25
  - type: substitution
    output: good
    input: ore
    factor: 0.5
    share: 0.8
"""
    results = simulate(scenario(events, horizon=40), chain(0.0), keep="daily")
    assert np.allclose(plant_output(results)[0], 0.25 / 0.6)


def test_supplier_switch_and_new_capacity() -> None:
    net = chain(0.0, alternative=("AUS", 365.0, 500))
    switch = (
        BAN.format(start=0, end=200)
        + """
  - type: supplier_switch
    commodity: ore
    suppliers: [alt]
    qualification_days: 9
"""
    )
    output = plant_output(simulate(scenario(switch, horizon=30), net, keep="daily"))[0]
    assert np.allclose(output[:9], 0.0) and np.allclose(output[9:], 1.0)
    build = (
        BAN.format(start=0, end=200)
        + """
  - type: new_capacity
    commodity: ore
    country: FRA
    capacity: 182.5
    start: 10
"""
    )
    output = plant_output(simulate(scenario(build, horizon=30), chain(0.0), keep="daily"))[0]
    # the new plant in France ships from day 10; by road to Germany takes 2 days (the rule)
    assert np.allclose(output[:12], 0.0) and np.allclose(output[12:], 0.5)


def test_demand_cut_reduces_orders() -> None:
    events = """
  - type: demand_cut
    commodity: good
    cut: 0.5
    start: 3
"""
    results = simulate(scenario(events, horizon=20), chain(5.0), keep="daily")
    output = plant_output(results)[0]
    assert np.allclose(output[:3], 1.0) and np.allclose(output[3:], 0.5)


def test_substitution_performance_penalty_and_measure_costs() -> None:
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: substitution
    output: good
    input: ore
    factor: 0
    share: 1.0
    performance_penalty: 0.25
    cost_penalty: 40
  - type: stockpile
    commodity: ore
    holders: [plant]
    quantity: 10
    cost_per_unit_year: 73
  - type: new_capacity
    commodity: ore
    country: FRA
    capacity: 10
    start: 30
    capex: 1000000
"""
    )
    results = simulate(scenario(events, horizon=40), chain(0.0, plant_capacity=365.0), keep="daily")
    # input-free but a quarter slower: the plant makes 0.75 a day
    assert np.allclose(plant_output(results)[0], 0.75)
    costs = results.measures.set_index("type")["cost_mean"]
    assert costs["substitution"] == pytest.approx(40 * 1.0 * 1.0 * 40)  # per unit × output × days
    assert costs["stockpile"] == pytest.approx(10 * 73 * 40 / 365)
    assert costs["new_capacity"] == pytest.approx(1e6)


def test_unknown_origin_supplies_only_its_share() -> None:
    # 90% of the ore comes from China, 10% from suppliers outside the network; under a ban
    # the outside suppliers keep shipping their 10%, not more
    net = network(
        [("mine", "CHN", "ore", 730.0, 365.0), ("plant", "DEU", "good", 547.5, 365.0)],
        [("mine", "plant", 0.9, False, 0, True), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", 5.0, None, 5.0, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )
    results = simulate(scenario(BAN.format(start=0, end=200), horizon=60), net, keep="daily")
    assert np.allclose(plant_output(results)[0][20:], 0.1)


def test_quota_on_a_standby_link_that_carries_nothing_at_baseline() -> None:
    # a quota of 100% on the alternative's country must change nothing
    net = chain(0.0, alternative=("AUS", 365.0, 0))
    quota = (
        BAN.format(start=0, end=200)
        + """
  - type: export_quota
    exporter: AUS
    fraction: 1.0
"""
    )
    output = plant_output(simulate(scenario(quota, horizon=20), net, keep="daily"))[0]
    assert np.allclose(output, 1.0)


def test_a_demand_cut_alone_is_not_a_loss() -> None:
    events = """
  - type: demand_cut
    commodity: good
    cut: 0.2
    start: 10
    end: 30
"""
    results = simulate(scenario(events, horizon=40), chain(5.0))
    row = results.stats.query("region == 'EU27'").iloc[0]
    assert row["stoppage_probability"] == 0 and row["lost_output_mean"] == pytest.approx(0.0)


def test_a_stockpile_placed_before_the_start_is_there_on_day_zero() -> None:
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: stockpile
    commodity: ore
    holders: [plant]
    quantity: 7
    start: 2024-12-01
"""
    )
    text = f"name: t\nstart: 2025-01-01\nhorizon_days: 60\nevents:\n{events}"
    row = simulate(Scenario.from_text(text), chain(10.0)).summary.query("region == 'EU27'")
    assert row["time_to_survive_days"].iloc[0] == 17


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (
            "  - {type: new_capacity, commodity: good, country: FRA, capacity: 10, serves: [USA]}",
            "serve no one",
        ),
        ("  - {type: supplier_switch, commodity: ore, suppliers: [mine]}", "changes nothing"),
        ("  - {type: outage, producer: mine, start: 500}", "after the horizon"),
    ],
)
def test_measures_that_reach_nothing_are_errors(event: str, words: str) -> None:
    from chokepoint.errors import ScenarioError

    with pytest.raises(ScenarioError, match=words):
        simulate(scenario(event + "\n", horizon=40), chain(5.0))


def test_two_stockpiles_on_one_holder_keep_their_own_release_rule() -> None:
    # one reserve released on shortage, one put into stock at once: both count in full
    events = (
        BAN.format(start=0, end=200)
        + """
  - type: stockpile
    commodity: ore
    holders: [plant]
    quantity: 4
  - type: stockpile
    commodity: ore
    holders: [plant]
    quantity: 3
    release: immediately
"""
    )
    row = simulate(scenario(events, horizon=60), chain(10.0)).summary
    assert row.query("region == 'EU27'")["time_to_survive_days"].iloc[0] == 17


def test_an_event_over_before_the_start_is_an_error() -> None:
    from chokepoint.errors import ScenarioError

    text = (
        "name: t\nstart: 2025-06-01\nhorizon_days: 30\nevents:\n"
        "  - {type: outage, producer: mine, start: 2025-01-01, end: 2025-02-01}\n"
    )
    with pytest.raises(ScenarioError, match="before the scenario starts"):
        simulate(Scenario.from_text(text), chain(5.0))
