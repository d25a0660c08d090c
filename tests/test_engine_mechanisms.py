"""Engine mechanisms against cases with known answers: why output fell (inputs or orders),
link flows, goods in transit, exporter stock and catch-up, exports beyond the network and
firms that differ (cohorts)."""

from __future__ import annotations

import numpy as np
import pytest
from netbuild import network

from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate


def scenario(events: str, horizon: int = 80, draws: int = 1, settings: str = "") -> Scenario:
    extra = f"settings: {{{settings}}}\n" if settings else ""
    return Scenario.from_text(
        f"name: test\nhorizon_days: {horizon}\ndraws: {draws}\n{extra}events:\n{events}"
    )


def parts_and_cars(chip_days: float = 5.0):
    """chip (CHN) and part (DEU, maker A) → car plant (DEU) → EU demand for cars; part maker
    A also sells 0.2 a day to EU final demand (spare parts)."""
    return network(
        [
            ("chips", "CHN", "chip", 730.0, 365.0),
            ("part_a", "DEU", "part", 657.0, 438.0),
            ("cars", "DEU", "car", 547.5, 365.0),
        ],
        [
            ("chips", "cars", 1.0),
            ("part_a", "cars", 1.0),
            ("part_a", "eu_part", 1.0),
            ("cars", "eu_car", 1.0),
        ],
        recipes=[("car", "chip", 1.0, "unit/unit"), ("car", "part", 1.0, "unit/unit")],
        commodities=[
            ("chip", "unit", "component", 1.0),
            ("part", "unit", "component", 100.0),
            ("car", "unit", "product", 1000.0),
        ],
        demand=[
            ("eu_car", "EU27", "car", 365.0, "unit"),
            ("eu_part", "EU27", "part", 73.0, "unit"),
        ],
        stocks=[
            ("cars", "chip", None, chip_days, None, "unit"),
            ("cars", "part", 0.0, None, 0.0, "unit"),
            ("eu_car", "car", 0.0, None, 0.0, "unit"),
            ("eu_part", "part", 0.0, None, 0.0, "unit"),
        ],
    )


CHIP_BAN = """
  - type: export_ban
    exporter: CHN
    commodity: chip
"""


def test_a_demand_limited_fall_is_never_a_stoppage() -> None:
    # the car plant stops for lack of chips after 5 days (input-limited); the part maker's
    # output then falls because the car plant orders fewer parts (demand-limited)
    results = simulate(scenario(CHIP_BAN, horizon=60), parts_and_cars(5.0), keep="daily")
    rows = results.summary.query("region == 'EU27'").set_index("product")
    car, part = rows.loc["car"], rows.loc["part"]
    assert car["time_to_survive_days"] == 5
    assert car["lost_output_input"] == pytest.approx(car["lost_output"])
    assert car["lost_output_demand"] == pytest.approx(0.0)
    assert part["lost_output"] > 10.0  # the part maker did lose output
    assert np.isnan(part["time_to_survive_days"])
    assert part["lost_output_input"] == pytest.approx(0.0)
    assert part["lost_output_demand"] == pytest.approx(part["lost_output"])
    stats = results.stats.query("region == 'EU27'").set_index("product")
    assert stats.loc["part", "stoppage_probability"] == 0.0
    assert stats.loc["car", "stoppage_probability"] == 1.0
    # in the daily files the part maker's shortfall is not input-limited either
    gap = results.trajectories["input_shortfall"].sel(product_region="part@EU27").values
    assert np.allclose(gap, 0.0)


def test_link_flows_are_in_the_results() -> None:
    results = simulate(scenario(CHIP_BAN, horizon=30), parts_and_cars(5.0), keep="daily")
    shipped = results.trajectories["shipped"].sel(link="chips->cars").values[0]
    assert np.allclose(shipped, 0.0)  # banned from day 0
    flows = results.flows
    chips = flows[(flows["exporter"] == "CHN") & (flows["commodity"] == "chip")]
    assert set(chips["destination"]) == {"DEU"}
    assert np.allclose(chips["baseline"], 1.0) and np.allclose(chips["mean"], 0.0)
    # domestic links are not trade
    assert not (flows["exporter"] == flows["destination"]).any()
    exports = results.trajectories["exports"].sel(flow="CHN>DEU:chip").values[0]
    assert np.allclose(exports, 0.0)
