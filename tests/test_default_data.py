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
from chokepoint.network.container import default_folder
from chokepoint.network.countries import EU27

DATA = default_folder()
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


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


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference not beside the repo")
def test_every_source_url_comes_from_the_reference_files() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.md"))
    for source in rows("sources"):
        url = source["url"].strip()
        assert url in text, f"source {source['id']}: {url} is not in shared/reference"


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
