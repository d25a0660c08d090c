"""Engine mechanisms against cases with known answers: why output fell (inputs or orders),
link flows, goods in transit, exporter stock and catch-up, exports beyond the network and
firms that differ (cohorts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from netbuild import firms_chain, network

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
    flows = results.flows.query("kind == 'shipped'")
    chips = flows[(flows["exporter"] == "CHN") & (flows["commodity"] == "chip")]
    assert set(chips["destination"]) == {"DEU"}
    assert np.allclose(chips["baseline"], 1.0) and np.allclose(chips["mean"], 0.0)
    # domestic links are not trade
    assert not (flows["exporter"] == flows["destination"]).any()
    exports = results.trajectories["exports"].sel(flow="CHN>DEU:chip").values[0]
    assert np.allclose(exports, 0.0)


def transit_chain(stock: float, transit: int | str, plant_country: str = "DEU"):
    """mine (CHN) → plant (holds ``stock`` t, uses 1 t/day) → EU demand, the mine's link
    taking ``transit`` days ("" for the default rule)."""
    return network(
        [
            ("mine", "CHN", "ore", 730.0, 365.0),
            ("plant", plant_country, "good", 547.5, 365.0),
        ],
        [("mine", "plant", 1.0, False, 0, False, transit), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", stock, None, stock, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )


BAN = """
  - type: export_ban
    exporter: CHN
    commodity: ore
    start: {start}
    end: {end}
"""


def plant_output(results) -> np.ndarray:
    return results.trajectories["production"].sel(producer="plant").values[0]


@pytest.mark.parametrize(("stock", "transit"), [(10.0, 35), (5.0, 12), (0.0, 7), (20.0, 1)])
def test_a_ban_stops_the_buyer_after_stock_plus_transit_days(stock, transit) -> None:
    # a full ban from day 0: what is at sea keeps arriving for T days, then the stock of S
    # days runs down: the buyer stops after S + T days
    results = simulate(
        scenario(BAN.format(start=0, end=400), horizon=90),
        transit_chain(stock, transit),
        keep="daily",
    )
    days = int(stock) + transit
    output = plant_output(results)
    assert np.allclose(output[:days], 1.0) and np.allclose(output[days:], 0.0)
    row = results.summary.query("region == 'EU27'").iloc[0]
    assert row["time_to_survive_days"] == days
    held = results.trajectories["in_transit"].sel(link="mine->plant").values[0]
    assert held[0] == pytest.approx(transit - 1.0)  # T days at sea, one arrived on day 0
    assert np.allclose(held[transit:], 0.0)


def test_shipments_after_a_ban_arrive_a_transit_time_later() -> None:
    # ban on days 5-39, transit 10, stock 10 days: stops on day 25, output back on day 50
    results = simulate(
        scenario(BAN.format(start=5, end=40), horizon=80), transit_chain(10.0, 10), keep="daily"
    )
    output = plant_output(results)
    assert np.allclose(output[:25], 1.0)
    assert np.allclose(output[25:50], 0.0)
    assert np.all(output[50:] >= 1.0 - 1e-9)
    row = results.summary.query("region == 'EU27'").iloc[0]
    assert (row["time_to_survive_days"], row["time_to_recover_days"]) == (20, 45)
    assert row["lost_output"] == pytest.approx(25.0)
    # departures are what customs count: nothing leaves China on days 5-39
    shipped = results.trajectories["shipped"].sel(link="mine->plant").values[0]
    assert np.allclose(shipped[5:40], 0.0) and np.all(shipped[40:] > 0)
    transit = results.flows.query("kind == 'in_transit'")
    assert np.allclose(transit["baseline"], 10.0)


def test_air_freight_shortens_the_wait_after_a_ban() -> None:
    events = (
        BAN.format(start=5, end=40)
        + """
  - type: air_freight
    exporter: CHN
    days: 3
    start: 40
    sea_freight_cost: 2
