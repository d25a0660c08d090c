"""EU criticality (JRC 2017), GeoPolRisk and the CRMA table: formulas with known answers,
properties, the 2023 study's check values, and the commands."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chokepoint.analysis.criticality import (
    StageInputs,
    criticality_table,
    economic_importance,
    hhi_wgi_t,
    scale_governance,
    stage_supply_risk,
    supply_risk,
    supply_risk_draws,
)
from chokepoint.analysis.crma import strategic_materials_table
from chokepoint.analysis.geopolrisk import (
    CF_COPPER,
    characterization_factor,
    geopolrisk_table,
    import_risk,
    production_hhi,
    stability_score,
)
from chokepoint.cli.main import app

runner = CliRunner()

# --------------------------------------------------------------------------- formulas


def test_governance_scale_endpoints() -> None:
    assert scale_governance(2.5) == 0.0
    assert scale_governance(-2.5) == 10.0
    assert scale_governance(0.0) == 5.0
    assert scale_governance(-3.0) == 10.0  # clipped
    assert np.allclose(scale_governance(np.array([1.0, -1.0])), [3.0, 7.0])


def test_hhi_wgi_t_by_hand() -> None:
    shares = {"A": 0.5, "B": 0.3}  # 20% unknown adds nothing
    governance = {"A": 6.0, "B": 2.0}
    assert hhi_wgi_t(shares, governance) == pytest.approx(0.25 * 6 + 0.09 * 2)
    assert hhi_wgi_t(shares, governance, {"A": 1.1}) == pytest.approx(0.25 * 6 * 1.1 + 0.09 * 2)


@pytest.mark.parametrize(
    ("shares", "governance", "message"),
    [
        ({"A": 0.7, "B": 0.7}, {"A": 1, "B": 1}, "more than 1"),
        ({"A": -0.1}, {"A": 1}, "expected 0 to 1"),
        ({"A": 0.5}, {}, "no governance score for A"),
        ({"A": math.nan}, {"A": 1}, "expected 0 to 1"),
    ],
)
def test_hhi_wgi_t_bad_input(shares, governance, message) -> None:
    with pytest.raises(ValueError, match=message):
        hhi_wgi_t(shares, governance)


def test_supply_risk_three_bases_by_hand() -> None:
    # [4 * 0.8/2 + 2 * (1 - 0.8/2)] * (1 - 0.1) * 0.9 = (1.6 + 1.2) * 0.81
    assert supply_risk(4.0, 2.0, 0.8, 0.1, 0.9) == pytest.approx(2.8 * 0.81)
    assert supply_risk(4.0, None, None, 0.1, 0.9, "GSonly") == pytest.approx(4 * 0.81)
    assert supply_risk(None, 2.0, None, 0.1, 0.9, "EUonly") == pytest.approx(2 * 0.81)
    with pytest.raises(ValueError, match="hhi_eu is needed"):
        supply_risk(4.0, None, 0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="basis must be"):
        supply_risk(4.0, 2.0, 0.5, 0.0, 1.0, "both")
    with pytest.raises(ValueError, match="eol_rir"):
        supply_risk(4.0, 2.0, 0.5, 1.5, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    hhi_g=st.floats(0, 10),
    hhi_e=st.floats(0, 10),
    reliance=st.floats(0, 1),
    eol=st.floats(0, 1),
    si=st.floats(0, 1),
)
def test_supply_risk_bounded_and_falls_with_recycling(hhi_g, hhi_e, reliance, eol, si) -> None:
    sr = supply_risk(hhi_g, hhi_e, reliance, eol, si)
    assert 0.0 <= sr <= max(hhi_g, hhi_e) * si + 1e-12
    assert supply_risk(hhi_g, hhi_e, reliance, min(1.0, eol + 0.1), si) <= sr + 1e-12


def test_economic_importance_by_hand() -> None:
    shares = {"C27": 0.6, "C29": 0.4}
    value_added = {"C27": 50.0, "C29": 100.0}
    # (0.6 * 50 + 0.4 * 100) / 100 * 10 * 0.9 = 6.3
    assert economic_importance(shares, value_added, 0.9) == pytest.approx(6.3)
    with pytest.raises(ValueError, match="add up to"):
        economic_importance({"C27": 0.5}, value_added, 1.0)
    with pytest.raises(ValueError, match="no value added for sector C20"):
        economic_importance({"C20": 1.0}, value_added, 1.0)


def _inputs(**changes) -> StageInputs:
    base = dict(
        material="X",
        stage="processing",
        basis="GS+EU",
        import_reliance=0.6,
        eol_rir=0.1,
        si_sr=0.95,
        global_shares={"A": 0.8, "B": 0.2},
        eu_shares={"A": 0.5, "C": 0.5},
        trade_global={"A": 1.1},
    )
    return StageInputs(**{**base, **changes})


def test_draws_without_spread_equal_the_point_value() -> None:
    governance = {"A": 6.0, "B": 3.0, "C": 2.0}
    point, _, _ = stage_supply_risk(_inputs(), governance)
    draws = supply_risk_draws(_inputs(), governance, {}, draws=20)
    assert np.allclose(draws, point)


def test_draws_spread_with_governance_errors_and_centre_on_the_point() -> None:
    governance = {"A": 6.0, "B": 3.0, "C": 2.0}
    point, _, _ = stage_supply_risk(_inputs(), governance)
    draws = supply_risk_draws(_inputs(), governance, {"A": 0.3, "B": 0.3, "C": 0.3}, draws=4000)
    assert draws.std() > 0
    assert abs(np.median(draws) - point) < 0.02
    again = supply_risk_draws(_inputs(), governance, {"A": 0.3, "B": 0.3, "C": 0.3}, draws=4000)
    assert np.array_equal(draws, again)  # seeded


# --------------------------------------------------------------------------- check values


@pytest.fixture(scope="module")
def study():
    return criticality_table(draws=200).set_index(["material", "stage"])


CHECK_VALUES = [
    # material, stage, the study's published SR, China's share in the study's Appendix 7
    ("Dysprosium", "processing", 5.6, 1.0),
    ("Gallium", "processing", 3.9, 0.938),
    ("Natural graphite", "extraction", 1.8, 0.667),
    ("Tungsten", "processing", 1.2, 0.856),
]


@pytest.mark.parametrize(("material", "stage", "published", "china"), CHECK_VALUES)
def test_study_route_reproduces_the_2023_check_values(
    study, material, stage, published, china
) -> None:
    """With the study's own global supply shares (eu2023_global_shares.csv) all four check
    values reproduce within 0.1 (docs/criticality.md)."""
    row = study.loc[(material, stage)]
    assert row["status"] == "computed"
    assert "Appendix 7" in row["inputs"]
    assert f"CHN {china:.1%}" in row["inputs"]
    assert abs(row["sr"] - published) <= 0.1
    assert row["sr_p5"] <= row["sr"] <= row["sr_p95"]


def test_study_route_pins_the_four_values(study) -> None:
    """The values the docs and README quote, and the data's global shares beside them."""
    sr = {m: study.loc[(m, s)]["sr"] for m, s, _, _ in CHECK_VALUES}
    beside = {m: study.loc[(m, s)]["sr_wmd_global"] for m, s, _, _ in CHECK_VALUES}
    assert sr["Dysprosium"] == pytest.approx(5.557, abs=0.001)
    assert sr["Gallium"] == pytest.approx(3.827, abs=0.001)
    assert sr["Natural graphite"] == pytest.approx(1.785, abs=0.001)
    assert sr["Tungsten"] == pytest.approx(1.112, abs=0.001)
    assert beside["Gallium"] == pytest.approx(3.888, abs=0.001)
    assert beside["Natural graphite"] == pytest.approx(2.099, abs=0.001)
    assert beside["Tungsten"] == pytest.approx(1.062, abs=0.001)  # the mine-share proxy
    assert math.isnan(beside["Dysprosium"])  # the wheel has no REE separation data


