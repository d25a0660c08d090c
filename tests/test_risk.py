"""Risk figures against a case with a known distribution; sensitivity and grids."""

from __future__ import annotations

import numpy as np
import pytest
from netbuild import chain

from chokepoint.results.results import cvar
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate
from chokepoint.simulation.sensitivity import first_order_index, tornado, uncertain_parameters
from chokepoint.simulation.sweep import apply, parse_vary, sweep

LICENSED = """
name: one-contract
horizon_days: 120
draws: {draws}
seed: 11
events:
  - type: export_licensing
    exporter: CHN
    commodity: ore
    contracts: 1
    approval_probability: 1
    processing_days: {{dist: uniform, low: 20.5, high: 60.5}}
    validity_days: 1000
    renewal_lead_days: 0
"""


def test_stoppage_odds_and_mean_gap_have_closed_forms() -> None:
    # One contract, approval 1, delay D uniform on the whole days 21..60, stock S = 30 days
    # at a use of 1 t/day: the line stops iff D > 30, P = 30/40; it then stands still D - 30
    # days (licensed volume cannot exceed the baseline, so the stock is never rebuilt):
    # E[lost] = sum_{d=31}^{60} (d - 30) / 40 = 465 / 40.
    draws = 4000
    results = simulate(Scenario.from_text(LICENSED.format(draws=draws)), chain(30.0))
    row = results.stats.query("region == 'EU27'").iloc[0]
    assert row["stoppage_probability"] == pytest.approx(0.75, abs=0.025)
    assert row["lost_output_mean"] == pytest.approx(465 / 40, rel=0.05)
    assert row["time_to_survive_days_p5"] == row["time_to_survive_days_p95"] == 30
    stopped = results.summary.query("region == 'EU27' and lost_output > 0")["lost_output"]
    assert stopped.mean() == pytest.approx(15.5, rel=0.05)  # mean gap given a stop
    assert stopped.min() == 1 and stopped.max() == 30
    # the bad tail: the worst 5% of draws lose 29-30 days; p99 is 30
    assert row["lost_output_cvar95"] == pytest.approx(29.5, abs=0.3)
    assert row["lost_output_p99"] == pytest.approx(30, abs=0.01)


def test_cvar_is_the_mean_of_the_worst_tail() -> None:
    values = np.arange(1, 101, dtype=float)
    assert cvar(values, 0.95) == pytest.approx(np.mean([96, 97, 98, 99, 100]))
    assert cvar(values, 0.99) == 100
    assert cvar(np.array([3.0]), 0.95) == 3.0


def test_first_order_index_of_known_mixtures() -> None:
    rng = np.random.default_rng(5)
    x, z = rng.uniform(size=20_000), rng.uniform(size=20_000)
    y = 3 * x + z  # Var: 9/12 from x, 1/12 from z
    assert first_order_index(x, y) == pytest.approx(0.9, abs=0.02)
    assert first_order_index(z, y) == pytest.approx(0.1, abs=0.02)
    assert first_order_index(rng.uniform(size=20_000), y) < 0.02


def test_tornado_ranks_the_input_that_matters_first() -> None:
    text = LICENSED.format(draws=5).replace(
        "approval_probability: 1", "approval_probability: {dist: uniform, low: 0.98, high: 1}"
    )
    scenario = Scenario.from_text(text)
    assert [p.label for p in uncertain_parameters(scenario)] == [
        "events[0].processing_days",
        "events[0].approval_probability",
    ]
    table = tornado(scenario, chain(30.0), draws=20, metric="lost_output")
    assert table["parameter"].iloc[0] == "events[0].processing_days"
    first = table.iloc[0]
    # delay at its 5th percentile (22.5 → 22 days) never stops; at its 95th (58.5 → 58) the
    # line stands 28 days
    assert first["outcome_at_p5"] == pytest.approx(0.0, abs=1e-9)
    assert first["outcome_at_p95"] == pytest.approx(28.0, abs=1.0)


def test_sweep_grid_is_tidy_and_ordered() -> None:
    scenario = Scenario.from_text(LICENSED.format(draws=200))
    assert parse_vary("events.0.validity_days=90,365") == ("events.0.validity_days", [90, 365])
    changed = apply(scenario, "export_licensing.validity", 45)
    assert changed.events[0].validity_days == 45
    table = sweep(
        scenario,
        [("events.0.validity_days", [30, 1000]), ("settings.default_days_of_cover", [30])],
        chain(30.0),
    )
    assert len(table) == 2 * 2  # two grid points × (EU27, DEU)
    eu = table[table["region"] == "EU27"].set_index("events.0.validity_days")
    assert eu.loc[30, "lost_output_mean"] > eu.loc[1000, "lost_output_mean"]


def test_sweep_rejects_a_bad_path() -> None:
    from chokepoint.errors import ChokepointError

    scenario = Scenario.from_text(LICENSED.format(draws=2))
    with pytest.raises(ChokepointError, match="no stockpile event"):
        apply(scenario, "stockpile.days", 30)
    with pytest.raises(ChokepointError, match="expected PATH=VALUE"):
        parse_vary("events.0.validity_days")


@pytest.mark.slow
def test_sweep_and_sensitivity_commands(tmp_path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from chokepoint.cli.main import app

    runner = CliRunner()
    out = tmp_path / "grid.csv"
    result = runner.invoke(
        app,
        [
            "sweep",
            "licences-3m",
            "--vary",
            "events.0.validity_days=90,365",
            "--draws",
            "10",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["events.0.validity_days"]) == {90, 365}
    assert {"grid_point", "product", "region", "lost_output_mean", "lost_value_cvar95"} <= set(
        table.columns
    )
    bad = runner.invoke(app, ["sweep", "licences-3m", "--vary", "stockpile.days=0,30"])
    assert bad.exit_code != 0
    ranked = runner.invoke(
        app,
        ["sensitivity", "licences-3m", "--draws", "40", "--tornado-draws", "5", "--format", "json"],
    )
    assert ranked.exit_code == 0, ranked.output
    assert "events[0].processing_days" in ranked.output
