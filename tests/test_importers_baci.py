"""The BACI importer: supplier shares, EU27 grouping, filters, errors, CLI, countries."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chokepoint.cli.imports import import_app
from chokepoint.errors import DataError
from chokepoint.importers import baci_supplier_shares, write_baci_supplier_shares
from chokepoint.importers.baci import OUTPUT_COLUMNS
from chokepoint.network.countries import (
    EU27,
    PSEUDO_COUNTRIES,
    REGIONS,
    expand_region,
    iso3_codes,
    to_iso3,
)

# Numeric codes as in BACI: China 156, USA 842, Germany 276, France 251, India 699
# (its ISO3 is left blank in the code file, so it comes from its name).
CODES_NEW = """country_code,country_name,country_iso2,country_iso3
156,China,CN,CHN
842,USA,US,USA
276,Germany,DE,DEU
251,France,FR,FRA
699,India,IN,
"""

CODES_OLD = """\
country_code,country_name_abbreviation,country_name_full,iso_2digit_alpha,iso_3digit_alpha
156,China,China,CN,CHN
842,USA,United States of America,US,USA
276,Germany,Germany,DE,DEU
251,France,France,FR,FRA
699,India,India,IN,N/A
"""

# Two years; live animals 010121 (written 10121, its leading zero lost) and 284690.
TRADE = """t,i,j,k,v,q
2021,156,276,10121,100,10
2021,842,276,10121,25,NA
2021,251,276,10121,50,5
2022,156,276,10121,200,20
2022,842,276,10121,25,2
2022,699,276,10121,100,10
2021,156,251,10121,30,3
2021,276,251,10121,70,7
2022,842,251,284690,40,4
2021,156,842,284690,999,
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def baci(tmp_path: Path) -> tuple[Path, Path]:
    """(trade file, country-code file) of the hand-built fixture."""
    return write(tmp_path, "BACI_HS17_Y2021.csv", TRADE), write(tmp_path, "codes.csv", CODES_NEW)


def rows(frame: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float | None]]:
    """(importer, product, exporter) -> (value, quantity or None)."""
    return {
        (r.importer, r.product, r.exporter): (r.value, None if pd.isna(r.quantity) else r.quantity)
        for r in frame.itertuples()
    }


def shares(frame: pd.DataFrame, column: str = "share") -> dict[tuple[str, str, str], float]:
    return {
        (r.importer, r.product, r.exporter): getattr(r, column)
        for r in frame.itertuples()
        if not pd.isna(getattr(r, column))
    }


# --------------------------------------------------------------------------- shares


def test_per_country_values_and_shares_by_hand(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci)
    assert list(frame.columns) == list(OUTPUT_COLUMNS)
    # DEU 010121 over both years: CHN 100+200, USA 25+25, FRA 50, IND 100 -> 500.
    assert rows(frame) == {
        ("DEU", "010121", "CHN"): (300.0, 30.0),
        ("DEU", "010121", "IND"): (100.0, 10.0),
        ("DEU", "010121", "FRA"): (50.0, 5.0),
        ("DEU", "010121", "USA"): (50.0, None),  # one of its two quantities is NA
        ("FRA", "010121", "DEU"): (70.0, 7.0),
        ("FRA", "010121", "CHN"): (30.0, 3.0),
        ("FRA", "284690", "USA"): (40.0, 4.0),
        ("USA", "284690", "CHN"): (999.0, None),
    }
    assert shares(frame) == pytest.approx(
        {
            ("DEU", "010121", "CHN"): 0.6,
            ("DEU", "010121", "IND"): 0.2,
            ("DEU", "010121", "FRA"): 0.1,
            ("DEU", "010121", "USA"): 0.1,
            ("FRA", "010121", "DEU"): 0.7,
            ("FRA", "010121", "CHN"): 0.3,
            ("FRA", "284690", "USA"): 1.0,
            ("USA", "284690", "CHN"): 1.0,
        },
        rel=1e-12,
    )
    # Quantity shares among exporters with a known quantity: 30 + 10 + 5 = 45 t.
    assert shares(frame, "share_quantity") == pytest.approx(
        {
            ("DEU", "010121", "CHN"): 30 / 45,
            ("DEU", "010121", "IND"): 10 / 45,
            ("DEU", "010121", "FRA"): 5 / 45,
            ("FRA", "010121", "DEU"): 0.7,
            ("FRA", "010121", "CHN"): 0.3,
            ("FRA", "284690", "USA"): 1.0,
        },
        rel=1e-12,
    )