def test_natural_graphite_the_study_share_is_the_one_its_sr_implies(study) -> None:
    """The earlier diagnosis, now closed: with every other input as published, SR 1.8
    needed China at about 67% of world output instead of World Mining Data's 75.4% for
    2018-2020; the study's Appendix 7 gives 66.7%."""
    from dataclasses import replace

    from chokepoint.analysis.criticality import governance_scores, stage_inputs, with_top_share
    from chokepoint.importers.reference import load_reference

    ref = load_reference()
    params = ref.parameters[ref.parameters["material"] == "Natural graphite"].iloc[0]
    inputs, _ = stage_inputs(ref, params, "extraction", None)
    assert inputs is not None
    assert inputs.global_shares["CHN"] == pytest.approx(0.667)
    assert inputs.data_global_shares["CHN"] == pytest.approx(0.754, abs=0.001)
    assert (inputs.import_reliance, inputs.eol_rir, inputs.si_sr) == (0.99, 0.03, 0.98)
    assert inputs.trade_global == {"AUT": 0.8, "DEU": 0.8} and inputs.data_trade_global == {}
    score = governance_scores(ref, None).score
    score = {**dict.fromkeys(set(inputs.global_shares) | set(inputs.eu_shares), 5.0), **score}
    data_at_67 = replace(inputs, global_shares=with_top_share(inputs.data_global_shares, 0.67))
    assert stage_supply_risk(data_at_67, score)[0] == pytest.approx(1.8, abs=0.01)
    assert study.loc[("Natural graphite", "extraction")]["sr"] == pytest.approx(1.785, abs=0.001)


