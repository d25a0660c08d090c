"""Ranges on inputs: their validation, the default rule, and the table of swingable inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from netbuild import network

from chokepoint import DataError
from chokepoint.network.assumptions import (
    COLUMNS,
    DEFAULT_RELATIVE_RANGE,
    assumption_table,
    default_range,
    ranged_tables,
)
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.schema import schemas


def set_cells(key: str, **values: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set columns on the rows whose first column equals ``key`` (adding columns if needed)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        first = frame.columns[0]
        for column, value in values.items():
            if column not in frame.columns:
                frame[column] = ""
            frame.loc[frame[first] == key, column] = value
        return frame

    return change


BAD = [
    # (table, key, cells, row, field, words)
    ("stocks", "motor_deu", {"low": "20"}, 1, "high", "both low and high"),
    ("stocks", "motor_deu", {"high": "40"}, 1, "low", "both low and high"),
    ("stocks", "motor_deu", {"low": "35", "high": "40"}, 1, "low", "low 35 is above the value 30"),
    ("stocks", "motor_deu", {"low": "10", "high": "25"}, 1, "high", "high 25 is below"),
    ("links", "mag_chn", {"low": "0.5", "high": "1.2"}, 3, "high", "valid values of share"),
    ("links", "mag_chn", {"low": "-0.1", "high": "0.9"}, 3, "low", "valid values of share"),
    ("recipes", "motor", {"low": "0", "high": "0.003"}, 5, "low", "above 0"),
    (
        "links",
        "mag_chn",
        {"range_of": "partial", "low": "0", "high": "1"},
        3,
        "range_of",
        "numeric",
    ),
    ("links", "mag_chn", {"range_of": "speed"}, 3, "range_of", "not a numeric column"),
    (
        "stocks",
        "motor_deu",
        {"range_of": "quantity", "low": "1", "high": "2"},
        1,
        "quantity",
        "value",
    ),
    ("stocks", "motor_deu", {"low": "nan", "high": "40"}, 1, "low", "not a number"),
    ("demand", "cars_eu", {"low": "1", "high": "inf"}, 1, "high", "not a number"),
]


@pytest.mark.parametrize(("table", "key", "cells", "row", "field", "words"), BAD)
def test_bad_ranges_name_file_row_field(
    edit_table, toy_folder: Path, table, key, cells, row, field, words
) -> None:
    path = edit_table(table, set_cells(key, **cells))
    with pytest.raises(DataError) as info:
        SupplyNetwork.from_folder(toy_folder)
    error = info.value
    assert "\n" not in str(error)
    assert (error.file, error.row, error.field) == (str(path), row, field)
    assert words in str(error)


def test_family_named_after_another_commodity_is_refused(edit_table, toy_folder: Path) -> None:
    edit_table("commodities", set_cells("motor", family="car"))
    with pytest.raises(DataError, match="id of another commodity") as info:
        SupplyNetwork.from_folder(toy_folder)
    assert (info.value.row, info.value.field) == (5, "family")


def test_family_members_share_a_unit(edit_table, toy_folder: Path) -> None:
    edit_table("commodities", set_cells("motor", family="drive"))
    edit_table("commodities", set_cells("magnet", family="drive"))
    with pytest.raises(DataError, match="different units"):
        SupplyNetwork.from_folder(toy_folder)


def test_toy_inputs_all_get_the_default_rule(toy) -> None:
    table = assumption_table(toy)
    assert list(table.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == COLUMNS
    assert set(table["range_rule"]) == {"default"}
    assert not table["sourced"].any()
    # every numbered row of the six ranged tables is listed (all toy rows state an assumption)
    expected = sum(
        int(toy.table(t)[list(schemas()[t].principal)].notna().any(axis=1).sum())
        for t in ranged_tables()
    )
    assert len(table) == expected
    share = table[(table["table"] == "links") & (table["key"] == "mag_chn/motor_deu")].iloc[0]
    assert (share["column"], share["value"]) == ("share", 0.8)
    assert share["low"] == pytest.approx(0.8 * (1 - DEFAULT_RELATIVE_RANGE))
    assert share["high"] == 1.0  # 0.8 × 1.5 clipped to the valid share
    stock = table[(table["table"] == "stocks") & (table["key"] == "car_deu/motor")].iloc[0]
    assert (stock["column"], stock["value"], stock["low"], stock["high"]) == (
        "quantity",
        500.0,
        250.0,
        750.0,
    )
    assert stock["row"] == 2


def test_explicit_ranges_and_range_of(edit_table, toy_folder: Path) -> None:
    edit_table("stocks", set_cells("motor_deu", low="20", high="60"))
    edit_table("links", set_cells("sep_mys", range_of="qualification_days", low="0", high="30"))
    table = assumption_table(SupplyNetwork.from_folder(toy_folder)).set_index(["table", "key"])
    stock = table.loc[("stocks", "motor_deu/magnet")]
    assert (stock["low"], stock["high"], stock["range_rule"]) == (20.0, 60.0, "explicit")
    link = table.loc[("links", "sep_mys/mag_deu")]
    assert (link["column"], link["value"], link["high"]) == ("qualification_days", 0.0, 30.0)
    assert link["range_rule"] == "explicit" and not link["sourced"]


def test_a_sourced_row_without_a_range_is_not_listed(edit_table, toy_folder: Path) -> None:
    source = "usgs,Mineral Commodity Summaries,USGS,https://example.org,2025,primary,\n"
    with (toy_folder / "sources.csv").open("a", encoding="utf-8") as handle:
        handle.write(source)
    edit_table("producers", set_cells("mine_aus", source="usgs", assumption=""))
    table = assumption_table(SupplyNetwork.from_folder(toy_folder))
    assert "mine_aus" not in set(table.loc[table["table"] == "producers", "key"])
    edit_table("producers", set_cells("mine_aus", low="13", high="30"))
    table = assumption_table(SupplyNetwork.from_folder(toy_folder))
    row = table[table["key"] == "mine_aus"].iloc[0]
    assert row["sourced"] and row["range_rule"] == "explicit"


def test_empty_network_gives_an_empty_typed_table() -> None:
    net = network([("p", "DEU", "ore", 10.0, 10.0)], [], recipes=[])
    net = SupplyNetwork(**{t: net.table(t).iloc[0:0] for t in schemas()}, name="empty")
    table = assumption_table(net)
    assert table.empty and {c: str(t) for c, t in table.dtypes.items()} == COLUMNS


@given(
    values=st.lists(st.floats(0.0, 1e12), min_size=1, max_size=20),
    table_column=st.sampled_from(
        [
            ("links", "share"),
            ("producers", "capacity"),
            ("recipes", "quantity"),
            ("stocks", "days_of_cover"),
            ("demand", "quantity"),
            ("commodities", "value"),
        ]
    ),
)
def test_default_ranges_hold_the_value_within_valid_values(values, table_column) -> None:
    table, column = table_column
    bounds = schemas()[table].bounds(column)
    lowest, highest, _ = bounds
    array = np.clip(np.array(values), lowest, highest)
    low, high = default_range(array, bounds)
    assert np.all((lowest <= low) & (low <= array) & (array <= high) & (high <= highest))
    inside = array * 1.5 <= highest
    assert np.allclose(low, array * (1 - DEFAULT_RELATIVE_RANGE))
    assert np.allclose(high[inside], array[inside] * (1 + DEFAULT_RELATIVE_RANGE))


def test_default_ranges_on_a_built_network() -> None:
    net = network(
        [("a", "DEU", "ore", 40.0, 40.0), ("b", "FRA", "good", 1.0, 0.0)],
        [("a", "b", 0.9, False, 0, True)],
    )
    table = assumption_table(net).set_index(["table", "key"])
    link = table.loc[("links", "a/b")]
    assert (link["low"], link["high"]) == (pytest.approx(0.45), 1.0)
    producer = table.loc[("producers", "a")]
    assert (producer["low"], producer["high"]) == (20.0, 60.0)