def test_sorted_by_importer_product_then_value(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci)
    assert list(frame.exporter[:4]) == ["CHN", "IND", "FRA", "USA"]
    assert list(frame.importer) == sorted(frame.importer)


def test_na_quantity_is_missing_not_zero(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci)
    usa_to_deu = frame[(frame.importer == "DEU") & (frame.exporter == "USA")]
    assert usa_to_deu.quantity.isna().all()
    assert usa_to_deu.share_quantity.isna().all()
    only_2022 = baci_supplier_shares(*baci, years=[2022], importers=["DEU"])
    assert rows(only_2022)[("DEU", "010121", "USA")] == (25.0, 2.0)


def test_eu27_grouping_drops_intra_eu_trade(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci, group_importers={"EU27": EU27})
    # FRA->DEU (50) and DEU->FRA (70) are intra-EU and dropped: 330 + 100 + 50 = 480.
    assert rows(frame) == {
        ("EU27", "010121", "CHN"): (330.0, 33.0),
        ("EU27", "010121", "IND"): (100.0, 10.0),
        ("EU27", "010121", "USA"): (50.0, None),
        ("EU27", "284690", "USA"): (40.0, 4.0),
        ("USA", "284690", "CHN"): (999.0, None),
    }
    assert shares(frame) == pytest.approx(
        {
            ("EU27", "010121", "CHN"): 330 / 480,
            ("EU27", "010121", "IND"): 100 / 480,
            ("EU27", "010121", "USA"): 50 / 480,
            ("EU27", "284690", "USA"): 1.0,
            ("USA", "284690", "CHN"): 1.0,
        },
        rel=1e-12,
    )
    assert shares(frame, "share_quantity")[("EU27", "010121", "CHN")] == pytest.approx(33 / 43)


def test_eu27_grouping_can_keep_intra_eu_trade(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci, group_importers={"EU27": EU27}, keep_intra_group=True)
    eu = {k: v for k, v in shares(frame).items() if k[:2] == ("EU27", "010121")}
    assert eu == pytest.approx(
        {
            ("EU27", "010121", "CHN"): 330 / 600,
            ("EU27", "010121", "IND"): 100 / 600,
            ("EU27", "010121", "USA"): 50 / 600,
            ("EU27", "010121", "DEU"): 70 / 600,
            ("EU27", "010121", "FRA"): 50 / 600,
        },
        rel=1e-12,
    )


def test_shares_sum_to_one_per_importer_and_product(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci, group_importers={"EU27": EU27})
    sums = frame.groupby(["importer", "product"]).share.sum()
    assert sums.tolist() == pytest.approx([1.0] * len(sums), abs=1e-12)