def test_tungsten_processing_uses_the_study_shares_and_keeps_the_proxy_beside(study) -> None:
    """The study route now has the study's own processing shares (China 85.6%); the
    mine-share proxy (an assumption, eu2023_proxies.csv) stays for the data route and is
    the SR reported beside (1.06)."""
    row = study.loc[("Tungsten", "processing")]
    assert "ASSUMPTION" not in row["inputs"] and "VNM 1.1" in row["inputs"]
    assert row["sr_assumption_low"] is None or math.isnan(row["sr_assumption_low"])
    data = criticality_table(material="Tungsten", year=2020, draws=50).set_index("stage")
    processing = data.loc["processing"]
    assert "ASSUMPTION" in processing["inputs"] and "Appendix 7" not in processing["inputs"]
    assert processing["sr_assumption_low"] <= processing["sr_assumption_high"]


EI_STUDY = {
    # material: (stage row to read, published EI of the 2023 study)
    "Gallium": ("processing", 3.7),
    "Tungsten": ("processing", 8.7),
    "Aluminium": ("extraction", 5.8),
    "Antimony": ("extraction", 5.4),
    "Bismuth": ("processing", 5.7),
    "Cerium": ("processing", 4.9),
    "Gadolinium": ("processing", 3.3),
    "Neodymium": ("processing", 7.2),
    "Samarium": ("processing", 7.7),
    "Silicon metal": ("processing", 4.9),
    "Terbium": ("processing", 6.4),
}


@pytest.mark.parametrize("material", sorted(EI_STUDY))
def test_ei_from_sourced_inputs_reproduces_the_study(study, material) -> None:
    """EI from the study's end-use shares and value added (Appendix 6 as transcribed),
    scaled by C28, shares as printed: within 0.3 of the published EI."""
    stage, published = EI_STUDY[material]
    row = study.loc[(material, stage)]
    assert row["published_ei"] == published
    assert row["ei_source"].startswith("computed")
    assert "scale C28" in row["ei_source"]
    assert abs(row["ei"] - published) <= 0.3


def test_ei_check_values_gallium_and_tungsten(study) -> None:
    # (0.75 * 77000 + 0.25 * 89422) / 204200 * 10 * 0.98 and
    # (0.08 * 132361 + 0.06 * 163568 + 0.06 * 89422 + 0.79 * 204200) / 204200 * 10 * 0.95
    assert study.loc[("Gallium", "processing")]["ei"] == pytest.approx(3.8444, abs=1e-4)
    assert study.loc[("Tungsten", "processing")]["ei"] == pytest.approx(8.7038, abs=1e-4)


