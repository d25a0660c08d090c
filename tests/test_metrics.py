"""Dependency metrics on the toy network, against figures computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chokepoint import dependency_table, hhi
from chokepoint.analysis.metrics import consumption, supplier_shares


def row(table, commodity):
    return table.set_index("commodity").loc[commodity]


def test_magnet_dependency_by_hand(toy) -> None:
    # motor_deu needs 10,000 motors × 0.002 t = 20 t of magnets: 16 t from CHN (0.8),
    # 3 t from mag_deu and 1 t from the recycler (DEU 0.2). EU output 5 + 1 = 6 t.
    magnet = row(dependency_table(toy, "EU"), "magnet")
    assert magnet["consumption"] == pytest.approx(20.0)
    assert magnet["supplier_shares"] == pytest.approx({"CHN": 0.8, "DEU": 0.2})
    assert magnet["hhi"] == pytest.approx(80**2 + 20**2)
    assert magnet["import_reliance"] == pytest.approx((20 - 6) / 20)
    assert (magnet["top_supplier"], magnet["top_supplier_share"]) == ("CHN", pytest.approx(0.8))
    # a magnet is not a CRMA strategic raw material: 80% from China is no benchmark breach
    assert not magnet["strategic"] and not magnet["crma_65_breach"]
    assert magnet["recycling_share"] == pytest.approx(1 / 20)
    assert magnet["crma_recycling_met"] is None
    assert pd.isna(magnet["crma_stage"])


def test_crma_benchmarks_apply_to_strategic_raw_materials_only(toy) -> None:
    # mag_deu takes all its Dy oxide (5 t × 0.03) from China: a strategic raw material, 100%
    # from one third country, breaches the 65% benchmark.
    table = dependency_table(toy, "EU")
    dy = row(table, "dy_oxide")
    assert dy["strategic"] and dy["supplier_shares"] == {"CHN": 1.0}
    assert dy["crma_65_breach"] and dy["crma_stage"] == "processing"
    flagged = table[table["crma_65_breach"]]
    assert flagged["strategic"].all()
    assert set(flagged["commodity"]) == {"dy_oxide"}


def test_oxide_dependency_by_hand(toy) -> None:
    # mag_deu needs 5 t × 0.3 = 1.5 t NdPr oxide: 0.6 from CHN, 0.4 from MYS; none made in EU.
    oxide = row(dependency_table(toy, "EU"), "oxide")
    assert oxide["consumption"] == pytest.approx(1.5)
    assert oxide["supplier_shares"] == pytest.approx({"CHN": 0.6, "MYS": 0.4})
    assert oxide["hhi"] == pytest.approx(60**2 + 40**2)
    assert oxide["import_reliance"] == pytest.approx(1.0)
    assert not oxide["crma_65_breach"]
    assert oxide["crma_stage"] == "processing"
    assert oxide["crma_domestic_benchmark"] == pytest.approx(0.40)
    assert oxide["domestic_share"] == pytest.approx(0.0)
    assert oxide["crma_domestic_met"] is False


def test_domestic_products(toy) -> None:
    table = dependency_table(toy, "EU")
    car = row(table, "car")
    assert car["supplier_shares"] == {"DEU": 1.0}
    assert car["import_reliance"] == 0.0
    assert pd.isna(car["top_third_country"]) and not car["crma_65_breach"]


def test_commodity_the_region_does_not_use(toy) -> None:
    ore = row(dependency_table(toy, "EU"), "ore")
    assert ore["consumption"] == 0
    assert ore["supplier_shares"] == {}
    assert pd.isna(ore["import_reliance"])


def test_country_region_and_world(toy) -> None:
    deu = row(dependency_table(toy, "DEU"), "magnet")
    assert deu["supplier_shares"] == pytest.approx({"CHN": 0.8, "DEU": 0.2})
    world = row(dependency_table(toy, "WORLD"), "ore")
    assert world["supplier_shares"] == pytest.approx(
        {"CHN": 150 / 190, "AUS": 30 / 190, "MMR": 10 / 190}
    )
    assert pd.isna(world["import_reliance"])


def test_unknown_origin_from_partial_links(toy) -> None:
    # sep_dy_chn (CHN, outside the EU) needs 10 t ore, half of it of unknown origin.
    shares = supplier_shares(toy, "CHN").set_index(["commodity", "country"])["share"]
    assert shares[("ore", "CHN")] == pytest.approx(95 / 110)
    assert shares[("ore", "MMR")] == pytest.approx(10 / 110)
    assert shares[("ore", "UNK")] == pytest.approx(5 / 110)
    chn = row(dependency_table(toy, "CHN"), "ore")
    assert chn["unknown_share"] == pytest.approx(5 / 110)
    assert chn["hhi"] == pytest.approx((95 / 105 * 100) ** 2 + (10 / 105 * 100) ** 2)


def test_consumption_counts_region_nodes(toy) -> None:
    used = consumption(toy, "EU")
    assert used["car"] == pytest.approx(10_000)
    assert used["motor"] == pytest.approx(10_000)
    assert used["dy_oxide"] == pytest.approx(0.15)


def test_hhi_edge_cases() -> None:
    assert hhi({"A": 1.0}) == pytest.approx(10_000)
    assert hhi({"A": 0.5, "B": 0.5}) == pytest.approx(5_000)
    assert math.isnan(hhi({}))


@given(st.lists(st.floats(min_value=0.001, max_value=1000), min_size=1, max_size=30))
def test_hhi_bounds(values: list[float]) -> None:
    index = hhi(values)
    assert 10_000 / len(values) - 1e-6 <= index <= 10_000 + 1e-6


@given(
    st.lists(st.floats(min_value=0.001, max_value=1000), min_size=1, max_size=30),
    st.floats(min_value=0.01, max_value=100),
)
def test_hhi_scale_invariant(values: list[float], factor: float) -> None:
    assert hhi([v * factor for v in values]) == pytest.approx(hhi(values), rel=1e-9)


def test_eu_alias_and_world_consumption(toy, edit_table, toy_folder) -> None:
    from chokepoint.network.container import SupplyNetwork

    edit_table("demand", lambda f: f.assign(region="EU"))
    eu = SupplyNetwork.from_folder(toy_folder)
    assert row(dependency_table(eu, "EU"), "car")["consumption"] == pytest.approx(10_000)
    world = row(dependency_table(toy, "WORLD"), "ore")
    assert world["consumption"] == pytest.approx(190)
    assert pd.isna(world["crma_stage"])


def test_an_aggregate_is_never_the_single_third_country(edit_table, toy_folder) -> None:
    from chokepoint.network.container import SupplyNetwork

    def to_row(frame):
        frame.loc[frame["id"] == "mag_chn", "country"] = "ROW"
        return frame

    edit_table("producers", to_row)
    magnet = row(dependency_table(SupplyNetwork.from_folder(toy_folder), "EU"), "magnet")
    assert magnet["top_supplier"] == "ROW"
    assert pd.isna(magnet["top_third_country"]) and not magnet["crma_65_breach"]
