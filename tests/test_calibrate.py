"""Calibration recovers known parameters from observations the model itself made.

A toy exporter (a Chinese mine) ships ore to a German buyer that holds no stock, through
an export_licensing regime: 20 contracts, each waiting a log-normal processing delay
(median 50 days, sigma 0.3) and approved with probability 0.6. One draw of that truth,
summed by month, is the "observed" export series. ABC (rejection, then SMC) over the
engine's draws must put the true approval odds and processing median inside the 90%
credible interval, and the intervals must be much narrower than the priors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from netbuild import firms_chain, mine_and_buyer

from chokepoint.errors import ChokepointError, DataError, OptionError
from chokepoint.evidence import abc
from chokepoint.evidence.calibrate import build_target, calibrate, fit_parameters
from chokepoint.evidence.observed import Mapped, read_mapping, read_observed
from chokepoint.evidence.series import SeriesSpec, model_series, monthly
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate

TRUE_APPROVAL, TRUE_MEDIAN = 0.6, 50.0

NET = mine_and_buyer()


def licensing(approval, processing) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "toy licensing",
            "start": "2025-01-01",
            "horizon_days": 365,
            "seed": 11,
            "events": [
                {
                    "type": "export_licensing",
                    "exporter": "CHN",
                    "commodity": "ore",
                    "contracts": 20,
                    "processing_days": processing,
                    "approval_probability": approval,
                    "reapply_days": 30,
                    "validity_days": 90,
                    "renewal_lead_days": 20,
                }
            ],
        }
    )


PRIOR = licensing(
    {"dist": "uniform", "low": 0.2, "high": 0.95},
    {"dist": "lognormal", "median": 60, "sigma": 0.3},
)
SPEC = SeriesSpec("exports", "CHN", "WORLD", ("ore",))
MAPPING = [Mapped("exports:CHN>DEU:ore", SPEC, "t", "level", None)]


def observed_file(folder: Path) -> Path:
    truth = licensing(TRUE_APPROVAL, {"dist": "lognormal", "median": TRUE_MEDIAN, "sigma": 0.3})
    results = simulate(truth.with_overrides(seed=2024), NET, draws=1, keep="daily")
    assert results.trajectories is not None
    months = monthly(model_series(results.trajectories, SPEC, NET)).iloc[0]
    rows = pd.DataFrame(
        {
            "date": [m.to_timestamp().date().isoformat() for m in months.index],
            "series": "exports:CHN>DEU:ore",
            "value": months.to_numpy(),
            "unit": "t",
            "source": "synthetic: chokepoint itself at approval 0.6, processing median 50",
        }
    )
    path = folder / "observed.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    path = observed_file(folder)
    result = calibrate(
        PRIOR,
        path,
        MAPPING,
        ["approval_probability", "processing_days"],
        NET,
        priors={"processing_days": (20.0, 120.0)},
        runs=30,
        draws=100,
        keep=0.03,
        generations=3,
        seed=5,
    )
    return result, folder


@pytest.mark.slow
def test_true_values_lie_in_the_90_percent_credible_interval(fitted) -> None:
    result, _ = fitted
    table = result.posterior_table().set_index("parameter")
    approval = table.loc["events[0].approval_probability"]
    processing = table.loc["events[0].processing_days"]
    assert approval["posterior_p5"] <= TRUE_APPROVAL <= approval["posterior_p95"]
    assert processing["posterior_p5"] <= TRUE_MEDIAN <= processing["posterior_p95"]


@pytest.mark.slow
def test_the_intervals_are_much_narrower_than_the_priors(fitted) -> None:
    result, _ = fitted
    table = result.posterior_table()
    assert (table["width_ratio"] < 0.5).all(), table[["parameter", "width_ratio"]]


@pytest.mark.slow
def test_smc_tightens_the_tolerance(fitted) -> None:
    result, _ = fitted
    generations = result.generations_table()
    assert generations["method"].iloc[0] == "rejection"
    assert generations["tolerance"].is_monotonic_decreasing
    assert len(generations) >= 2
    assert math.isclose(result.posterior.weight.sum(), 1.0)


@pytest.mark.slow
def test_the_predictive_band_covers_most_observed_months(fitted) -> None:
    band = fitted[0].predictive_table()
    inside = (band["observed"] >= band["p5"] - 1e-9) & (band["observed"] <= band["p95"] + 1e-9)
    assert inside.mean() >= 0.7
    assert (band["p5"] <= band["p50"]).all() and (band["p50"] <= band["p95"]).all()


@pytest.mark.slow
def test_the_calibrated_scenario_loads_and_says_where_it_came_from(fitted) -> None:
    result, folder = fitted
    path = result.write_scenario(folder / "calibrated.yaml", NET)
    text = path.read_text(encoding="utf-8")
    assert "observed_sha256" in text and "ABC" in text
    loaded = Scenario.from_yaml(path)
    event = loaded.events[0]
    assert event.approval_probability.dist == "normal"
    assert event.processing_days.dist == "lognormal"
    assert 0.2 <= event.approval_probability.mean <= 0.95
    assert yaml.safe_load(text)["name"] == "toy licensing-calibrated"


def test_weighted_quantiles_match_plain_ones_for_equal_weights() -> None:
    values = np.random.default_rng(1).normal(size=2001)
    weights = np.ones_like(values)
    assert abc.weighted_quantile(values, weights, 0.5) == pytest.approx(np.median(values), abs=1e-3)


def test_unknown_parameters_and_fixed_numbers_are_refused() -> None:
    with pytest.raises(OptionError, match="not a numeric scenario parameter"):
        fit_parameters(PRIOR, ["nothing"])
    with pytest.raises(OptionError, match="give it a prior"):
        fit_parameters(PRIOR, ["validity_days"])
    assert fit_parameters(PRIOR, ["validity_days"], {"validity_days": (30, 180)})[0].level == "draw"


def test_bad_observed_files_name_row_and_field(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,series,value,unit,source\n2025-01-01,exports:CHN>DEU:ore,nan,t,x\n")
    with pytest.raises(DataError, match="row 1, field 'value'"):
        read_observed(path)
    path.write_text("date,series,value,unit,source\n2025-01-01,exports:CHN>DEU:ore,1,t,\n")
    with pytest.raises(DataError, match="field 'source'"):
        read_observed(path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("series:\n  exports:CHN>DEU:ore: {commodities: [ore], compare: ratio}\n")
    with pytest.raises(DataError, match="reference"):
        read_mapping(mapping)


def test_counts_of_plants_stopped_are_compared_as_shares_of_firms(tmp_path) -> None:
    # ten plants (firms) lose their ore from day 0; the observed series is the model's own
    # monthly share stopped, reported as counts of the 10 plants
    net = firms_chain(10, 0.5)
    ban = Scenario.model_validate(
        {
            "name": "ban",
            "start": "2025-01-01",
            "horizon_days": 90,
            "events": [{"type": "export_ban", "exporter": "CHN", "start": 0, "end": 400}],
        }
    )
    spec = SeriesSpec("stopped", "", "EU27", ("good",))
    results = simulate(ban, net, draws=1, keep="daily")
    assert results.trajectories is not None
    shares = monthly(model_series(results.trajectories, spec, net), spec.month).iloc[0]
    assert 0.0 < shares.min() and shares.max() == 1.0
    observed = tmp_path / "observed.csv"
    pd.DataFrame(
        {
            "date": [m.to_timestamp().date().isoformat() for m in shares.index],
            "series": "stopped:EU27>EU27:plants",
            "value": shares.to_numpy() * 10,
            "unit": "count",
            "source": "synthetic: chokepoint itself",
        }
    ).to_csv(observed, index=False)
    mapping = tmp_path / "map.yaml"
    entry = {"measure": "stopped", "destination": "EU27", "commodities": ["good"]}
    mapping.write_text(
        yaml.safe_dump(
            {"series": {"stopped:EU27>EU27:plants": entry | {"unit": "count", "reference": 10}}}
        )
    )
    mapped = read_mapping(mapping)
    assert mapped[0].compare == "share"
    target = build_target(ban, net, read_observed(observed), mapped)
    assert np.allclose(target.observed[0], shares.to_numpy())
    assert target.distance([shares.to_numpy()[None, :]])[0] == pytest.approx(0.0, abs=1e-12)
    assert target.distance([np.zeros((1, len(shares)))])[0] > 0.5
    mapping.write_text(yaml.safe_dump({"series": {"s": entry | {"compare": "level"}}}))
    with pytest.raises(DataError, match="measure stopped is compared as share"):
        read_mapping(mapping)
    # counts need the number they are divided by; shares and percentages take none
    for extra, words in (
        ({"unit": "count"}, "counts need the reference"),
        ({"unit": "share", "reference": 10}, "no reference"),
        ({"unit": "kg"}, "count, share or percent"),
        ({"commodities": ["good", "ore"]}, "one product"),
    ):
        mapping.write_text(yaml.safe_dump({"series": {"s": entry | extra}}))
        with pytest.raises(DataError, match=words):
            read_mapping(mapping)
    # a product the region makes too little of is measured as deliveries: no firms to count
    deliveries = SeriesSpec("stopped", "", "EU27", ("ore",))
    with pytest.raises(ChokepointError, match="measured as deliveries"):
        model_series(simulate(ban, NET, draws=1, keep="daily").trajectories, deliveries, NET)


@pytest.mark.slow
def test_recovery_figures(fitted, capsys) -> None:
    """Print the recovery figures (pytest -s shows them; the docs quote a run of this)."""
    table = fitted[0].posterior_table()
    with capsys.disabled():
        print("\n" + table.to_string(index=False))
    assert len(table) == 2


@pytest.mark.slow
def test_the_report_and_the_output_folder(fitted, tmp_path) -> None:
    from chokepoint.reporting.evidence import build_evidence_report

    result, _ = fitted
    html = build_evidence_report(calibration=result)
    assert "Posterior of the fitted parameters" in html
    assert "Posterior-predictive band" in html
    written = {p.name for p in result.write(tmp_path / "out", NET)}
    assert written == {
        "posterior.csv",
        "predictive.csv",
        "generations.csv",
        "calibrated.yaml",
        "provenance.json",
    }