def test_ei_not_computed_where_end_uses_are_not_sourced(study) -> None:
    """Dysprosium and natural graphite are not in the transcribed end-use table: no EI is
    computed; the study's published EI is carried beside it and used for `critical`."""
    for material, stage, ei in [
        ("Dysprosium", "processing", 7.8),
        ("Natural graphite", "extraction", 3.4),
    ]:
        row = study.loc[(material, stage)]
        assert row["published_ei"] == ei
        assert row["ei"] is None or math.isnan(row["ei"])
        assert row["ei_source"].startswith("not computed: no sourced end-use shares")


def test_ei_rounding_tolerance_and_declared_scale() -> None:
    import pandas as pd

    from chokepoint.analysis.criticality_ei import LARGEST_NOTE, ei_from_inputs

    value_added = pd.DataFrame(
        {
            "nace": ["C27", "C28"],
            "value_added_meur": [50.0, 100.0],
            "year": "2023",
            "note": ["", f"{LARGEST_NOTE}: ranking source ..."],
        }
    )
    # two printed shares may miss 1 by up to one percentage point; used as printed
    uses = pd.DataFrame({"material": "X", "nace": ["C27", "C28"], "share": [0.5, 0.49]})
    value, how = ei_from_inputs("X", 1.0, uses, value_added)
    assert value == pytest.approx((0.5 * 50 + 0.49 * 100) / 100 * 10)
    assert "scale C28 (declared" in how
    off = uses.assign(share=[0.5, 0.48])
    with pytest.raises(ValueError, match="add up to"):
        ei_from_inputs("X", 1.0, off, value_added)
    # without the declaration, a partial table gives no scale
    undeclared = value_added.assign(note="")
    assert ei_from_inputs("X", 1.0, uses, undeclared)[0] is None
    # a declared division smaller than a listed one is not the largest
    wrong = value_added.assign(note=[f"{LARGEST_NOTE}", ""])
    assert ei_from_inputs("X", 1.0, uses, wrong)[0] is None
    # a sector without value added: not computed, named
    other = pd.DataFrame({"material": "X", "nace": ["C20"], "share": [1.0]})
    value, how = ei_from_inputs("X", 1.0, other, value_added)
    assert value is None and "C20" in how


def test_ei_inputs_carry_source_and_year() -> None:
    from chokepoint.analysis.criticality_ei import end_use_table, value_added_table
    from chokepoint.importers.reference import load_reference

    ref = load_reference()
    for table in (end_use_table(ref), value_added_table(ref)):
        assert len(table)
        assert (table["source"].str.strip() != "").all()
        assert (table["year"].str.strip() != "").all()
    uses = end_use_table(ref)
    totals = uses.groupby("material")["share"].agg(["sum", "size"])
    assert ((totals["sum"] - 1).abs() <= 0.005 * totals["size"] + 1e-9).all()


def test_ei_from_inputs_on_a_worked_case() -> None:
    import pandas as pd

    from chokepoint.analysis.criticality_ei import MANUFACTURING, ei_from_inputs

    value_added = pd.DataFrame(
        {
            "nace": list(MANUFACTURING),
            "value_added_meur": [100.0 if s == "C29" else 50.0 for s in MANUFACTURING],
            "year": "2019",
        }
    )
    uses = pd.DataFrame({"material": "X", "nace": ["C27", "C29"], "share": [0.6, 0.4]})
    value, how = ei_from_inputs("X", 0.9, uses, value_added)
    assert value == pytest.approx((0.6 * 50 + 0.4 * 100) / 100 * 10 * 0.9)
    assert how.startswith("computed")
    assert ei_from_inputs("Y", 0.9, uses, value_added)[0] is None
    partial = value_added[value_added["nace"] != "C10"]
    value, how = ei_from_inputs("X", 0.9, uses, partial)
    assert value is None and "all of C10-C33" in how
    assert ei_from_inputs("X", None, uses, value_added)[1].endswith("(group)")