"""
    )
    results = simulate(scenario(events, horizon=80), transit_chain(10.0, 10), keep="daily")
    output = plant_output(results)
    assert np.allclose(output[25:43], 0.0)
    assert np.all(output[43:] >= 1.0 - 1e-9)
    cost = results.measures.set_index("type")["cost_mean"]["air_freight"]
    assert cost == pytest.approx((5.0 - 1.0) * 2.0 * 1.0 * 40)  # 40 days of one t/day


def test_the_default_transit_rule() -> None:
    from chokepoint.compile.model import build_model

    quiet = Scenario.from_text("name: t\nevents: []")
    for country, transit, days in [("DEU", "", 35), ("CHN", "", 0), ("DEU", 4.4, 4)]:
        model = build_model(transit_chain(5.0, transit, country), quiet)
        assert model.link_transit[0] == days
    europe = network(
        [("mine", "FRA", "ore", 730.0, 365.0), ("plant", "DEU", "good", 547.5, 365.0)],
        [("mine", "plant", 1.0, False, 0, False, ""), ("plant", "eu", 1.0, False, 0, False, "")],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
    )
    model = build_model(europe, quiet)
    assert list(model.link_transit) == [2, 0]  # by road within Europe; DEU → EU27 domestic
    off = Scenario.from_text("name: t\nsettings: {transit: false}\nevents: []")
    assert build_model(transit_chain(5.0, 35), off).link_transit[0] == 0


def test_an_exporter_keeps_what_it_cannot_ship_up_to_its_storage_limit() -> None:
    # ban on days 0-19, no transit, the mine may keep 5 days of its output (1 t/day): it
    # keeps making 1 t/day until its store is full, then stops; once the ban ends it ships
    # the buyer's refill orders from its store first
    results = simulate(
        scenario(BAN.format(start=0, end=20), horizon=40, settings="exporter_storage_days: 5"),
        transit_chain(10.0, 0),
        keep="daily",
    )
    data = results.trajectories
    kept = data["exporter_stock"].sel(producer="mine").values[0]
    made = data["production"].sel(producer="mine").values[0]
    assert np.allclose(kept[:20], np.minimum(np.arange(1, 21), 5.0))
    assert np.allclose(made[:5], 1.0) and np.allclose(made[5:22], 0.0)
    # day 20: the plant orders 1 + (10 - 0) / 10 = 2 t; day 21: 1 + (10 - 1) / 10 = 1.9 t
    assert kept[20] == pytest.approx(3.0) and kept[21] == pytest.approx(1.1)
    assert kept[22] == pytest.approx(0.0) and made[22] == pytest.approx(1.81 - 1.1)
    flows = results.flows.query("kind == 'exporter_stock'")
    assert np.allclose(flows["mean"].to_numpy()[:20], kept[:20])


LICENCE = """
  - type: export_licensing
    exporter: CHN
    commodity: ore
    contracts: 1
    processing_days: 20
    approval_probability: 1
    validity_days: 1000
    volume_headroom: {headroom}
