"""Product families: variants of one product are reported one by one and as a family."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint.network.container import SupplyNetwork
from chokepoint.reporting.charts import Catalog
from chokepoint.reporting.data import RunData, key_numbers
from chokepoint.results.groups import family_aggregates
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import simulate

ILLUSTRATIVE = "illustrative figure for tests and docs"


def _append(folder: Path, table: str, rows: list[dict]) -> None:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True).fillna("")
    frame.to_csv(path, index=False)


@pytest.fixture
def variants(toy_folder: Path) -> SupplyNetwork:
    """The toy with a second car variant (no motor): both are family ``cars``."""
    path = toy_folder / "commodities.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["family"] = frame["id"].where(frame["id"] != "car", "cars")
    frame.to_csv(path, index=False)
    _append(
        toy_folder,
        "commodities",
        [
            {
                "id": "car_lite",
                "name": "Light electric car",
                "unit": "unit",
                "stage": "product",
                "material": "vehicles",
                "family": "cars",
                "value": "15000",
                "assumption": ILLUSTRATIVE,
            }
        ],
    )
    _append(
        toy_folder,
        "recipes",
        [
            {
                "output": "car_lite",
                "input": "magnet",
                "quantity": "0.0001",
                "unit": "t/unit",
                "assumption": ILLUSTRATIVE,
            }
        ],
    )
    _append(
        toy_folder,
        "producers",
        [
            {
                "id": "car_lite_deu",
                "name": "German light-car plant",
                "country": "DEU",
                "commodity": "car_lite",
                "capacity": "1000",
                "output": "1000",
                "route": "primary",
                "assumption": ILLUSTRATIVE,
            }
        ],
    )
    _append(
        toy_folder,
        "demand",
        [
            {
                "id": "cars_lite_eu",
                "region": "EU27",
                "commodity": "car_lite",
                "quantity": "1000",
                "unit": "unit",
                "assumption": ILLUSTRATIVE,
            }
        ],
    )
    _append(
        toy_folder,
        "links",
        [
            {
                "supplier": "car_lite_deu",
                "customer": "cars_lite_eu",
                "share": "1",
                "partial": "false",
                "alternative": "false",
                "qualification_days": "0",
                "assumption": ILLUSTRATIVE,
            },
            {
                "supplier": "mag_chn",
                "customer": "car_lite_deu",
                "share": "1",
                "partial": "false",
                "alternative": "false",
                "qualification_days": "0",
                "assumption": ILLUSTRATIVE,
            },
        ],
    )
    return SupplyNetwork.from_folder(toy_folder)


def test_family_rows_sum_their_members(variants: SupplyNetwork) -> None:
    assert family_aggregates(variants) == {"cars": ["car", "car_lite"]}
    scenario = Scenario.model_validate(
        {
            "name": "ban",
            "start": "2025-01-01",
            "horizon_days": 120,
            "events": [
                {"type": "export_ban", "exporter": "CHN", "commodity": "magnet", "start": 10}
            ],
        }
    )
    results = simulate(scenario, variants, draws=3, keep="daily")
    stats = results.stats.set_index(["product", "region"])
    family = stats.loc[("cars", "EU27")]
    members = stats.loc[[("car", "EU27"), ("car_lite", "EU27")]]
    assert family["measured_as"] == "production"
    assert family["lost_output_mean"] == pytest.approx(members["lost_output_mean"].sum())
    assert family["lost_output_mean"] > 0
    # value per unit: members' values weighted by baseline output (10,000 × 35,000 and
    # 1,000 × 15,000 over 11,000 cars)
    value = (10_000 * 35_000 + 1_000 * 15_000) / 11_000
    assert family["lost_value_mean"] == pytest.approx(family["lost_output_mean"] * value)
    output = results.trajectories["output"]
    labels = list(output["product_region"].values)
    total = output.isel(product_region=labels.index("cars@EU27"))
    parts = output.isel(product_region=labels.index("car@EU27")) + output.isel(
        product_region=labels.index("car_lite@EU27")
    )
    assert (abs(total - parts) < 1e-6 * (1 + abs(parts))).all()
    catalog = Catalog.of(variants)
    assert catalog.aggregates == frozenset({"cars"})
    assert catalog.name("cars") == "Car (all)"
    numbers = key_numbers(RunData.from_results(results), catalog.names, catalog.aggregates)
    eu = results.stats[results.stats["region"] == "EU27"]
    leaves = eu[eu["product"] != "cars"]["lost_value_mean"].fillna(0).sum()
    assert numbers["lost_value"] == pytest.approx(leaves)


def test_networks_without_families_report_no_aggregates(toy: SupplyNetwork) -> None:
    assert family_aggregates(toy) == {}
    assert Catalog.of(toy).aggregates == frozenset()