def test_study_global_shares_table_is_clean_and_consistent() -> None:
    """Every material and stage of eu2023_global_shares.csv adds up to 1 within the rounding
    of its printed figures, names its source and year, uses ISO3 codes with a governance
    score, and its t agree with the t table (eu2023_trade_parameters.csv) except for the
    0.8 the transcription gives EU member states."""
    from chokepoint.analysis.criticality import _study_global, study_global_shares
    from chokepoint.importers.reference import load_reference
    from chokepoint.network.countries import EU27

    ref = load_reference()
    table = study_global_shares(ref)
    assert len(table) and (table["source"].str.contains("10.2873/725585")).all()
    assert (table["year"] == "2023").all()
    assert table["share"].isna().sum() == (table["printed"] == "<0.1%").sum()
    governance = set(ref.wgi_2022["country"]) | set(ref.governance["country"])
    assert set(table["country"]) <= governance
    trade = ref.trade_parameters[ref.trade_parameters["scope"] == "global"]
    for material, stage in table[["material", "stage"]].drop_duplicates().itertuples(index=False):
        found = _study_global(ref, material, stage)  # raises on a bad total
        assert found is not None
        non_eu = {c: t for c, t in found.trade.items() if not (c in EU27 and t == 0.8)}
        mine = trade[(trade["material"] == material) & (trade["stage"] == stage)]
        assert non_eu == dict(zip(mine["country"], mine["trade_parameter"], strict=True))
    # rows left out: cobalt and nickel add up to 98-99% and 91-96% as transcribed
    assert not {"Cobalt", "Nickel"} & set(table["material"])


def test_study_global_shares_rounding_and_bad_totals(monkeypatch) -> None:
    import pandas as pd

    from chokepoint.analysis import criticality
    from chokepoint.importers.reference import load_reference

    def fake(rows):
        frame = pd.DataFrame(rows, columns=["country", "share", "printed", "trade_parameter"])
        return frame.assign(material="X", stage="processing", source="s")

    ref = load_reference()
    rows = [("A", 0.938, "93.8%", 1.0), ("B", 0.063, "6.3%", 0.8), ("C", None, "<0.1%", 1.0)]
    monkeypatch.setattr(criticality, "study_global_shares", lambda _ref: fake(rows))
    found = criticality._study_global(ref, "X", "processing")
    assert found is not None and found.shares == {"A": 0.938, "B": 0.063}
    assert found.trade == {"B": 0.8}
    # 100.1% is within the printing rounding: accepted by the HHI as printed
    value = hhi_wgi_t(found.shares, {"A": 1.0, "B": 1.0}, tolerance=found.tolerance)
    assert value == pytest.approx(0.938**2 + 0.063**2)
    with pytest.raises(ValueError, match="more than 1"):
        hhi_wgi_t(found.shares, {"A": 1.0, "B": 1.0})
    short = [("A", 0.90, "90.0%", 1.0), ("B", 0.05, "5.0%", 1.0)]
    monkeypatch.setattr(criticality, "study_global_shares", lambda _ref: fake(short))
    with pytest.raises(ValueError, match="not 1 within the rounding"):
        criticality._study_global(ref, "X", "processing")
    assert criticality._study_global(ref, "Y", "processing") is None


def test_data_route_ignores_the_study_shares() -> None:
    row = criticality_table(material="Natural graphite", year=2020, draws=50).iloc[0]
    assert "WMD" in row["inputs"] and "Appendix 7" not in row["inputs"]
    assert row["sr_wmd_global"] is None or math.isnan(row["sr_wmd_global"])


def test_with_top_share_keeps_the_known_total() -> None:
    from chokepoint.analysis.criticality import with_top_share

    out = with_top_share({"A": 0.6, "B": 0.3, "C": 0.1}, 0.8)
    assert out["A"] == 0.8 and sum(out.values()) == pytest.approx(1.0)
    assert out["B"] / out["C"] == pytest.approx(3.0)
    assert with_top_share({"A": 1.0}, 0.9) == {"A": 0.9}
    assert with_top_share({"A": 0.7, "B": 0.3}, 1.0) == {"A": 1.0, "B": 0.0}