def test_old_code_file_layout_and_several_trade_files(tmp_path: Path) -> None:
    lines = TRADE.splitlines()
    first = write(tmp_path, "a.csv", "\n".join([lines[0], *lines[1:5]]) + "\n")
    with gzip.open(tmp_path / "b.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join([lines[0], *lines[5:]]) + "\n")
    codes = write(tmp_path, "codes.csv", CODES_OLD)
    frame = baci_supplier_shares([first, tmp_path / "b.csv.gz"], codes)
    assert rows(frame)[("DEU", "010121", "CHN")] == (300.0, 30.0)
    assert rows(frame)[("DEU", "010121", "IND")] == (100.0, 10.0)  # ISO3 'N/A' -> by name
    assert len(frame) == 8


def test_folder_of_baci_files_and_column_order(tmp_path: Path) -> None:
    folder = tmp_path / "baci"
    folder.mkdir()
    reordered = "q,v,k,j,i,t\n7,70,10121,251,276,2021\nNA,30,10121,251,156,2021\n"
    write(folder, "BACI_HS17_Y2021_V202401.csv", reordered)
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    frame = baci_supplier_shares(folder, codes)
    assert rows(frame) == {
        ("FRA", "010121", "DEU"): (70.0, 7.0),
        ("FRA", "010121", "CHN"): (30.0, None),
    }


# --------------------------------------------------------------------------- filters


def test_product_filter_accepts_padded_strings_and_integers(baci: tuple[Path, Path]) -> None:
    for products in (["010121"], [10121], ["0101.21"]):
        frame = baci_supplier_shares(*baci, products=products)
        assert set(frame["product"]) == {"010121"}
        assert len(frame) == 6


def test_product_filter_by_chapter_and_heading(baci: tuple[Path, Path]) -> None:
    assert set(baci_supplier_shares(*baci, products=["28"])["product"]) == {"284690"}
    assert set(baci_supplier_shares(*baci, products=["0101"])["product"]) == {"010121"}
    assert baci_supplier_shares(*baci, products=["2847"]).empty


def test_importer_and_year_filters(baci: tuple[Path, Path]) -> None:
    frame = baci_supplier_shares(*baci, importers=["deu"], years=[2021])
    # DEU 010121 in 2021: CHN 100, USA 25, FRA 50 -> 175.
    assert shares(frame) == pytest.approx(
        {
            ("DEU", "010121", "CHN"): 100 / 175,
            ("DEU", "010121", "FRA"): 50 / 175,
            ("DEU", "010121", "USA"): 25 / 175,
        },
        rel=1e-12,
    )


def test_importer_filter_with_regions(baci: tuple[Path, Path]) -> None:
    members = baci_supplier_shares(*baci, importers=["EU27"])
    assert set(members.importer) == {"DEU", "FRA"}
    grouped = baci_supplier_shares(*baci, importers=["EU"], group_importers={"EU27": EU27})
    assert set(grouped.importer) == {"EU27"}
    by_name = baci_supplier_shares(*baci, importers=["eu27"], group_importers={"EU27": EU27})
    pd.testing.assert_frame_equal(by_name, grouped)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"products": ["123"]}, "2, 4 or 6 digits"),
        ({"products": [True]}, "string or an integer"),
        ({"products": []}, "products is empty"),
        ({"importers": ["XYZ"]}, "unknown importer"),
        ({"importers": ["DEU"], "group_importers": {"EU27": EU27}}, "group EU27"),
        ({"years": []}, "years is empty"),
        ({"group_importers": {"A": ["DEU"], "B": ["DEU", "FRA"]}}, "two importer groups"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_options_raise_value_error(
    baci: tuple[Path, Path], options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        baci_supplier_shares(*baci, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- errors


def test_missing_column(tmp_path: Path) -> None:
    trade = write(tmp_path, "t.csv", "t,i,j,k,v\n2021,156,276,10121,100\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(trade), 0, "q")
    assert str(error).startswith(f"{trade}, row 0, field 'q': missing required column 'q'")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("line", "field", "shown"),
    [
        ("2021,156,276,10121,abc,1", "v", "'abc'"),
        ("2021,156,276,01x21,5,1", "k", "'01x21'"),
        ("2021,,276,10121,5,1", "i", "a blank"),
        ("20x1,156,276,10121,5,1", "t", "'20x1'"),
        ("2021,156,276,10121,NA,1", "v", "'NA'"),
        ("2021,156,276,10121,5,lots", "q", "'lots'"),
    ],
)
def test_non_numeric_value_names_row_and_field(
    tmp_path: Path, line: str, field: str, shown: str
) -> None:
    body = TRADE.splitlines()
    body.insert(4, line)  # becomes data row 4
    trade = write(tmp_path, "t.csv", "\n".join(body) + "\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(trade), 4, field)
    assert f"{shown} is not a valid" in str(error)
    assert "\n" not in str(error)


def test_bad_value_row_counts_in_its_own_file(tmp_path: Path) -> None:
    good = write(tmp_path, "a.csv", TRADE)
    bad = write(tmp_path, "b.csv", "t,i,j,k,v,q\n2021,156,276,10121,5,1\n2021,156,276,x,5,1\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares([good, bad], codes)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(bad), 2, "k")


def test_ragged_row_is_a_data_error(tmp_path: Path) -> None:
    trade = write(tmp_path, "t.csv", TRADE + "2021,156,276,10121,5,1,9\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes)
    assert (caught.value.file, caught.value.row) == (str(trade), 11)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("line", "field"), [("2022,4,251,10121,5,1", "i"), ("2022,156,4,10121,5,1", "j")]
)
def test_unknown_country_code(tmp_path: Path, line: str, field: str) -> None:
    body = TRADE.splitlines()
    body.insert(6, line)  # data row 6
    trade = write(tmp_path, "t.csv", "\n".join(body) + "\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(trade), 6, field)
    assert "code 4 is not in the country-code file" in str(error)


def test_unknown_code_found_even_when_importer_filtered(tmp_path: Path) -> None:
    trade = write(tmp_path, "t.csv", TRADE + "2022,156,4,10121,5,1\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes, importers=["USA"])
    assert (caught.value.row, caught.value.field) == (11, "j")


def test_unknown_code_outside_the_filters_is_ignored(tmp_path: Path) -> None:
    trade = write(tmp_path, "t.csv", TRADE + "2022,4,276,999999,5,1\n")
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    frame = baci_supplier_shares(trade, codes, products=["010121"])
    assert len(frame) == 6


def test_code_without_iso3_and_unknown_name(tmp_path: Path) -> None:
    codes = write(tmp_path, "codes.csv", CODES_NEW + '490,"Other Asia, nes",,\n')
    trade = write(tmp_path, "t.csv", TRADE + "2022,490,276,10121,5,1\n")
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(trade, codes)
    assert (caught.value.row, caught.value.field) == (11, "i")
    assert "no ISO3 code" in str(caught.value) and "row 6" in str(caught.value)
    # Unused, it does no harm.
    assert len(baci_supplier_shares(write(tmp_path, "ok.csv", TRADE), codes)) == 8


@pytest.mark.parametrize(
    ("text", "row", "field"),
    [
        ("code,name\n156,China\n", 0, "country_code"),
        (CODES_NEW + "x12,Nowhere,,NWH\n", 6, "country_code"),
        (CODES_NEW + "156,China again,CN,CHN\n", 6, "country_code"),
    ],
)
def test_bad_country_code_file(baci: tuple[Path, Path], text: str, row: int, field: str) -> None:
    codes = baci[1]
    codes.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        baci_supplier_shares(baci[0], codes)
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(codes), row, field)


def test_missing_files(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    missing = tmp_path / "nope.csv"
    for trade, codes in ((missing, baci[1]), (baci[0], missing)):
        with pytest.raises(DataError) as caught:
            baci_supplier_shares(trade, codes)
        assert caught.value.file == str(missing)
        assert str(caught.value) == f"{missing}: file not found"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no BACI_"):
        baci_supplier_shares(empty, baci[1])


# --------------------------------------------------------------------------- writer


def test_writer_writes_parquet(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    out = tmp_path / "out" / "shares.parquet"
    summary = write_baci_supplier_shares(*baci, out, group_importers={"EU27": EU27})
    assert (summary.path, summary.rows, summary.importers, summary.products) == (out, 5, 2, 2)
    assert summary.exporters == 3
    written = pd.read_parquet(out)
    expected = baci_supplier_shares(*baci, group_importers={"EU27": EU27})
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert sorted(p.name for p in out.parent.iterdir()) == ["shares.parquet"]


@pytest.mark.parametrize("broken", ["column", "value", "code", "file"])
def test_writer_leaves_nothing_on_error(tmp_path: Path, broken: str) -> None:
    trade_text = {
        "column": "t,i,j,k,v\n2021,156,276,10121,100\n",
        "value": TRADE + "2021,156,276,10121,oops,1\n",
        "code": TRADE + "2021,157,276,10121,1,1\n",
        "file": TRADE,
    }[broken]
    trade = write(tmp_path, "t.csv", trade_text)
    codes = write(tmp_path, "codes.csv", CODES_NEW)
    if broken == "file":
        trade = tmp_path / "missing.csv"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(DataError):
        write_baci_supplier_shares(trade, codes, out_dir / "shares.parquet")
    assert list(out_dir.iterdir()) == []


def test_writer_keeps_previous_output_on_error(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    out = tmp_path / "shares.parquet"
    write_baci_supplier_shares(*baci, out)
    before = out.read_bytes()
    broken = write(tmp_path, "broken.csv", TRADE + "2021,156,276,10121,oops,1\n")
    with pytest.raises(DataError):
        write_baci_supplier_shares(broken, baci[1], out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --------------------------------------------------------------------------- property


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2021, 2022]),
            st.sampled_from([156, 842, 276, 251]),
            st.sampled_from([156, 842, 276, 251]),
            st.sampled_from([10121, 284690, 854140]),
            st.integers(min_value=1, max_value=10**6),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_shares_match_pandas_for_random_flows(
    flows: list[tuple[int, int, int, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lines = ["t,i,j,k,v,q", *(f"{t},{i},{j},{k},{v},NA" for t, i, j, k, v in flows)]
        trade = write(Path(folder), "t.csv", "\n".join(lines) + "\n")
        codes = write(Path(folder), "codes.csv", CODES_NEW)
        frame = baci_supplier_shares(trade, codes)
    iso = {156: "CHN", 842: "USA", 276: "DEU", 251: "FRA"}
    raw = pd.DataFrame(flows, columns=["t", "i", "j", "k", "v"])
    raw = raw.assign(importer=raw.j.map(iso), exporter=raw.i.map(iso))
    raw["product"] = raw.k.astype(str).str.zfill(6)
    value = raw.groupby(["importer", "product", "exporter"]).v.sum()
    share = value / value.groupby(level=["importer", "product"]).transform("sum")
    got = frame.set_index(["importer", "product", "exporter"])
    assert got.value.to_dict() == value.astype(float).to_dict()
    assert got.share.to_dict() == pytest.approx(share.to_dict(), rel=1e-12)
    assert got.quantity.isna().all()


# --------------------------------------------------------------------------- CLI


def test_cli_writes_and_summarises(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    out = tmp_path / "cli.parquet"
    args = ["baci", str(baci[0]), "--codes", str(baci[1]), "--out", str(out)]
    result = CliRunner().invoke(import_app, [*args, "--hs", "010121", "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 rows" in result.output
    frame = pd.read_parquet(out)
    assert set(frame.importer) == {"EU27"}  # --eu-as-one is the default
    # EU27 010121 in 2021 without intra-EU trade: CHN 100 + 30, USA 25.
    assert dict(zip(frame.exporter, frame.value, strict=True)) == {"CHN": 130.0, "USA": 25.0}


def test_cli_no_eu_as_one_and_importer(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    out = tmp_path / "cli.parquet"
    args = ["baci", str(baci[0]), "--codes", str(baci[1]), "--out", str(out)]
    result = CliRunner().invoke(import_app, [*args, "--no-eu-as-one", "--importer", "FRA"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_parquet(out).importer) == {"FRA"}


def test_cli_bad_option_and_data_error(tmp_path: Path, baci: tuple[Path, Path]) -> None:
    out = tmp_path / "cli.parquet"
    args = ["baci", str(baci[0]), "--codes", str(baci[1]), "--out", str(out)]
    bad = CliRunner().invoke(import_app, [*args, "--hs", "1"])
    assert bad.exit_code == 2 and "2, 4 or 6 digits" in bad.output
    missing = ["baci", str(tmp_path / "x.csv"), "--codes", str(baci[1]), "--out", str(out)]
    result = CliRunner().invoke(import_app, missing)
    assert isinstance(result.exception, DataError)  # the main CLI reports it, exit code 2
    assert not out.exists()


def test_cli_help_lists_options() -> None:
    result = CliRunner().invoke(import_app, ["baci", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for option in ("--codes", "--out", "--hs", "--importer", "--year", "--eu-as-one"):
        assert option in result.output


# --------------------------------------------------------------------------- countries


def test_country_constants() -> None:
    assert len(EU27) == 27 and len(set(EU27)) == 27
    assert set(EU27) <= iso3_codes()
    assert {"DEU", "CHN", "USA", "NAM"} <= iso3_codes()
    assert "EU27" not in iso3_codes() and "ROW" not in iso3_codes()
    assert REGIONS["EU27"] == EU27 and REGIONS["EU"] == EU27
    assert set(PSEUDO_COUNTRIES) == {"ROW", "EU27"}


def test_expand_region() -> None:
    assert expand_region("EU27") == EU27
    assert expand_region("eu") == EU27
    assert expand_region("DEU") == ("DEU",)
    assert expand_region("ROW") == ("ROW",)


def test_to_iso3() -> None:
    found = to_iso3(["Germany", "Rep. of Korea", "Namibia", "Germany", "Atlantis"])
    assert found == {"Germany": "DEU", "Rep. of Korea": "KOR", "Namibia": "NAM", "Atlantis": None}
    assert to_iso3([]) == {}


def test_a_misspelt_option_of_the_writer_is_an_error(baci, tmp_path) -> None:
    with pytest.raises(TypeError, match="unexpected option 'prodcts'"):
        write_baci_supplier_shares(*baci, tmp_path / "out.parquet", prodcts=["28"])  # type: ignore[call-arg]
    assert not (tmp_path / "out.parquet").exists()
