"""The assumption audit on a toy network where the answer is known.

Two separate chains: ore (China) → good (Germany) → EU buyers, and sand (Australia) →
glass (France) → EU buyers. China stops exporting ore from day 10 to day 130; the plant's
ore stock is what stands between the ban and a stoppage, so its days of cover set the
stoppage date and must rank first for the good's lost output share. Nothing in the sand
chain can change that share: those inputs must rank last, with no effect at all.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from netbuild import network

from chokepoint.errors import OptionError
from chokepoint.evidence.audit import COLUMNS, audit
from chokepoint.evidence.headline import parse_headline
from chokepoint.evidence.inputs import all_inputs, apply
from chokepoint.scenario import Scenario


@pytest.fixture(scope="module")
def two_chains():
    net = network(
        [
            ("mine", "CHN", "ore", 730.0, 365.0),
            ("plant", "DEU", "good", 547.5, 365.0),
            ("quarry", "AUS", "sand", 730.0, 365.0),
            ("glassworks", "FRA", "glass", 547.5, 365.0),
        ],
        [("mine", "plant", 1.0), ("plant", "eu", 1.0), ("quarry", "glassworks", 1.0)]
        + [("glassworks", "eu_glass", 1.0)],
        commodities=[
            ("ore", "t", "mining", 100.0),
            ("good", "unit", "product", 1000.0),
            ("sand", "t", "mining", 10.0),
            ("glass", "unit", "product", 50.0),
        ],
        recipes=[("good", "ore", 1.0, "t/unit"), ("glass", "sand", 1.0, "t/unit")],
        demand=[
            ("eu", "EU27", "good", 365.0, "unit"),
            ("eu_glass", "EU27", "glass", 365.0, "unit"),
        ],
        stocks=[
            ("plant", "ore", None, 30.0, None, "t"),
            ("eu", "good", 0.0, None, 0.0, "unit"),
            ("glassworks", "sand", None, 30.0, None, "t"),
            ("eu_glass", "glass", 0.0, None, 0.0, "unit"),
        ],
    )
    # a sole supplier's share is 1 by definition; the plant's cover is known to 10-90 days
    links = net.links.assign(low=1.0, high=1.0)
    stocks = net.stocks.copy()
    plant = stocks["holder"] == "plant"
    stocks.loc[plant, "low"], stocks.loc[plant, "high"] = 10.0, 90.0
    return dataclasses.replace(net, links=links, stocks=stocks)


BAN = Scenario.model_validate(
    {
        "name": "toy ore ban",
        "horizon_days": 180,
        "seed": 7,
        "events": [
            {"type": "export_ban", "exporter": "CHN", "commodity": "ore", "start": 10, "end": 130}
        ],
    }
)


@pytest.fixture(scope="module")
def result(two_chains):
    return audit(BAN, two_chains, metric="lost_output_share:good@EU27", draws=2)


@pytest.mark.slow
def test_the_input_that_sets_the_stoppage_date_ranks_first(result) -> None:
    table = result.table
    assert table.iloc[0]["input"] == "stocks[plant/ore].days_of_cover"
    assert table.iloc[0]["screened"] == "alone"
    assert table.iloc[0]["swing"] > 0
    # more ore in stock, later stoppage, less lost
    assert table.iloc[0]["metric_high"] < result.base_value < table.iloc[0]["metric_low"]


@pytest.mark.slow
def test_inputs_that_cannot_matter_rank_last_with_no_effect(result) -> None:
    table = result.table.set_index("input")
    irrelevant = [
        "producers[quarry].capacity",
        "producers[glassworks].capacity",
        "stocks[glassworks/sand].days_of_cover",
        "demand[eu_glass].quantity",
        "commodities[good].value",
    ]
    lowest_effective = table.loc[table["swing"] > 0, "rank"].max()
    for label in irrelevant:
        assert table.at[label, "swing"] == 0.0, label
        assert table.at[label, "rank"] > lowest_effective, label


@pytest.mark.slow
def test_every_input_is_listed_once_with_its_range(result, two_chains) -> None:
    table = result.table
    assert list(table.columns) == COLUMNS
    assert table["input"].is_unique
    assert len(table) == len(all_inputs(two_chains, BAN))
    assert (table["low"] <= table["base"]).all() and (table["base"] <= table["high"]).all()
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert {"settings.default_days_of_cover", "settings.restoration_days"} <= set(table["input"])
    # a setting with a stated range is swung over it, not by the default rule
    storage = table.set_index("input").loc["settings.exporter_storage_days"]
    assert (storage["low"], storage["high"]) == (0.0, 90.0)


@pytest.mark.slow
def test_variance_shares_add_up_and_unsourced_share(result) -> None:
    assert math.isclose(result.table["variance_share"].sum(), 1.0, rel_tol=1e-9)
    # every toy figure is an assumption: all the variance is owed to unsourced inputs
    assert result.unsourced_share == pytest.approx(1.0)
    assert result.runs > 1


@pytest.mark.slow
def test_the_base_is_the_plain_run(result, two_chains) -> None:
    from chokepoint.evidence.headline import evaluate

    plain = evaluate(BAN, two_chains, parse_headline("lost_output_share:good@EU27"), 2)
    assert result.base_value == pytest.approx(plain)
    # 120-day ban, 30 days of cover: the plant stops for about 90 of 180 days
    assert 0.3 < result.base_value < 0.6


@pytest.mark.slow
def test_scenario_distributions_are_swung_from_p5_to_p95(two_chains) -> None:
    scenario = Scenario.model_validate(
        {
            "horizon_days": 180,
            "events": [
                {
                    "type": "export_quota",
                    "exporter": "CHN",
                    "commodity": "ore",
                    "start": 10,
                    "fraction": {"dist": "uniform", "low": 0.0, "high": 0.5},
                }
            ],
        }
    )
    found = {i.label: i for i in all_inputs(two_chains, scenario)}
    quota = found["events[0].fraction"]
    assert (quota.low, quota.base, quota.high) == pytest.approx((0.025, 0.25, 0.475))
    result = audit(scenario, two_chains, metric="lost_output_share:good@EU27", draws=1)
    row = result.table.set_index("input").loc["events[0].fraction"]
    assert row["metric_high"] < row["metric_low"]  # a larger quota loses less


def test_apply_copies_and_scales_output_with_capacity(two_chains) -> None:
    found = {i.label: i for i in all_inputs(two_chains, BAN)}
    item = found["producers[mine].capacity"]
    changed, _ = apply(two_chains, BAN, {item: 365.0})
    row = changed.producers.set_index("id").loc["mine"]
    assert (row["capacity"], row["output"]) == (365.0, 182.5)
    assert two_chains.producers.set_index("id").at["mine", "capacity"] == 730.0


@pytest.mark.parametrize(
    ("metric", "message"),
    [("loss", "unknown kind"), ("pstop", "needs a product"), ("pstop:nothing@EU27", "nothing")],
)
def test_bad_metrics_name_the_problem(two_chains, metric, message) -> None:
    with pytest.raises(OptionError, match=message):
        audit(BAN, two_chains, metric=metric, draws=1)


def test_the_demo_names_five_assumptions_from_the_recorded_audit() -> None:
    from rich.console import Console

    from chokepoint.cli.demo import HEADLINE_ASSUMPTIONS, print_headline_assumptions

    assert HEADLINE_ASSUMPTIONS.is_file(), "bench/audit.py --save writes it"
    console = Console(record=True, width=200)
    print_headline_assumptions(console, "any version")
    text = console.export_text()
    assert "rests on" in text
    assert all(f"  {n}. " in text for n in range(1, 6))
    assert "rerun chokepoint audit" in text  # the version differs: it says so


@pytest.mark.slow
def test_the_tornado_puts_the_largest_swing_on_top(result) -> None:
    from chokepoint.reporting.evidence import build_evidence_report, tornado_figure

    figure = tornado_figure(result)
    assert figure.data[0].y[-1] == result.table["input"].iloc[0]  # plotted bottom-up
    assert "What the headline rests on" in build_evidence_report(audit=result)


def test_a_licensing_regimes_headroom_is_swung_over_its_stated_range(two_chains) -> None:
    from chokepoint.evidence.inputs import apply, scenario_inputs

    licensing = Scenario.model_validate(
        {
            "name": "licences",
            "events": [
                {"type": "export_licensing", "exporter": "CHN", "processing_days": 40},
                {"type": "export_ban", "exporter": "CHN", "start": 0, "end": 30},
                {
                    "type": "export_licensing",
                    "exporter": "CHN",
                    "processing_days": 40,
                    "volume_headroom": 0.4,
                },
            ],
        }
    )
    found = {item.label: item for item in scenario_inputs(licensing)}
    fixed = found["events[0].volume_headroom"]
    assert (fixed.low, fixed.base, fixed.high) == (0.0, 0.15, 0.28)
    assert "stated range" in fixed.reason
    # one input per licensing regime (a ban has none); a value outside the range widens it
    assert [label for label in found if label.endswith("volume_headroom")] == [
        "events[0].volume_headroom",
        "events[2].volume_headroom",
    ]
    assert (found["events[2].volume_headroom"].low, found["events[2].volume_headroom"].high) == (
        0.0,
        0.4,
    )
    _, changed = apply(two_chains, licensing, {fixed: 0.28})
    assert changed.events[0].volume_headroom == 0.28


def test_a_setting_of_zero_is_swung_from_zero() -> None:
    from chokepoint.evidence.inputs import scenario_inputs

    zero = Scenario.model_validate(
        {"name": "z", "settings": {"exporter_storage_days": 0, "default_days_of_cover": 0}}
    )
    found = {item.label: item for item in scenario_inputs(zero)}
    storage = found["settings.exporter_storage_days"]
    assert (storage.low, storage.base, storage.high) == (0.0, 0.0, 90.0)
    assert found["settings.default_days_of_cover"].base == 0.0
    assert found["settings.sea_days"].base == 35.0  # blank: the rule's value
