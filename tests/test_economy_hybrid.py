"""The hybrid link: mapping files, producer links, shortfalls to capacity loss, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymrio
import pytest
import typer
from typer.testing import CliRunner

from chokepoint.cli.economy import economy_command
from chokepoint.economy.hybrid import producer_links, shortfall_capacity_loss
from chokepoint.economy.mapping import (
    SECTOR_COLUMNS,
    SECTOR_FILES,
    country_regions,
    load_region_mapping,
    load_sector_mapping,
    mappings_folder,
    resolve_sectors,
)
from chokepoint.economy.mrio import load_mrio, mrio_from_arrays
from chokepoint.economy.run import run_economy
from chokepoint.errors import ChokepointError, DataError
from chokepoint.network.container import load_default
from chokepoint.network.countries import EU27
from chokepoint.scenario import Scenario

ICIO_INDUSTRIES = (
    "A01_02 A03 B05_06 B07_08 B09 C10T12 C13T15 C16 C17_18 C19 C20 C21 C22 C23 C24 C25 C26 "
    "C27 C28 C29 C30 C31T33 D E F G H49 H50 H51 H52 H53 I J58T60 J61 J62_63 K L M N O P Q R S T"
).split()
"""The 45 industries of the OECD ICIO 2021 and 2023 editions (ISIC Rev.4)."""


def _table_with(regions: list[str], sectors: list[str], system: str, output=None):
    """A small diagonal MRIO with the given labels (for mapping and link tests)."""
    industries = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    n = len(industries)
    x = np.asarray(output, dtype=float) if output is not None else np.full(n, 1000.0)
    return mrio_from_arrays(
        np.diag(0.2 * x), 0.8 * x, industries, x=x, unit="M.EUR", eur_per_unit=1e6, system=system
    )


# ------------------------------------------------------------------------ mapping files


@pytest.mark.parametrize("name", sorted(set(SECTOR_FILES.values())))
def test_shipped_sector_mappings_are_valid_and_name_network_products(name) -> None:
    table = load_sector_mapping(mappings_folder() / name)
    assert set(SECTOR_COLUMNS) <= set(table.columns)
    commodities = set(load_default().commodities["id"])
    assert set(table["product"]) <= commodities
    assert (table.groupby("product")["weight"].sum() <= 1 + 1e-9).all()
    sources = set(pd.read_csv(mappings_folder() / "sources.csv")["id"])
    named = {s for cell in table["source"] for s in cell.split(";") if s}
    assert named <= sources


@pytest.mark.parametrize(
    ("system", "classification"), [("exiobase3_ixi", "exio3_ixi"), ("exiobase3_pxp", "exio3_pxp")]
)
def test_exiobase_codes_are_real_and_resolve_to_exiobase_names(system, classification) -> None:
    names = pymrio.get_classification(classification).sectors["ExioName"].tolist()
    table = _table_with(["DE", "FR"], names, system)
    path = mappings_folder() / "exiobase3.csv"
    resolved = resolve_sectors(load_sector_mapping(path), table, path)
    assert set(resolved["sector"]) <= set(names)
    motor = "Motor vehicles, trailers and semi-trailers (34)"
    expected = motor if system.endswith("pxp") else f"Manufacture of {motor[0].lower()}{motor[1:]}"
    assert resolved.loc[resolved["product"] == "car_bev_pm", "sector"].item() == expected


def test_icio_codes_are_icio_industries() -> None:
    table = load_sector_mapping(mappings_folder() / "oecd_icio.csv")
    assert set(table["mrio_sector"]) <= set(ICIO_INDUSTRIES)


def test_pymrio_test_mapping_resolves_on_the_test_system() -> None:
    test = load_mrio("test")
    path = mappings_folder() / "pymrio_test.csv"
    resolved = resolve_sectors(load_sector_mapping(path), test, path)
    assert set(resolved["sector"]) == {"manufactoring", "mining"}


def test_region_mapping_covers_the_eu_with_exiobase_and_iso3_codes() -> None:
    regions = load_region_mapping().set_index("country")
    assert set(EU27) <= set(regions.index)
    eu = regions.loc[list(EU27)]
    assert (eu["oecd_icio"] == eu.index).all()
    assert eu.loc["GRC", "exiobase3"] == "GR" and eu.loc["DEU", "exiobase3"] == "DE"
    assert eu["exiobase3"].str.fullmatch(r"[A-Z]{2}").all()
    assert set(eu["pymrio_test"]) <= {"reg1", "reg2", "reg3", "reg4", "reg5"}
    sources = set(pd.read_csv(mappings_folder() / "sources.csv")["id"])
    assert {s for cell in regions["source"] for s in cell.split(";")} <= sources


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text(",".join(SECTOR_COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "message", "row", "field"),
    [
        (["car_bev,i34,1.5,,s,"], "weight must be in", 1, "weight"),
        (["car_bev,i34,x,,s,"], "not a number", 1, "weight"),
        (["car_bev,i34,1,,s,", "car_ice,i34,1,-3,s,"], "unit_value must be", 2, "unit_value"),
        (["car_bev,i34,0.7,,s,", "car_bev,i31,0.6,,s,"], "add up to 1.3", 2, "weight"),
        (["car_bev,i34,1,,,"], "source id or an assumption", 1, "source"),
        (["car_bev,,1,,s,"], "empty sector", 1, "mrio_sector"),
    ],
)
def test_bad_mapping_rows_name_file_row_and_field(tmp_path, rows, message, row, field) -> None:
    path = _write(tmp_path, rows)
    with pytest.raises(DataError, match=message) as caught:
        load_sector_mapping(path)
    assert caught.value.row == row and caught.value.field == field
    assert caught.value.file == str(path)


def test_unknown_sector_code_is_a_data_error(tmp_path) -> None:
    path = _write(tmp_path, ["car_bev,manufactoring,1,,s,", "car_ice,cars,1,,s,"])
    with pytest.raises(DataError, match="sector 'cars' is not in the MRIO") as caught:
        resolve_sectors(load_sector_mapping(path), load_mrio("test"), path)
    assert caught.value.row == 2 and caught.value.field == "mrio_sector"


def test_missing_columns_are_a_data_error(tmp_path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("product,mrio_sector\ncar_bev,i34\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        load_sector_mapping(path)


# ------------------------------------------------------------------------------ links


def _producers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["cars_deu", "cars_other", "cars_chn", "cars_row"],
            "country": ["DEU", "EU27", "CHN", "ROW"],
            "commodity": ["car_bev"] * 4,
        }
    )


def test_links_spread_other_eu_producers_by_sector_output(tmp_path) -> None:
    output = [1000.0, 50.0, 3000.0, 50.0, 1000.0, 50.0, 9000.0, 50.0]
    table = _table_with(["DEU", "FRA", "ITA", "CHN"], ["C29", "C20"], "oecd_icio", output)
    path = _write(tmp_path, ["car_bev,C29,0.8,,s,"])
    mapping = resolve_sectors(load_sector_mapping(path), table, path)
    regions = country_regions(load_region_mapping(), table)
    links = producer_links(_producers(), pd.Series({"car_bev": 34000.0}), table, mapping, regions)
    frame = links.table.set_index(["producer", "region"])
    assert frame.loc[("cars_deu", "DEU"), "weight"] == pytest.approx(0.8)
    assert frame.loc[("cars_other", "FRA"), "weight"] == pytest.approx(0.8 * 0.75)
    assert frame.loc[("cars_other", "ITA"), "weight"] == pytest.approx(0.8 * 0.25)
    assert ("cars_other", "DEU") not in frame.index
    assert frame.loc[("cars_chn", "CHN"), "weight"] == pytest.approx(0.8)
    assert (frame["unit_value"] == 34000.0).all()
    assert list(links.skipped["producer"]) == ["cars_row"]


def test_shortfall_becomes_capacity_loss_by_value_share(tmp_path) -> None:
    table = _table_with(["DEU", "FRA"], ["C29"], "oecd_icio", [365_000.0, 730_000.0])
    path = _write(tmp_path, ["car_bev,C29,1,,s,"])
    mapping = resolve_sectors(load_sector_mapping(path), table, path)
    regions = country_regions(load_region_mapping(), table)
    producers = _producers().iloc[:2]
    links = producer_links(producers, pd.Series({"car_bev": 40000.0}), table, mapping, regions)
    shortfall = np.zeros((3, 2, 2))
    shortfall[1, 0, 0] = 5000.0  # DEU loses 5000 cars on day 1 in draw 0: EUR 200 m
    shortfall[2, 1, 1] = 1000.0  # other EU (all in FRA) loses 1000 cars on day 2 in draw 1
    coupling = shortfall_capacity_loss(
        links.table, shortfall, ["cars_deu", "cars_other"], table, eur_per_unit=1e6
    )
    loss = coupling.loss
    assert list(loss.rows) == [0, 1]
    # DEU makes EUR 1,000 m a day; 200 m lost is 20%. FRA makes 2,000 m; 40 m is 2%.
    assert loss.values[1, 0, 0] == pytest.approx(0.2)
    assert loss.values[2, 1, 1] == pytest.approx(0.02)
    assert loss.values.sum() == pytest.approx(0.22)
    assert coupling.capped == 0
    np.testing.assert_allclose(coupling.lost_value.sum(axis=0), [200e6, 40e6])


def test_capacity_loss_is_capped_at_the_whole_output(tmp_path) -> None:
    table = _table_with(["DEU"], ["C29"], "oecd_icio", [365.0])
    path = _write(tmp_path, ["car_bev,C29,1,,s,"])
    mapping = resolve_sectors(load_sector_mapping(path), table, path)
    regions = country_regions(load_region_mapping(), table)
    links = producer_links(
        _producers().iloc[:1], pd.Series({"car_bev": 1e6}), table, mapping, regions
    )
    coupling = shortfall_capacity_loss(
        links.table, np.full((2, 1, 1), 10.0), ["cars_deu"], table, eur_per_unit=1e6
    )
    assert coupling.capped == 2
    assert coupling.loss.values.max() == 1.0


# ------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def licences():
    return run_economy("licences-3m", "test", draws=3)


def test_licences_3m_reports_eu_value_added_loss_by_country_and_sector(licences) -> None:
    total = licences.eu_total()
    # default data of the input revision: EU cars no longer stop under 3-month licences (79 days
    # of magnet cover at day 0), so the loss is that of magnet and wind-generator users
    assert total["loss_mean"] > 1e6
    assert total["loss_p5"] <= total["loss_p50"] <= total["loss_p95"]
    regions = licences.regions.set_index("region")
    assert regions.loc["reg1", "countries"] == "DEU"
    assert regions.loc["reg1", "loss_mean"] > regions.loc["reg2", "loss_mean"]
    assert regions.loc["EU", "loss_mean"] == pytest.approx(
        regions.loc[regions["eu"] & (regions.index != "EU"), "loss_mean"].sum()
    )
    assert licences.eu_sectors.iloc[0]["sector"] == "manufactoring"
    hit = licences.industries[licences.industries["constrained"]]
    assert set(hit["sector"]) <= {"manufactoring", "mining"}
    indirect = licences.industries[~licences.industries["constrained"] & licences.industries["eu"]]
    assert indirect["loss_mean"].sum() > 0  # suppliers of the hit makers lose too
    daily = licences.daily[licences.daily["region"] == "EU"]
    assert len(daily) == 365
    assert daily["loss_mean"].sum() == pytest.approx(total["loss_mean"], rel=1e-9)
    assert "ecu_set" in set(licences.unvalued["commodity"])
    assert licences.metadata["mrio_system"] == "pymrio_test"
    json.dumps(licences.to_dict())


def test_a_scenario_without_events_loses_nothing() -> None:
    quiet = Scenario(name="quiet", horizon_days=60, draws=2)
    result = run_economy(quiet, "test")
    assert abs(result.eu_total()["loss_mean"]) < 1e-6 * result.regions["value_added"].iloc[-1]
    assert not result.industries["constrained"].any()


def test_unknown_product_in_a_mapping_is_a_data_error(tmp_path) -> None:
    path = _write(tmp_path, ["unobtainium,manufactoring,1,,s,"])
    with pytest.raises(DataError, match="unknown product 'unobtainium'") as caught:
        run_economy(Scenario(horizon_days=10), "test", mapping=path)
    assert caught.value.row == 1 and caught.value.field == "product"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("economy")(economy_command)
    app.command("other")(lambda: None)  # two commands keep 'economy' as a sub-command
    return app


def test_cli_json_output(tmp_path) -> None:
    result = CliRunner().invoke(
        _app(), ["economy", "licences-3m", "--mrio", "test", "--draws", "2", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["metadata"]["draws"] == 2
    assert payload["eu_total"]["loss_mean"] > 0
    assert {row["region"] for row in payload["regions"]} >= {"reg1", "EU"}


def test_cli_table_output_and_errors() -> None:
    runner = CliRunner()
    shown = runner.invoke(_app(), ["economy", "licences-3m", "--draws", "2", "--top", "3"])
    assert shown.exit_code == 0, shown.output
    assert "EU value added lost" in shown.output and "By MRIO region" in shown.output
    missing = runner.invoke(_app(), ["economy", "licences-3m", "--mrio", "/no/such/table"])
    assert isinstance(missing.exception, ChokepointError)
    helped = runner.invoke(_app(), ["economy", "--help"])
    assert "--mrio" in helped.output and "EXIOBASE" in helped.output


# ------------------------------------------------------- EXIOBASE and ICIO file layouts


def _fake_icio(folder: Path) -> Path:
    """A tiny file in the OECD ICIO 2021 CSV layout (COUNTRY_INDUSTRY labels, Million USD)."""
    countries, sectors = ["CHN", "DEU", "FRA"], ["B07_08", "C20", "C26", "C27", "C29", "G"]
    labels = [f"{c}_{s}" for c in countries for s in sectors]
    rng = np.random.default_rng(1)
    flows = rng.random((18, 18)) * 100
    demand = rng.random((18, 6)) * 500 + 50
    output = flows.sum(axis=1) + demand.sum(axis=1)
    columns = labels + [f"{c}_{k}" for c in countries for k in ("HFCE", "GFCF")] + ["OUT"]
    body = pd.DataFrame(np.hstack([flows, demand, output[:, None]]), index=labels, columns=columns)
    tail = np.zeros((3, len(columns)))
    tail[0, :18] = 1.0
    tail[1, :18] = output - flows.sum(axis=0) - 1.0
    tail[2, :18] = output
    path = folder / "ICIO2021_2018.csv"
    pd.concat([body, pd.DataFrame(tail, index=["TLS", "VA", "OUT"], columns=columns)]).to_csv(path)
    return path


def _fake_exiobase(folder: Path) -> Path:
    """A tiny EXIOBASE 3 ixi folder (pymrio's storage layout, sector names as EXIOBASE's)."""
    names = pymrio.get_classification("exio3_ixi").sectors.set_index("ExioCode")["ExioName"]
    sectors = names.loc[["i34", "i31", "i32", "i24.d", "i13.20.16", "i52"]].tolist()
    regions = ["CN", "DE", "FR"]
    index = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    rng = np.random.default_rng(0)
    flows = pd.DataFrame(rng.random((18, 18)) * 100, index=index, columns=index)
    categories = pd.MultiIndex.from_product(
        [regions, ["Final consumption expenditure by households"]], names=["region", "category"]
    )
    demand = pd.DataFrame(rng.random((18, 3)) * 1000 + 100, index=index, columns=categories)
    unit = pd.DataFrame("M.EUR", index=index, columns=["unit"])
    system = pymrio.IOSystem(Z=flows, Y=demand, unit=unit, name="EXIOBASE", system="ixi")
    path = folder / "IOT_2022_ixi"
    system.save_all(path)
    return path


@pytest.mark.parametrize(
    ("make", "system", "germany", "euros"),
    [(_fake_icio, "oecd_icio", "DEU", 0.92e6), (_fake_exiobase, "exiobase3_ixi", "DE", 1e6)],
)
def test_icio_and_exiobase_files_load_and_carry_the_link(tmp_path, make, system, germany, euros):
    path = make(tmp_path)
    table = load_mrio(path)
    assert table.system == system
    assert table.eur_per_unit == pytest.approx(euros)
    result = run_economy(Scenario(name="quiet", horizon_days=20), path)
    assert result.metadata["mrio_system"] == system
    links = result.links
    cars = links[links["commodity"] == "car_bev_pm"]
    assert set(cars["region"]) == {germany, "FR" if system.startswith("exio") else "FRA"}
    assert set(result.regions.loc[result.regions["eu"], "region"]) >= {germany, "EU"}
