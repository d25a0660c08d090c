"""Bad input: each class of error names the file, the row and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from chokepoint import DataError
from chokepoint.network.container import SupplyNetwork


def set_cell(table_filter: str, column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A change setting ``column`` to ``value`` in rows where the first column equals a key."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        key = frame.columns[0]
        frame.loc[frame[key] == table_filter, column] = value
        return frame

    return change


def load_error(folder: Path) -> DataError:
    with pytest.raises(DataError) as info:
        SupplyNetwork.from_folder(folder)
    message = str(info.value)
    assert "\n" not in message
    return info.value


CASES = [
    # (table, change, expected row, field, words in the message)
    ("producers", set_cell("mine_aus", "country", "XYZ"), 2, "country", "unknown country"),
    ("producers", set_cell("mine_aus", "country", "Australia"), 2, "country", "not an ISO3"),
    ("demand", set_cell("cars_eu", "region", "EUR"), 1, "region", "unknown country"),
    ("links", set_cell("mag_deu", "supplier", "mag_xxx"), 4, "supplier", "unknown producer"),
    ("links", set_cell("car_deu", "customer", "nobody"), 1, "customer", "unknown producer or"),
    (
        "producers",
        set_cell("sep_mys", "commodity", "unobtainium"),
        5,
        "commodity",
        "unknown commodity",
    ),
    ("recipes", set_cell("motor", "input", "magnets"), 5, "input", "unknown commodity"),
    ("producers", set_cell("mag_deu", "capacity", "-10"), 8, "capacity", "negative"),
    ("producers", set_cell("mag_deu", "capacity", "ten"), 8, "capacity", "not a number"),
    ("producers", set_cell("mag_deu", "output", "11"), 8, "output", "exceeds capacity"),
    ("links", set_cell("mag_chn", "share", "0.7"), 3, "share", "sum to 0.9"),
    ("links", set_cell("mag_chn", "share", "1.5"), 3, "share", "between 0 and 1"),
    ("recipes", set_cell("magnet", "unit", "kg/t"), 3, "unit", "expected 't/t'"),
    ("demand", set_cell("cars_eu", "unit", "t"), 1, "unit", "does not match"),
    ("stocks", set_cell("car_deu", "unit", "t"), 2, "unit", "does not match"),
    ("links", set_cell("mine_aus", "assumption", ""), 13, "source", "neither a source"),
    ("links", set_cell("mine_aus", "source", "usgs-9999"), 13, "source", "unknown source id"),
    ("producers", set_cell("mine_mmr", "id", "mine_aus"), 3, "id", "duplicate id"),
    ("links", set_cell("car_deu", "partial", "maybe"), 1, "partial", "not true or false"),
    ("producers", set_cell("mag_rec_deu", "route", "scrap"), 9, "route", "not one of"),
    (
        "links",
        set_cell("sep_mys", "supplier", "mine_aus"),
        9,
        "customer",
        "does not use the supplier's commodity",
    ),
    ("stocks", set_cell("motor_deu", "quantity", "3"), 1, "days_of_cover", "not both"),
]


@pytest.mark.parametrize(("table", "change", "row", "field", "words"), CASES)
def test_bad_input_names_file_row_field(
    edit_table, toy_folder: Path, table, change, row, field, words
) -> None:
    path = edit_table(table, change)
    error = load_error(toy_folder)
    assert error.file == str(path)
    assert error.row == row
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(f"{path}, row {row}, field '{field}': ")


def test_recipe_cycle(edit_table, toy_folder: Path) -> None:
    def add_cycle(frame: pd.DataFrame) -> pd.DataFrame:
        extra = frame.iloc[[0]].assign(output="ore", input="car", unit="unit/t")
        return pd.concat([frame, extra], ignore_index=True)

    edit_table("recipes", add_cycle)
    error = load_error(toy_folder)
    assert error.field == "input"
    assert "recipe cycle" in str(error)
    assert "ore" in str(error) and "car" in str(error)


def test_partial_shares_accepted_when_declared(edit_table, toy_folder: Path) -> None:
    edit_table("links", set_cell("mag_chn", "share", "0.7"))
    edit_table("links", set_cell("mag_chn", "partial", "true"))
    net = SupplyNetwork.from_folder(toy_folder)
    assert net.links["partial"].sum() == 2


def test_supplier_over_drawn(edit_table, toy_folder: Path) -> None:
    edit_table("producers", set_cell("mag_rec_deu", "capacity", "0.5"))
    edit_table("producers", set_cell("mag_rec_deu", "output", "0.5"))
    error = load_error(toy_folder)
    assert (error.row, error.field) == (9, "output")
    assert "draw 1 per year from 'mag_rec_deu'" in str(error)


def test_missing_required_column(edit_table, toy_folder: Path) -> None:
    path = edit_table("producers", lambda f: f.drop(columns=["capacity"]))
    error = load_error(toy_folder)
    assert (error.file, error.row, error.field) == (str(path), None, "capacity")


def test_unknown_column(edit_table, toy_folder: Path) -> None:
    edit_table("links", lambda f: f.assign(sharez="1"))
    error = load_error(toy_folder)
    assert error.field == "sharez"


def test_missing_required_table(toy_folder: Path) -> None:
    (toy_folder / "producers.csv").unlink()
    error = load_error(toy_folder)
    assert error.file.endswith("producers.csv")


def test_missing_input_is_a_warning(edit_table, toy_folder: Path) -> None:
    edit_table("links", lambda f: f[f["customer"] != "sep_mys"])
    net = SupplyNetwork.from_folder(toy_folder)
    assert net.warnings == (
        "producer 'sep_mys' has no supplier for its input 'ore' (origin unknown)",
    )