def test_data_route_for_a_year_uses_that_years_governance() -> None:
    table = criticality_table(material="Natural graphite", year=2024, draws=50)
    row = table.iloc[0]
    assert "political stability 2024" in row["governance"]
    assert "2024" in row["inputs"] and row["sr"] > 0


def test_unknown_material_and_year_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown material"):
        criticality_table(material="unobtainium")
    with pytest.raises(ValueError, match="no governance scores for 2031"):
        criticality_table(year=2031)


# --------------------------------------------------------------------------- GeoPolRisk


def test_geopolrisk_formulas_by_hand() -> None:
    assert production_hhi({"A": 3.0, "B": 1.0}) == pytest.approx(10 / 16)
    assert stability_score(2.5) == 0.0 and stability_score(-3.0) == 1.0
    assert stability_score(None) == 0.5 and stability_score(0.0) == 0.5
    # partners X (g 0.8), Y (g 0.2) and member M (weighs 0), own production 10
    risk = import_risk({"X": 30.0, "Y": 50.0, "M": 10.0}, {"X": 0.8, "Y": 0.2}, 10.0, members={"M"})
    assert risk == pytest.approx((30 * 0.8 + 50 * 0.2) / (90 + 10))
    assert characterization_factor(0.5, 2.0) == pytest.approx(1.0 / CF_COPPER)
    with pytest.raises(ValueError, match="world production is zero"):
        production_hhi({"A": 0.0})


def test_geopolrisk_table_on_the_real_data() -> None:
    table = geopolrisk_table(years=[2022])
    assert {"natural_graphite", "tungsten", "aluminium"} <= set(table["material"])
    assert table["hhi"].between(0, 1).all() and table["import_risk"].between(0, 1).all()
    assert np.allclose(table["score"], table["hhi"] * table["import_risk"])
    germany = geopolrisk_table(region="DEU", years=[2022])
    assert (germany["region"] == "DEU").all()
    with pytest.raises(ValueError, match="EU member state"):
        geopolrisk_table(region="USA")


# --------------------------------------------------------------------------- CRMA


def test_strategic_table_lists_17_materials_with_consistent_flags() -> None:
    table = strategic_materials_table()
    strategic = table[table["crma"] == "strategic"]
    assert strategic["material"].nunique() == 17
    missing = set(strategic.loc[~strategic["data"], "material"])
    assert missing == {"magnesium", "silicon"}
    flagged = strategic.dropna(subset=["top_third_country_share"])
    assert (flagged["crma_65_breach"] == (flagged["top_third_country_share"] > 0.65)).all()
    assert set(table.loc[table["crma"] == "controlled", "material"]) == {
        "antimony",
        "tellurium",
        "molybdenum",
        "indium",
    }


# --------------------------------------------------------------------------- commands


def test_criticality_command_json_and_table() -> None:
    result = runner.invoke(
        app, ["criticality", "--material", "gallium", "--format", "json", "--draws", "50"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["material"] == "Gallium" and abs(rows[0]["sr"] - 3.9) <= 0.1
    table = runner.invoke(app, ["criticality", "--draws", "50"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Dysprosium" in table.output


def test_criticality_command_unknown_material_exits_2() -> None:
    result = runner.invoke(app, ["criticality", "--material", "unobtainium"])
    assert result.exit_code != 0


def test_metrics_eu_lists_the_strategic_materials() -> None:
    result = runner.invoke(app, ["metrics", "--region", "EU"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "CRMA strategic raw materials" in result.output
    table = result.output[result.output.index("CRMA strategic raw materials") :]
    strategic = strategic_materials_table()
    names = set(strategic.loc[strategic["crma"] == "strategic", "material"])
    assert len(names) == 17
    listed = {line.split("│")[1].strip() for line in table.splitlines() if line.count("│") > 2}
    assert names <= listed
    for flag in ("≤65%", "≥10/40%", "≥25%", "breach", "below", "met"):
        assert flag in table


def test_geopolrisk_command_csv() -> None:
    result = runner.invoke(app, ["geopolrisk", "--year", "2022", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("material,stage,region,year,hhi")
