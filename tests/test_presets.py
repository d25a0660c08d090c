"""Dated presets of China's 2023-25 controls: their metadata (control, announced, in_force,
ends, source), the time line of ``chokepoint presets --timeline``, bad metadata, and what the
presets do on the default network (analytic checks where the data give the answer)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chokepoint import ScenarioError
from chokepoint.cli.main import app
from chokepoint.compile.transit import SEA_DAYS
from chokepoint.reporting.tables import _timeline_bar
from chokepoint.scenario import (
    METADATA,
    Scenario,
    load_scenario,
    preset_names,
    preset_timeline,
    timeline,
)
from chokepoint.simulation.run import simulate

# facts.md E: every control of 2023-25 and the preset that stands for it, with its dates
CONTROLS = {
    "gallium-germanium-2023": (dt.date(2023, 7, 3), dt.date(2023, 8, 1)),
    "graphite-2023-12": (dt.date(2023, 10, 20), dt.date(2023, 12, 1)),
    "antimony-2024-09": (dt.date(2024, 8, 15), dt.date(2024, 9, 15)),
    "us-ban-2024-12": (dt.date(2024, 12, 3), dt.date(2024, 12, 3)),
    "w-te-bi-mo-in-2025-02": (dt.date(2025, 2, 4), dt.date(2025, 2, 4)),
    "batteries-2025-10": (dt.date(2025, 10, 9), dt.date(2025, 11, 8)),
    "us-ban-suspension-2025-11": (dt.date(2025, 11, 9), dt.date(2025, 11, 9)),
}
"""The rare-earth presets (ree-2025-04, ree-2025-10 and their successors) carry their own."""

GOOD = """name: dated
control: "Ann. 23/2023: Ga and Ge licences"
announced: 2023-07-03
in_force: 2023-08-01
source: [facts.md E]
start: 2023-08-01
horizon_days: 30
events:
  - type: export_licensing
    exporter: CHN
    commodity: [gallium_high_purity]
