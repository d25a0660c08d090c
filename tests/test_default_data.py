"""The shipped dataset: provenance of every row, and metrics recomputed by hand from its
files with nothing but the csv module."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chokepoint import dependency_table, load_default
from chokepoint.analysis.origins import material_origins_by_stage
from chokepoint.cli.main import app
from chokepoint.network.assumptions import assumption_table
from chokepoint.network.container import default_folder
from chokepoint.network.countries import EU27
from chokepoint.network.schema import schemas

DATA = default_folder()
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "default-dataset.md"


def rows(table: str) -> list[dict[str, str]]:
    with open(DATA / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_default_network_loads_with_known_warnings_only() -> None:
    net = load_default()
    assert len(net.producers) > 100 and len(net.sources) > 40
    assert all("ree_concentrate" in w for w in net.warnings)


@pytest.mark.parametrize(
    "table", ["commodities", "producers", "links", "recipes", "stocks", "demand"]
)
def test_every_row_has_a_source_or_an_assumption(table: str) -> None:
    for number, row in enumerate(rows(table), start=1):
        assert row["source"].strip() or row["assumption"].strip(), f"{table} row {number}"


def test_unconfirmed_figures_are_flagged_as_assumptions() -> None:
    for table in ("producers", "links", "recipes", "stocks", "demand"):
        for row in rows(table):
            if "UNCONFIRMED" in row.get("source", ""):
                pytest.fail(f"{table}: UNCONFIRMED used as a source")


def verified_urls() -> dict[str, str]:
    """URLs checked for the input revision (not in the reference notes), each with the passage
    it was checked for, from the table in docs/default-dataset.md."""
    text = DOCS.read_text(encoding="utf-8").split("## Sources verified for the input revision")[1]
    found = {}
    for line in text.split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].startswith("http"):
            found[cells[1]] = cells[2]
    return found


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference not beside the repo")
def test_every_source_url_comes_from_the_reference_files() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.md"))
    verified = verified_urls()
    assert verified and all(verified.values())
    for source in rows("sources"):
        url = source["url"].strip()
        assert url in text or url in verified, (
            f"source {source['id']}: {url} is neither in shared/reference nor verified"
        )


LOW_QUALITY = ("grokipedia", "sinodefence", "couragemagnet")


def test_no_row_cites_a_low_quality_source() -> None:
    for source in rows("sources"):
        assert not any(word in source["url"] for word in LOW_QUALITY), source["id"]


@pytest.mark.parametrize(
    "table", ["commodities", "producers", "links", "recipes", "stocks", "demand"]
)
def test_every_assumed_input_has_an_explicit_range(table: str) -> None:
    """A row with an assumption and a number in its ranged column gives low and high."""
    principal = schemas()[table].principal
    for number, row in enumerate(rows(table), start=1):
        column = row.get("range_of") or next((c for c in principal if row.get(c)), "")
        if row["assumption"].strip() and column and row.get(column, "").strip():
            assert row.get("low", "").strip() and row.get("high", "").strip(), (
                f"{table} row {number}: an assumption without low/high"
            )


def test_assumption_table_of_the_default_data_is_explicit_and_consistent() -> None:
    table = assumption_table(load_default())
    assert set(table["range_rule"]) == {"explicit"}
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()
    assert table["sourced"].any() and not table["sourced"].all()
    stock = table.set_index(["table", "key"]).loc[("stocks", "ev_motors_eu27/ndfeb_magnet")]
    assert stock["value"] > stock["low"]  # day-0 cover, derived from the cover left weeks in


def test_car_variants_and_their_magnets() -> None:
    commodities = {c["id"]: c for c in rows("commodities")}
    families = {c["id"]: c["family"] or c["id"] for c in commodities.values()}
    assert {i for i, f in families.items() if f == "car_bev"} == {"car_bev_pm", "car_bev_eesm"}
    assert {i for i, f in families.items() if f == "car_hev"} == {"car_hev_full", "car_hev_mild"}
    inputs: dict[str, set[str]] = defaultdict(set)
    for r in rows("recipes"):
        inputs[r["output"]].add(r["input"])
    cars = [i for i, c in commodities.items() if c["stage"] == "product" and i.startswith("car_")]
    assert len(cars) == 6
    for car in cars:  # every powertrain carries small-motor magnets, so a ban reaches ICE cars
        assert "small_motor_set" in inputs[car] and "ecu_set" in inputs[car]
    assert "hybrid_motor" not in inputs["car_hev_mild"] and "hybrid_motor" in inputs["car_hev_full"]
    assert "ev_traction_motor" not in inputs["car_bev_eesm"]
    assert inputs["small_motor_set"] == {"ndfeb_magnet"}


def test_eu_magnet_use_adds_up_to_the_eca_total() -> None:
    shares, consumed, _ = eu_supply_by_hand("ndfeb_magnet")
    assert consumed == pytest.approx(20_000, rel=0.001)
    assert shares["CHN"] == pytest.approx(0.85)


def test_strategic_raw_materials_follow_annex_i() -> None:
    strategic = {c["id"] for c in rows("commodities") if c["strategic"] == "true"}
    for outside in ("y_oxide", "lu_oxide", "tm_oxide", "sc_oxide", "antimony_refined"):
        assert outside not in strategic
    for inside in ("ndpr_oxide", "dy_metal", "tb_oxide", "gallium_metal", "tungsten_apt"):
        assert inside in strategic
    stages = {c["id"]: c["stage"] for c in rows("commodities")}
    assert {stages[c] for c in strategic} <= {
        "mining",
        "separation",
        "refining",
        "metal",
        "material",
    }


def test_sources_have_years_and_kinds() -> None:
    for source in rows("sources"):
        assert re.fullmatch(r"(19|20)\d\d", source["year"]), source["id"]
        assert source["kind"] in {"primary", "secondary", "press", "analyst"}


def eu_supply_by_hand(commodity: str) -> tuple[dict[str, float], float, float]:
    """EU sourcing of a commodity from the CSV files: shares by supplier country, EU
    consumption and EU output."""
    producers = {p["id"]: p for p in rows("producers")}
    demand = {d["id"]: d for d in rows("demand")}
    recipe = {(r["output"], r["input"]): float(r["quantity"]) for r in rows("recipes")}
    eu = set(EU27) | {"EU27"}
    requirement: dict[str, float] = {}
    for p in producers.values():
        quantity = recipe.get((p["commodity"], commodity))
        output = float(p["output"] or p["capacity"])
        if quantity and p["country"] in eu and p.get("route", "primary") != "recycling":
            requirement[p["id"]] = output * quantity
    for d in demand.values():
        if d["commodity"] == commodity and d["region"] in eu:
            requirement[d["id"]] = float(d["quantity"])
    flows: dict[str, float] = defaultdict(float)
    for link in rows("links"):
        supplier = producers[link["supplier"]]
        if (
            supplier["commodity"] == commodity
            and link["customer"] in requirement
            and link["alternative"] != "true"
        ):
            flows[supplier["country"]] += float(link["share"]) * requirement[link["customer"]]
    consumed = sum(requirement.values())
    unknown = consumed - sum(flows.values())
    if unknown > 1e-9 * consumed:
        flows["UNK"] += unknown
    output = sum(
        float(p["output"] or p["capacity"])
        for p in producers.values()
        if p["commodity"] == commodity and p["country"] in eu
    )
    return {c: f / consumed for c, f in flows.items()}, consumed, output


@pytest.mark.parametrize(
    "commodity",
    [
        "ndfeb_magnet",
        "dy_metal",
        "auto_discrete",
        "gallium_high_purity",
        "tungsten_carbide",
        "antimony_refined",
    ],
)
def test_eu_metrics_match_a_hand_computation(commodity: str) -> None:
    shares, consumed, output = eu_supply_by_hand(commodity)
    row = dependency_table(load_default(), "EU", commodity).iloc[0]
    assert row["supplier_shares"] == pytest.approx(shares)
    assert row["consumption"] == pytest.approx(consumed)
    known = {c: s for c, s in shares.items() if c != "UNK"}
    total = sum(known.values())
    assert row["hhi"] == pytest.approx(sum((100 * s / total) ** 2 for s in known.values()))
    assert row["import_reliance"] == pytest.approx(max(0.0, (consumed - output) / consumed))
    top = max(known, key=known.get)
    assert (row["top_supplier"], row["top_supplier_share"]) == (top, pytest.approx(known[top]))
    third = {c: s for c, s in known.items() if c not in EU27 and c not in {"EU27", "ROW"}}
    strategic = {c["id"]: c.get("strategic", "") == "true" for c in rows("commodities")}
    assert row["strategic"] == strategic[commodity]
    expected = strategic[commodity] and bool(third) and max(third.values()) > 0.65
    assert row["crma_65_breach"] == expected


def test_metrics_json_on_default_data_has_the_fields() -> None:
    result = CliRunner().invoke(app, ["metrics", "--region", "EU", "--format", "json"])
    assert result.exit_code == 0
    records = json.loads(result.output)
    assert {r["commodity"] for r in records} == {c["id"] for c in rows("commodities")}
    for record in records:
        for field in (
            "commodity",
            "stage",
            "region",
            "supplier_shares",
            "hhi",
            "import_reliance",
            "top_supplier",
            "top_supplier_share",
            "crma_65_breach",
        ):
            assert field in record
        assert record["region"] == "EU27"
        if record["supplier_shares"]:
            assert sum(record["supplier_shares"].values()) == pytest.approx(1.0)
        if set(record["supplier_shares"]) - {"UNK"}:
            assert 0 < record["hhi"] <= 10_000
        else:
            assert record["hhi"] is None


def test_china_share_of_rare_earth_content_of_eu_ev_motors() -> None:
    stages = material_origins_by_stage(load_default(), "ev_traction_motor", "rare_earths", "EU")
    assert set(stages["stage"]) >= {"mining", "separation", "metal", "magnet"}
    by_stage = stages.groupby("stage")["share"].sum()
    assert by_stage.to_numpy() == pytest.approx(1.0)
    china = stages[stages["country"] == "CHN"].set_index("stage")["share"]
    magnets = {
        link["supplier"]: float(link["share"])
        for link in rows("links")
        if link["customer"] == "ev_motors_eu27"
    }
    assert china["magnet"] == pytest.approx(magnets["ndfeb_chn"])
    assert china["separation"] > china["magnet"]
