"""Loading and saving networks: CSV and Parquet round trips, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chokepoint import DataError, load_default
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.schema import TABLES, schemas


def assert_same_network(a: SupplyNetwork, b: SupplyNetwork) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_dtype=True)
    assert a.data_version == b.data_version


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_toy_round_trip(toy: SupplyNetwork, tmp_path: Path, file_format: str) -> None:
    written = toy.to_folder(tmp_path / "copy", format=file_format)
    assert sorted(p.name for p in written.iterdir()) == sorted(f"{t}.{file_format}" for t in TABLES)
    assert_same_network(toy, SupplyNetwork.from_folder(written))


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_default_round_trip(tmp_path: Path, file_format: str) -> None:
    net = load_default()
    again = SupplyNetwork.from_folder(net.to_folder(tmp_path / "d", format=file_format))
    assert_same_network(net, again)


def test_tables_follow_schema(toy: SupplyNetwork) -> None:
    for table in TABLES:
        assert list(getattr(toy, table).columns) == list(schemas()[table].names)
    assert toy.producers["capacity"].dtype == float
    assert toy.links["partial"].dtype == bool


def test_defaults_are_applied(toy: SupplyNetwork) -> None:
    stocks = toy.stocks.set_index(["holder", "commodity"])
    assert stocks.loc[("motor_deu", "magnet"), "target_days"] == 30
    assert (toy.links["qualification_days"] == 0).all()


def test_output_defaults_to_capacity(edit_table, toy_folder: Path) -> None:
    def blank_output(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["id"] == "mine_chn", "output"] = ""
        return frame

    edit_table("producers", blank_output)
    net = SupplyNetwork.from_folder(toy_folder)
    assert net.producers.set_index("id").at["mine_chn", "output"] == 200


def test_data_version_changes_with_content(toy: SupplyNetwork, edit_table, toy_folder) -> None:
    edit_table("demand", lambda f: f.assign(quantity="9000"))
    changed = SupplyNetwork.from_folder(toy_folder)
    assert changed.data_version != toy.data_version
    assert SupplyNetwork.from_folder(toy_folder).data_version == changed.data_version


def test_to_folder_refuses_to_overwrite(toy: SupplyNetwork, tmp_path: Path) -> None:
    target = toy.to_folder(tmp_path / "net")
    before = (target / "links.csv").read_text()
    with pytest.raises(DataError, match="already holds network tables"):
        toy.to_folder(target)
    assert (target / "links.csv").read_text() == before
    toy.to_folder(target, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_optional_tables_are_empty(toy_folder: Path) -> None:
    (toy_folder / "stocks.csv").unlink()
    net = SupplyNetwork.from_folder(toy_folder)
    assert net.stocks.empty
    assert list(net.stocks.columns) == list(schemas()["stocks"].names)


def test_parquet_with_typed_columns(toy: SupplyNetwork, tmp_path: Path) -> None:
    folder = toy.to_folder(tmp_path / "pq", format="parquet")
    frame = pd.read_parquet(folder / "producers.parquet")
    frame.loc[0, "capacity"] = -5.0
    frame.to_parquet(folder / "producers.parquet", index=False)
    with pytest.raises(DataError) as info:
        SupplyNetwork.from_folder(folder)
    assert "producers.parquet, row 1, field 'capacity'" in str(info.value)