"""


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_every_control_has_a_dated_preset(name: str) -> None:
    scenario = load_scenario(name)
    assert (scenario.announced, scenario.in_force) == CONTROLS[name]
    assert scenario.control and scenario.source
    assert scenario.name == name
    assert any("facts.md E" in s for s in scenario.source)


def test_rare_earth_presets_are_there() -> None:
    assert {"ree-2025-04", "ree-2025-10"} <= set(preset_names())


def test_timeline_lists_every_preset_in_date_order() -> None:
    table = preset_timeline()
    assert sorted(table["name"]) == preset_names()
    dates = list(table["date"])
    assert dates == sorted(dates)
    order = [n for n in table["name"] if n in CONTROLS]
    assert order == sorted(CONTROLS, key=lambda n: (CONTROLS[n][1], n))
    row = table.set_index("name").loc["us-ban-suspension-2025-11"]
    assert row["date"] == dt.date(2025, 11, 9) and row["start"] == dt.date(2024, 12, 3)
    assert row["ends"] == dt.date(2026, 11, 27)


def test_timeline_falls_back_to_the_scenario_start() -> None:
    plain = Scenario(name="b", start=dt.date(2024, 1, 1))
    dated = Scenario(name="a", start=dt.date(2025, 1, 1), in_force=dt.date(2023, 6, 1))
    announced = Scenario(name="c", start=dt.date(2025, 1, 1), announced=dt.date(2023, 9, 1))
    assert list(timeline([plain, dated, announced])["name"]) == ["a", "c", "b"]


def test_timeline_bar_marks_announcement_period_and_open_end() -> None:
    first, last = dt.date(2024, 1, 1), dt.date(2024, 1, 11)
    closed = {
        "announced": dt.date(2024, 1, 1),
        "in_force": dt.date(2024, 1, 3),
        "ends": dt.date(2024, 1, 6),
        "date": dt.date(2024, 1, 3),
    }
    assert _timeline_bar(closed, first, last, 11) == "│·████·····"
    open_ended = {**closed, "ends": None, "announced": None}
    assert _timeline_bar(open_ended, first, last, 11) == "··████████▶"


def test_presets_command_draws_the_timeline_and_gives_json_and_csv() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["presets", "--timeline"])
    assert shown.exit_code == 0, shown.output
    positions = [shown.output.index(name) for name in preset_timeline()["name"]]
    assert positions == sorted(positions)
    records = json.loads(runner.invoke(app, ["presets", "--format", "json"]).output)
    assert [r["name"] for r in records] == list(preset_timeline()["name"])
    ban = next(r for r in records if r["name"] == "us-ban-2024-12")
    assert ban["in_force"] == "2024-12-03" and ban["ends"] == "2025-11-09"
    assert isinstance(ban["source"], list)
    text = runner.invoke(app, ["presets", "--format", "csv"]).output
    header, *lines = text.strip().splitlines()
    assert header.split(",")[:6] == ["name", "date", "control", "announced", "in_force", "ends"]
    assert len(lines) == len(preset_names())


def test_metadata_does_not_change_the_digest() -> None:
    dated = Scenario.from_text(GOOD)
    bare = dated.model_copy(update=dict.fromkeys(METADATA))
    assert dated.digest() == bare.digest()
    assert dated.with_overrides(draws=3).in_force == dt.date(2023, 8, 1)


BAD_METADATA = [
    # (old text, new text, field, words)
    ("in_force: 2023-08-01", "in_force: 2023-06-01", "in_force", "before it was announced"),
    ("in_force: 2023-08-01", "in_force: 20230801", "in_force", "must be a date"),
    ("in_force: 2023-08-01", "in_force: 2023-08-01 12:00:00", "in_force", "not a date and time"),
    ("in_force: 2023-08-01", "in_force: 2023-08-01\nends: 2023-07-01", "ends", "on or before"),
    ('control: "Ann. 23/2023: Ga and Ge licences"', 'control: " "', "control", "empty"),
    ("source: [facts.md E]", "source: [facts.md E, '']", "source[1]", "empty"),
    ("announced: 2023-07-03", "announced: July 2023", "announced", "must be a date"),
    ("in_force: 2023-08-01", "in_forse: 2023-08-01", "in_forse", "unknown key"),
]


@pytest.mark.parametrize(("old", "new", "field", "words"), BAD_METADATA)
def test_bad_metadata_names_the_yaml_line(tmp_path: Path, old, new, field, words) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        Scenario.from_yaml(path)
    error = info.value
    assert (error.file, error.field) == (str(path), field)
    assert words in str(error) and "\n" not in str(error)
    line = path.read_text(encoding="utf-8").splitlines()[error.row - 1]
    assert line.startswith(field.split("[")[0] + ":")


@pytest.mark.slow
def test_bad_metadata_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("in_force: 2023-08-01", "in_force: 2023-06-01"), "utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from chokepoint.cli.main import main; main()", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}, line 4, field 'in_force'")


def _stats(name: str, draws: int = 3):
    return simulate(load_scenario(name), draws=draws).stats.set_index(["product", "region"])


def test_us_ban_stops_us_flame_retardants_when_their_stock_runs_out() -> None:
    """Chinese oxide is 76% of US flame-retardant makers' antimony (USGS) and they hold
    45 days of it; the rest comes from outside the network and does not make up the gap,
    so they stop after 45 / 0.76 = 59 days, plus the oxide already at sea (SEA_DAYS, the
    default transit from China to the US)."""
    stats = _stats("us-ban-2024-12")
    row = stats.loc[("sb_flame_retardant", "USA")]
    assert row["stoppage_probability"] == 1.0
    assert row["time_to_survive_days_p50"] == pytest.approx(45 / 0.76 + SEA_DAYS, abs=1.5)
    eu = stats.xs("EU27", level="region")
    assert (eu["lost_output_mean"] == 0).all(), "a ban on US exports reached the EU"


def test_suspension_loses_less_than_the_ban_kept() -> None:
    ban, lifted = _stats("us-ban-2024-12"), _stats("us-ban-suspension-2025-11")
    for product in ("sb_flame_retardant", "antimony_refined"):
        kept = ban.loc[(product, "USA"), "lost_output_mean"]
        assert 0 < lifted.loc[(product, "USA"), "lost_output_mean"] < kept


def test_graphite_controls_reach_eu_cars_through_cells() -> None:
    """A stop of Chinese natural-graphite anode material (90% of EU cell makers' supply,
    45 days of stock) stops EU cell makers, and with them the EU-made half of the cells of
    EU-built BEVs and PHEVs, once the anode material already at sea (SEA_DAYS) is used up;
    ICE cars carry no cells."""
    text = """name: anode-stop