"""


@pytest.mark.parametrize("headroom", [0.05, 0.1, 0.25])
def test_the_buyers_stock_gap_closes_at_the_rate_the_headroom_allows(headroom) -> None:
    # the first licence comes on day 20: the plant has run dry (10 days of stock) and
    # orders 1 + (10 - stock) / 10 t a day, more than (1 + headroom) t; the licensed
    # contract ships at most (1 + headroom) t (from the mine's stock, then its output), the
    # plant uses 1 t: its stock rises by the headroom every day until the gap is small
    results = simulate(
        scenario(LICENCE.format(headroom=headroom), horizon=100),
        transit_chain(10.0, 0),
        keep="daily",
    )
    stock = results.trajectories["stock"].sel(slot="plant:ore").values[0]
    shipped = results.trajectories["shipped"].sel(link="mine->plant").values[0]
    # 1 + (10 - h (t - 19)) / 10 > 1 + h while t - 19 < 10 / h - 10
    closing = int(10.0 / headroom - 10.0)
    days = np.arange(20, min(20 + closing, 100))
    assert np.allclose(stock[days], headroom * (days - 19))
    assert np.allclose(shipped[days], 1.0 + headroom)
    assert np.allclose(shipped[:20], 0.0)
    made = results.trajectories["production"].sel(producer="plant").values[0]
    assert np.allclose(made[20:], 1.0)


def exporting_mine(storage: str = "exporter_storage_days: 0"):
    """A mine in China making 2 t/day, exporting 1.5 t/day of which 1 t/day to the plant in
    the network: 0.5 t/day goes to buyers outside the network, 0.5 t/day stays in China."""
    net = network(
        [
            ("mine", "CHN", "ore", 1095.0, 730.0, 547.5),
            ("plant", "DEU", "good", 547.5, 365.0),
        ],
        [("mine", "plant", 1.0), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", 5.0, None, 5.0, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )
    return net, storage


def china_exports(results) -> np.ndarray:
    flows = results.flows.query("kind == 'shipped' and exporter == 'CHN'")
    return flows.groupby("day")["mean"].sum().to_numpy(), flows


@pytest.mark.parametrize(("destinations", "after"), [("", 0.0), ("destinations: [EU27]", 0.5)])
def test_export_measures_restrict_sales_beyond_the_network(destinations, after) -> None:
    net, storage = exporting_mine()
    events = BAN.format(start=10, end=400) + (f"    {destinations}\n" if destinations else "")
    results = simulate(scenario(events, horizon=40, settings=storage), net, keep="daily")
    total, flows = china_exports(results)
    assert set(flows["destination"]) == {"DEU", "ROW"}  # ROW: buyers outside the network
    assert np.allclose(total[:10], 1.5)  # the customs figure: all of the mine's exports
    assert np.allclose(total[10:], after)
    made = results.trajectories["production"].sel(producer="mine").values[0]
    assert np.allclose(made[10:], 0.5 + after)  # domestic sales go on
    assert results.metadata["max_balance_residual"] < 1e-9
    # buyers outside the network are not a product of the EU or anyone's final demand
    assert "ROW" not in set(results.summary["region"])


@pytest.mark.parametrize(("firms", "spread"), [(10, 0.5), (4, 0.25), (7, 1.0), (1, 0.0)])
def test_firms_stop_one_after_another_by_their_cover(firms, spread) -> None:
    # N firms with covers c_i = 20 (1 - s + 2 s (i + 0.5) / N) under a full ban from day 0:
    # firm i makes its share for c_i days; on day t the share stopped is the share of firms
    # whose cover ran out, c_i < t + 1 (day t runs from t to t + 1)
    from chokepoint.compile.expand import cover_scales

    results = simulate(
        scenario(BAN.format(start=0, end=400), horizon=50), firms_chain(firms, spread), keep="daily"
    )
    covers = 20.0 * cover_scales(firms, spread)
    days = np.arange(50)
    expected = (covers[None, :] < days[:, None] + 1 - 1e-9).mean(axis=1)
    stopped = results.trajectories["firms_stopped"].sel(product_region="good@EU27").values[0]
    assert np.allclose(stopped, expected)
    band = results.bands.query("kind == 'firms_stopped' and region == 'EU27'")["mean"]
    assert np.allclose(band.to_numpy(), expected)
    # output is the share of firms still running (each makes 1/N a day) for whole covers
    output = results.trajectories["output"].sel(product_region="good@EU27").values[0]
    partial = np.clip(covers[None, :] - days[:, None], 0.0, 1.0).sum(axis=1) / firms
    assert np.allclose(output, partial)
    row = results.summary.query("region == 'EU27'").iloc[0]
    # the first firm runs short on the day its cover ends (within the day when fractional)
    assert row["time_to_survive_days"] == np.ceil(covers.min() + 1e-9) - 1
    assert row["firms_stopped_peak"] == 1.0
    assert row["lost_output"] == pytest.approx(50.0 - covers.sum() / firms)


def test_events_name_a_split_holder_by_its_network_id() -> None:
    events = """
  - type: outage
    producer: plant
    capacity_loss: 0.8
    start: 5
    end: 10
  - type: export_ban
    exporter: CHN
    customers: [plant]
    start: 20
    end: 25