start: 2025-01-01
horizon_days: 120
events:
  - type: export_ban
    exporter: CHN
    commodity: [anode_graphite_natural]
"""
    stats = simulate(Scenario.from_text(text), draws=1).stats.set_index(["product", "region"])
    for car in ("car_bev_pm", "car_bev_eesm", "car_phev"):
        row = stats.loc[(car, "EU27")]
        assert row["stoppage_probability"] == 1.0
        assert 40 + SEA_DAYS <= row["time_to_survive_days_p50"] <= 70 + SEA_DAYS
        assert 0 < row["lost_output_share_mean"] < 0.5
    assert stats.loc[("car_ice", "EU27"), "lost_output_mean"] == 0


# --------------------------------------------------------------- the rare-earth record

RARE_EARTHS = {
    "ree-2025-04": (dt.date(2025, 4, 4), dt.date(2025, 4, 4), None),
    "ree-2025-10": (dt.date(2025, 10, 9), dt.date(2025, 11, 8), None),
    "ree-2025-11": (dt.date(2025, 11, 7), dt.date(2025, 11, 7), dt.date(2026, 11, 10)),
}


@pytest.mark.parametrize("name", sorted(RARE_EARTHS))
def test_rare_earth_presets_carry_their_dates_and_sources(name: str) -> None:
    scenario = load_scenario(name)
    assert (scenario.announced, scenario.in_force, scenario.ends) == RARE_EARTHS[name]
    assert any(s.startswith("facts.md E") for s in scenario.source or [])


def test_april_regime_uses_the_reported_six_month_validity() -> None:
    for name in RARE_EARTHS:
        april = load_scenario(name).events[0]
        assert april.validity == 180 and april.commodity and "ndfeb_magnet" in april.commodity


def _licences(name: str, draws: int = 4):
    results = simulate(load_scenario(name), draws=draws)
    return results, results.licence_draws


def test_after_november_2025_the_october_controls_gate_nothing() -> None:
    """Ann. 70/2025 suspends Ann. 57 and 61 over the whole horizon (to 10 Nov 2026); the
    April regime stays, its contracts part-way through their licences on day 0."""
    results, draws = _licences("ree-2025-11")
    by_event = draws.groupby("event")["gated_days"].mean()
    assert by_event.loc[1] == 0 and by_event.loc[2] == 0
    assert by_event.loc[0] > 0
    gate = simulate(load_scenario("ree-2025-11"), draws=2, keep="daily").trajectories["gate"]
    assert float(gate.isel(day=0).mean()) > 0.5  # licences already held stay valid


def test_general_licences_cut_the_days_magnets_wait() -> None:
    """From December 2025 a share of each magnet flow holds year-long general licences:
    magnet flows wait fewer days than under the same regime without them."""
    scenario = load_scenario("ree-2025-11")
    april = scenario.events[0]
    without = april.model_copy(update={"authority": type(april.authority)()})
    plain = scenario.model_copy(update={"events": [without, *scenario.events[1:]]})
    gated = {}
    for label, case in (("general", scenario), ("individual", plain)):
        draws = simulate(case, draws=6).licence_draws
        magnets = draws[(draws["event"] == 0) & draws["link"].str.startswith("ndfeb_chn")]
        gated[label] = magnets["gated_days"].mean()
    assert gated["general"] < gated["individual"]


def test_the_point_one_percent_rule_reaches_only_goods_not_controlled_before() -> None:
    results, draws = _licences("ree-2025-10", draws=2)
    rule = draws[draws["event"] == 2]
    assert len(rule) and not rule["link"].str.startswith("ndfeb_chn").any()
    assert rule["link"].str.startswith("ndfeb_jpn").any()
    april = draws[draws["event"] == 0]
    assert april["link"].str.startswith("ndfeb_chn").any()