"""
    results = simulate(scenario(events, horizon=40), firms_chain(5, 0.5), keep="daily")
    output = results.trajectories["production"].sel(producer="plant").values[0]
    assert np.allclose(output[5:10], 1.5 * 0.2)  # every firm lost 80% of its capacity
    shipped = results.trajectories["shipped"].sel(link=[f"mine->plant#{i}" for i in range(1, 6)])
    assert np.allclose(shipped.values[0, 20:25], 0.0)  # the ban reaches every firm
    assert results.trajectories["firm_production"].sizes["firm"] == 6  # 5 firms + the mine


@pytest.mark.parametrize(
    ("stocks", "words"),
    [
        ([("eu", "good", 0.0, None, 0.0, "unit", 3, 0.5)], "for producers, not final demand"),
        ([("plant", "ore", None, 10.0, None, "t", 3, 1.5)], "between 0 and 1"),
        ([("plant", "ore", None, 10.0, None, "t", 0, 0.0)], "between 1 and 1000"),
    ],
)
def test_bad_firm_declarations_are_errors(stocks, words) -> None:
    from chokepoint.compile.model import build_model
    from chokepoint.errors import DataError

    net = network(
        [("mine", "CHN", "ore", 730.0, 365.0), ("plant", "DEU", "good", 547.5, 365.0)],
        [("mine", "plant", 1.0), ("plant", "eu", 1.0)],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=stocks,
    )
    with pytest.raises(DataError, match=words) as error:
        build_model(net, Scenario.from_text("name: t\nevents: []"))
    assert "stocks, row 1" in str(error.value)


@pytest.mark.parametrize("free_share", [0.3, 0.5])
def test_a_magnet_free_variant_keeps_its_share_under_a_full_magnet_ban(free_share) -> None:
    """Two variants of one car family: the PM variant needs a Chinese magnet, the
    magnet-free one does not. Under a full ban on magnets the family keeps at least the
    magnet-free variant's share of its output, and the PM variant stops once its magnet
    stock is used up."""
    pm, free = 365.0 * (1 - free_share), 365.0 * free_share
    net = network(
        [
            ("mag", "CHN", "magnet", 730.0, pm),
            ("pm_cars", "DEU", "car_pm", 2 * pm, pm),
            ("free_cars", "DEU", "car_free", 2 * free, free),
        ],
        [("mag", "pm_cars", 1.0), ("pm_cars", "eu_pm", 1.0), ("free_cars", "eu_free", 1.0)],
        recipes=[("car_pm", "magnet", 1.0, "unit/unit")],
        commodities=[
            ("magnet", "unit", "component", 1.0),
            ("car_pm", "unit", "product", 1000.0, "car"),
            ("car_free", "unit", "product", 1000.0, "car"),
        ],
        demand=[
            ("eu_pm", "EU27", "car_pm", pm, "unit"),
            ("eu_free", "EU27", "car_free", free, "unit"),
        ],
        stocks=[
            ("pm_cars", "magnet", None, 10.0, None, "unit"),
            ("eu_pm", "car_pm", 0.0, None, 0.0, "unit"),
            ("eu_free", "car_free", 0.0, None, 0.0, "unit"),
        ],
    )
    ban = "\n  - type: export_ban\n    exporter: CHN\n    commodity: magnet\n"
    stats = simulate(scenario(ban, horizon=60), net).stats.set_index(["product", "region"])
    family = stats.loc[("car", "EU27")]
    assert family["lost_output_share_mean"] <= (1 - free_share) + 1e-9
    assert stats.loc[("car_free", "EU27"), "lost_output_mean"] == pytest.approx(0.0, abs=1e-9)
    assert stats.loc[("car_pm", "EU27"), "stoppage_probability"] == 1.0
    assert stats.loc[("car_pm", "EU27"), "time_to_survive_days_p50"] == pytest.approx(10, abs=1)


def test_a_plants_stopped_series_is_compared_with_the_share_of_firms_stopped() -> None:
    # calibration and validation read "plants stopped" through the `stopped` measure: the
    # daily share of the product's firms stopped, averaged (not summed) over a month
    from chokepoint.errors import ChokepointError
    from chokepoint.evidence.series import SeriesSpec, model_series, monthly

    results = simulate(
        scenario(BAN.format(start=0, end=400), horizon=75), firms_chain(10, 0.5), keep="daily"
    )
    spec = SeriesSpec("stopped", "", "EU27", ("good",))
    daily = model_series(results.trajectories, spec, None)
    expected = results.trajectories["firms_stopped"].sel(product_region="good@EU27")
    assert np.array_equal(daily.values, expected.transpose("draw", "day").values)
    months = monthly(daily, spec.month)
    assert spec.month == "mean" and len(months.columns) >= 1
    days = pd.DatetimeIndex(daily["day"].to_numpy())
    for month in months.columns:
        inside = days.to_period("M") == month
        assert months[month].iloc[0] == pytest.approx(daily.values[0, inside].mean())
    assert 0.0 < months.to_numpy().max() <= 1.0
    with pytest.raises(ChokepointError, match="no product and region 'good@USA'"):
        model_series(results.trajectories, SeriesSpec("stopped", "", "USA", ("good",)), None)


def standby_abroad():
    """A German plant (5 days of ore) and a French standby plant that makes nothing until the
    German one fails; the standby's Chinese ore takes 35 days: a link and a holder with no
    baseline flow, whose goods in transit rise from nothing and drain to nothing."""
    return network(
        [
            ("mine", "DEU", "ore", 730.0, 365.0),
            ("mine_cn", "CHN", "ore", 3650.0, 0.0),
            ("plant", "DEU", "good", 547.5, 365.0),
            ("standby", "FRA", "good", 3650.0, 0.0),
        ],
        [
            ("mine", "plant", 1.0),
            ("mine_cn", "standby", 1.0, False, 0, False, 35),
            ("plant", "eu", 1.0),
            ("standby", "eu", 0.0, True, 0),
        ],
        demand=[("eu", "EU27", "good", 365.0, "unit")],
        stocks=[("plant", "ore", 5.0, None, 5.0, "t"), ("eu", "good", 0.0, None, 0.0, "unit")],
    )


OUTAGE = (
    "  - {type: outage, producer: plant, capacity_loss: 1.0, recovery_days: 1, start: 0, end: 60}\n"
)


@pytest.mark.parametrize(
    ("events", "net", "horizon"),
    [
        (
            BAN.format(start=5, end=40)
            + "  - {type: air_freight, exporter: CHN, days: 3, start: 40, sea_freight_cost: 2}\n",
            transit_chain(10.0, 10),
            80,
        ),
        (OUTAGE, standby_abroad(), 365),
    ],
)
def test_goods_in_transit_are_the_same_whether_or_not_every_row_is_kept(
    events, net, horizon
) -> None:
    # without keep the engine holds goods in transit per holder and per trade group, with
    # keep per link as well: every result, and the flows' goods under way, must agree, and
    # both balance (also where a link's goods in transit rise from and drain to nothing)
    lean = simulate(scenario(events, horizon=horizon, draws=3), net)
    kept = simulate(scenario(events, horizon=horizon, draws=3), net, keep="daily")
    # the trade groups' own count of goods under way is the links' (every transit link here
    # crosses a border, so the groups cover them all)
    daily = kept.trajectories
    by_links = daily["in_transit"].sum("link").values
    by_groups = daily["exports_in_transit"].sum("flow").values
    assert by_links.max() > 0
    assert np.allclose(by_groups, by_links, rtol=1e-6, atol=1e-6 * by_links.max())
    assert not lean.flows.empty
    pd.testing.assert_frame_equal(lean.flows, kept.flows, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(lean.summary, kept.summary, check_exact=False, rtol=1e-12)
    assert lean.metadata["max_balance_residual"] < 1e-9
    assert kept.metadata["max_balance_residual"] < 1e-9


def test_the_sea_leg_of_the_transit_rule_is_a_setting() -> None:
    # the default rule's days between continents: 35 unless the scenario sets sea_days
    from chokepoint.compile.model import build_model
    from chokepoint.compile.transit import SEA_DAYS

    net = transit_chain(10.0, "")
    base = build_model(net, scenario(BAN.format(start=5, end=40)))
    longer = build_model(net, scenario(BAN.format(start=5, end=40), settings="sea_days: 42"))
    crossing = base.link_transit > 0
    assert crossing.any()
    assert set(base.link_transit[crossing]) == {int(SEA_DAYS)}
    assert set(longer.link_transit[crossing]) == {42}
