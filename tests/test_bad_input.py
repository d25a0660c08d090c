"""Bad input is a clean error (issue 14): one line naming file, row or YAML line and field;
exit 2; nothing half-written. One section per defect class of the hostile-input review."""

from __future__ import annotations

import dataclasses
import errno
import gzip
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chokepoint import examples
from chokepoint.cli.main import app
from chokepoint.errors import DataError, ScenarioError
from chokepoint.files import STAGING_MARK, atomic_file, clean_stale_staging, staging_folder
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.scenario.events import EVENT_TYPES
from chokepoint.simulation import budget
from chokepoint.simulation.run import simulate

runner = CliRunner()
TOY = examples.folder("toy")

BASE = f"""name: t
network: {TOY}
start: 2025-01-01
horizon_days: 60
seed: 0
draws: 1
events:
  - type: export_ban
    exporter: CHN
    commodity: magnet
    start: 10
    end: 40
"""
LICENSING = BASE.replace("type: export_ban", "type: export_licensing")


def cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *words: str) -> str:
    """Assert exit 2 with one ``error:`` line on stderr holding ``words``; return it."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def scenario_file(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_text(text, label="s.yaml")
    assert "\n" not in str(caught.value)
    return caught.value


# ------------------------------------------------------ scenario files that are not UTF-8


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (BASE.replace("name: t", "name: caf\xe9").encode("latin-1"), ["line 1", "not UTF-8"]),
        (BASE.encode("utf-16"), ["UTF-16"]),
        (b"name: t\n\x00\x01\x02binary", ["line 2", "binary"]),
        (bytes(range(128, 256)) * 4, ["not UTF-8"]),
    ],
    ids=["latin-1", "utf-16", "nul", "binary"],
)
def test_scenario_not_utf8_is_one_line(tmp_path: Path, content: bytes, words) -> None:
    path = scenario_file(tmp_path, content)
    one_line_error(cli("run", path), str(path), *words)


def test_scenario_that_is_a_folder_or_fifo(tmp_path: Path) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    one_line_error(cli("run", folder), str(folder))
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    one_line_error(cli("run", fifo), str(fifo))


def test_scenario_file_too_large(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, BASE + "#" * (1 << 20))
    one_line_error(cli("run", path), "larger than 1 MiB")


# ------------------------------------------------------------------- impossible dates


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("start: 2025-01-01", "start: 2025-02-30", ["line 3", "day is out of range"]),
        ("start: 2025-01-01", "start: 2025-13-01", ["line 3", "month must be in 1..12"]),
        ("start: 2025-01-01", "start: 10000-01-01", ["field 'start'", "not a date"]),
        ("start: 2025-01-01", "start: 9999-12-01", ["field 'start'", "outside the dates"]),
        ("start: 2025-01-01", "start: 1066-10-14", ["field 'start'", "outside the dates"]),
        ("start: 10", "start: 2025-02-29", ["line 11", "day is out of range"]),
        ("end: 40", "end: 9999-12-31", ["field 'events[0].end'", "outside the dates"]),
        ("end: 40", "end: 10000000", ["field 'events[0].end'"]),
        ("start: 10", "start: true", ["field 'events[0].start'", "true is not a date"]),
    ],
)
def test_impossible_dates(tmp_path: Path, old: str, new: str, words) -> None:
    path = scenario_file(tmp_path, BASE.replace(old, new))
    one_line_error(cli("run", path), str(path), *words)


def test_latest_dates_still_write_their_outputs(tmp_path: Path) -> None:
    text = BASE.replace("start: 2025-01-01", "start: 2199-12-31").replace("end: 40", "end: 36500")
    results = simulate(Scenario.from_text(text))
    assert results.events()[0]["end_date"] == "2299-12-07"
    results.write(tmp_path / "out")
    assert (tmp_path / "out" / "result.json").is_file()


# ------------------------------------------------------------------------ deep nesting


@pytest.mark.parametrize(
    "text",
    ["name: " + "[" * 5000 + "]" * 5000, "name: " + "{a: " * 3000 + "1" + "}" * 3000],
    ids=["sequences", "mappings"],
)
def test_deeply_nested_yaml(tmp_path: Path, text: str) -> None:
    one_line_error(cli("run", scenario_file(tmp_path, text)), "line 1", "nested deeper")


def test_alias_bomb_is_refused_before_it_is_built() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    error = scenario_error("\n".join(lines))
    assert "aliases are expanded" in str(error)


# ------------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("seed", ["-1", str(2**64), str(10**40), "1.5", ".nan", "true"])
def test_seed_outside_range(seed: str) -> None:
    error = scenario_error(BASE.replace("seed: 0", f"seed: {seed}"))
    assert error.field == "seed" and error.row == 5


def test_largest_seed_is_accepted_and_cli_seed_bounded() -> None:
    assert Scenario.from_text(BASE.replace("seed: 0", f"seed: {2**64 - 1}")).seed == 2**64 - 1
    result = cli("run", "licences-3m", "--seed", str(2**64))
    one_line_error(result, "--seed")


def test_integer_too_long_for_python() -> None:
    error = scenario_error(BASE.replace("seed: 0", "seed: " + "9" * 5000))
    assert error.row == 5 and "cannot be read" in str(error)


# ------------------------------------------------------------ NaN and infinity: scenario


NASTY = [".nan", ".inf", "-.inf", "1e308"]

MINIMAL = {
    "export_ban": {"exporter": "CHN"},
    "export_quota": {"exporter": "CHN", "fraction": 0.5},
    "export_licensing": {"exporter": "CHN"},
    "outage": {"producer": "mag_chn"},
    "demand_shift": {"commodity": "car", "factor": 1.0},
    "stockpile": {"commodity": "magnet", "quantity": 1.0},
    "new_capacity": {"commodity": "magnet", "country": "DEU", "capacity": 1.0},
    "recycling": {"commodity": "magnet", "share": 0.1},
    "substitution": {"output": "motor", "input": "magnet"},
    "supplier_switch": {"commodity": "magnet", "suppliers": "mag_deu"},
    "demand_cut": {"commodity": "car", "cut": 0.1},
    "air_freight": {"exporter": "CHN"},
    "licence_suspension": {"licensing": 0},
    "licence_revocation": {"licensing": 0, "share": 0.5},
}


def _numeric_fields() -> list[tuple[str, str]]:
    found = []
    for name, cls in EVENT_TYPES.items():
        for field, info in cls.model_fields.items():
            text = str(info.annotation)
            if "float" in text and field not in {"start", "end"}:
                found.append((name, field))
    return found


def test_every_event_type_has_a_minimal_example() -> None:
    assert set(MINIMAL) == set(EVENT_TYPES)
    for name, fields in MINIMAL.items():
        EVENT_TYPES[name].model_validate({"type": name, **fields})


@pytest.mark.parametrize(("kind", "field"), _numeric_fields())
@pytest.mark.parametrize("value", NASTY)
def test_no_number_field_takes_nan_inf_or_huge(kind: str, field: str, value: str) -> None:
    event = {**MINIMAL[kind], field: value}
    body = "\n".join(f"    {key}: {val}" for key, val in event.items())
    text = BASE.split("events:")[0] + f"events:\n  - type: {kind}\n{body}\n"
    error = scenario_error(text)
    assert error.field == f"events[0].{field}", (error.field, str(error))


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize(
    "field", ["restoration_days", "default_days_of_cover", "survive_threshold"]
)
def test_settings_take_no_nan_inf_or_huge(field: str, value: str) -> None:
    error = scenario_error(BASE + f"settings:\n  {field}: {value}\n")
    assert error.field == f"settings.{field}"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("approval_probability: .nan", "approval_probability"),
        ("validity_days: .nan", "validity_days"),
        ("volume_headroom: .inf", "volume_headroom"),
        ("processing_days: {dist: uniform, low: .nan, high: 10}", "processing_days"),
        ("processing_days: {dist: normal, mean: .inf, sd: 1, low: 0}", "processing_days"),
        ("processing_days: {dist: fixed, value: .nan}", "processing_days"),
        ("processing_days: {dist: lognormal, median: 1e300, sigma: 1}", "processing_days"),
    ],
)
def test_licensing_parameters_reject_non_finite(line: str, field: str) -> None:
    error = scenario_error(LICENSING + f"    {line}\n")
    assert error.field == f"events[0].{field}" and error.row == 13


# ------------------------------------------------------------- NaN and range: networks


@pytest.mark.parametrize(
    ("table", "old", "new", "row", "field"),
    [
        ("producers", "200,150", "1e308,1e308", 1, "capacity"),
        ("producers", "200,150", "200,1e16", 1, "output"),
        ("producers", "200,150", "nan,150", 1, "capacity"),
        ("producers", "200,150", "inf,150", 1, "capacity"),
        ("links", "mag_chn,motor_deu,0.8", "mag_chn,motor_deu,nan", 3, "share"),
        ("recipes", "magnet,oxide,0.3", "magnet,oxide,1e308", 3, "quantity"),
        ("demand", "car,10000", "car,1e300", 1, "quantity"),
        ("stocks", "magnet,,30,30", "magnet,,1e308,30", 1, "days_of_cover"),
        ("links", "0.15,false,false,0", "0.15,false,false,1e9", 4, "qualification_days"),
        ("commodities", "rare_earths,false,80000", "rare_earths,false,-inf", 4, "value"),
        ("producers", "primary,,,illustrative", "primary,1e30,,illustrative", 1, "year"),
    ],
)
def test_network_numbers_finite_and_in_range(
    toy_folder: Path, table: str, old: str, new: str, row: int, field: str
) -> None:
    path = toy_folder / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    one_line_error(cli("validate", toy_folder), f"{path}, row {row}, field '{field}'")


def test_parquet_nan_is_not_a_blank(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    examples.load("toy").to_folder(folder, format="parquet")
    table = pq.read_table(folder / "producers.parquet")
    output = table.column("output").to_pylist()
    output[2] = float("nan")
    table = table.set_column(table.schema.get_field_index("output"), "output", pa.array(output))
    pq.write_table(table, folder / "producers.parquet")
    one_line_error(cli("validate", folder), "row 3, field 'output'", "NaN")


# ---------------------------------------------------------------- invalid distributions


@pytest.mark.parametrize(
    ("dist", "words"),
    [
        ("{dist: lognormal, median: 60, sigma: 0}", "sigma must be greater than 0"),
        ("{dist: lognormal, median: 60, sigma: -1}", "sigma must be greater than 0"),
        ("{dist: lognormal, median: 60, sigma: 50}", "at most 5"),
        ("{dist: lognormal, median: 0, sigma: 0.3}", "median must be greater than 0"),
        ("{dist: lognormal, median: -5, sigma: 0.3}", "median must be greater than 0"),
        ("{dist: uniform, low: 50, high: 10}", "low (50) must not exceed high (10)"),
        ("{dist: triangular, low: 50, mode: 20, high: 10}", "low <= mode <= high"),
        ("{dist: normal, mean: 50, sd: 5, low: 60, high: 10}", "low (60) must not exceed"),
        ("{dist: normal, mean: 50, sd: -5, low: 0}", "sd must be at least 0"),
        ("{dist: gamma, shape: 2}", "unknown dist 'gamma'"),
        ("{dist: uniform, low: 5}", "uniform: high: required key is missing"),
        ("{dist: uniform, low: 5, high: 6, mode: 5}", "unknown key"),
        ("{low: 5, high: 6}", "needs 'dist'"),
        ("{dist: normal, mean: 50, sd: 5}", "normal can reach"),
        ("true", "true is not a number"),
        ("[1, 2]", "expected a number or a distribution"),
    ],
)
def test_distribution_errors_say_what_is_wrong(dist: str, words: str) -> None:
    error = scenario_error(LICENSING + f"    processing_days: {dist}\n")
    assert error.field == "events[0].processing_days", error.field
    assert words in str(error)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("draws: 1", "draws: true", "draws", "true is not a whole number"),
        ("horizon_days: 60", "horizon_days: false", "horizon_days", "not a whole number"),
        ("seed: 0\n", "seed: 0\nseed: 1\n", None, "duplicate key 'seed' (first on line 5)"),
        ("    end: 40\n", "    end: 40\n    end: 50\n", None, "duplicate key 'end'"),
    ],
)
def test_duplicate_keys_and_booleans(old: str, new: str, field, words: str) -> None:
    error = scenario_error(BASE.replace(old, new))
    assert error.field == field and words in str(error)


def test_contracts_true_is_not_a_number() -> None:
    error = scenario_error(LICENSING + "    contracts: true\n")
    assert error.field == "events[0].contracts"


# -------------------------------------------------------------------- network file kinds


def _replace_links(folder: Path, make) -> Path:
    target = folder / "links.csv"
    target.unlink()
    make(target)
    return target


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: os.mkfifo(p), "FIFO"),
        (lambda p: p.symlink_to(p.parent / "missing.csv"), "symlink to a missing file"),
        (lambda p: p.symlink_to(p), "symlink loop"),
    ],
    ids=["folder", "fifo", "dangling", "loop"],
)
def test_table_that_is_not_a_regular_file(toy_folder: Path, make, words: str) -> None:
    target = _replace_links(toy_folder, make)
    one_line_error(cli("validate", toy_folder), str(target), words)


def test_csv_beside_parquet_is_an_error(toy_folder: Path) -> None:
    pd.read_csv(toy_folder / "links.csv").head(1).to_parquet(toy_folder / "links.parquet")
    one_line_error(cli("validate", toy_folder), "both links.csv and links.parquet")


@pytest.mark.parametrize(
    ("kind", "values"),
    [("list", lambda n: pa.array([[1.0]] * n)), ("struct", lambda n: pa.array([{"a": 1}] * n))],
)
def test_parquet_nested_columns(tmp_path: Path, kind: str, values) -> None:
    folder = tmp_path / "net"
    examples.load("toy").to_folder(folder, format="parquet")
    table = pq.read_table(folder / "links.parquet")
    index = table.schema.get_field_index("share")
    pq.write_table(
        table.set_column(index, "share", values(table.num_rows)), folder / "links.parquet"
    )
    one_line_error(cli("validate", folder), "field 'share'", kind)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.replace(b"China mines", b"Chin\xe9 mines"), ["row 1", "not UTF-8"]),
        (lambda b: b.decode().encode("utf-16"), ["row 0", "UTF-16"]),
        (lambda b: b + b'x,"' + b"a" * 200_000 + b'",CHN,ore,1,1\n', ["row 12", "field limit"]),
        (lambda b: b + b"x,y,CHN,ore,1,1,primary,,,a,extra\n", ["row 12", "11 cells"]),
        (lambda b: b.replace(b"id,name", b"id,id", 1), ["row 0", "appears twice"]),
        (lambda b: b.replace(b",", b"\t"), ["row 0", "comma-separated"]),
        (lambda b: b"", ["row 0", "empty file"]),
    ],
    ids=["latin-1", "utf-16", "field-limit", "extra-cells", "dup-header", "tabs", "empty"],
)
def test_unreadable_csv_table(toy_folder: Path, change, words) -> None:
    path = toy_folder / "producers.csv"
    path.write_bytes(change(path.read_bytes()))
    one_line_error(cli("validate", toy_folder), str(path), *words)


# ------------------------------------------------------------------------------- BACI

CODES = (
    "country_code,country_name,country_iso2,country_iso3\n156,China,CN,CHN\n276,Germany,DE,DEU\n"
)
TRADE = "t,i,j,k,v,q\n2021,156,276,10121,100,10\n2021,276,156,10121,25,NA\n"


def baci(tmp_path: Path, trade: bytes, *extra: str, name: str = "BACI_x.csv", codes=None):
    trade_file = tmp_path / name
    trade_file.write_bytes(trade)
    codes_file = tmp_path / "codes.csv"
    codes_file.write_bytes(codes if codes is not None else CODES.encode())
    out = tmp_path / "out.parquet"
    result = cli("import", "baci", trade_file, "--codes", codes_file, "--out", out, *extra)
    if result.exit_code != 0:
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if STAGING_MARK in p.name]
    return result, trade_file


@pytest.mark.parametrize(
    ("old", "new", "row", "field", "words"),
    [
        ("10121,25", "1012100,25", 2, "k", "six-digit HS code"),
        ("10121,25", "-10121,25", 2, "k", "six-digit HS code"),
        ("10121,25", "10121.5,25", 2, "k", "six-digit HS code"),
        ("10121,25", "10121,-25", 2, "v", "must not be negative"),
        ("10121,25", "10121,nan", 2, "v", "finite"),
        ("10121,25", "10121,inf", 2, "v", "finite"),
        ("10121,25", "10121,1e308", 2, "v", "thousand USD"),
        ("10121,100,10", "10121,100,-10", 1, "q", "must not be negative"),
        ("10121,100,10", "10121,100,inf", 1, "q", "finite"),
        ("10121,100,10", "10121,100,nan", 1, "q", "finite"),
        ("2021,156,276", "-5,156,276", 1, "t", "year"),
        ("2021,156,276", "2021,99999999999,276", 1, "i", "integer code"),
    ],
)
def test_baci_values_out_of_place(tmp_path: Path, old, new, row, field, words) -> None:
    result, trade = baci(tmp_path, TRADE.replace(old, new, 1).encode())
    one_line_error(result, f"{trade}, row {row}, field '{field}'", words)


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (b"t,i,j,k,v,q" + b"x" * 200_000 + b"\n", "BACI_x.csv", ["row 0", "field limit"]),
        (b"t,i,j,k,v,q,v\n2021,1,2,10121,1,1,1\n", "BACI_x.csv", ["appears twice"]),
        (b"\x1f\x8b\x08\x00garbage", "BACI_x.csv.gz", ["cannot read"]),
        (gzip.compress(TRADE.encode())[:25], "BACI_x.csv.gz", ["cannot read"]),
        (TRADE.replace("t,i", "t\xe9,i").encode("latin-1"), "BACI_x.csv", ["not UTF-8"]),
        (TRADE.encode() + b"2021,156,276,10121,\xe9,1\n", "BACI_x.csv", ["row 3", "unicode"]),
        (TRADE.encode("utf-16"), "BACI_x.csv", ["UTF-16"]),
    ],
    ids=[
        "header-limit",
        "dup-header",
        "corrupt-gz",
        "truncated-gz",
        "latin-1",
        "latin-1-row",
        "utf-16",
    ],
)
def test_baci_unreadable_files(tmp_path: Path, content: bytes, name: str, words) -> None:
    result, trade = baci(tmp_path, content, name=name)
    line = one_line_error(result, *words)
    assert str(trade) in line or "trade files" in line


def test_baci_truncated_gzip_body(tmp_path: Path) -> None:
    body = TRADE.encode() + b"2021,156,276,10121,100,10\n" * 20000
    result, trade = baci(tmp_path, gzip.compress(body)[:-100], name="BACI_x.csv.gz")
    one_line_error(result, str(trade))


def test_baci_codes_utf16(tmp_path: Path) -> None:
    result, _ = baci(tmp_path, TRADE.encode(), codes=CODES.encode("utf-16"))
    one_line_error(result, "codes.csv", "UTF-16")


@pytest.mark.parametrize(
    ("limit", "words"), [("1KB", "too small"), ("lots", "512MB"), ("-5MB", "512MB")]
)
def test_baci_memory_limit(tmp_path: Path, limit: str, words: str) -> None:
    result, _ = baci(tmp_path, TRADE.encode(), "--memory-limit", limit)
    one_line_error(result, "memory limit", words)


def test_baci_out_of_memory_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    from chokepoint.importers import baci as module

    execute = duckdb.DuckDBPyConnection.execute

    def starved(con, sql, *args):
        if sql.lstrip().startswith("COPY"):
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate")
        return execute(con, sql, *args)

    monkeypatch.setattr(module.duckdb.DuckDBPyConnection, "execute", starved)
    result, _ = baci(tmp_path, TRADE.encode())
    one_line_error(result, "ran out of memory", "--memory-limit")


# ------------------------------------------------------------------ usage and warnings


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["frobnicate"], ["No such command 'frobnicate'"]),
        (["run"], ["chokepoint run", "Missing argument"]),
        (["run", "licences-3m", "--draws", "0"], ["--draws"]),
        (["metrics", "--format", "xml"], ["--format"]),
        (["import", "baci", "--frobnicate"], ["No such option: --frobnicate"]),
    ],
)
def test_usage_errors_are_one_line(args, words) -> None:
    one_line_error(cli(*args), *words)


def test_baci_bad_hs_option_is_one_line(tmp_path: Path) -> None:
    result, _ = baci(tmp_path, TRADE.encode(), "--hs", "1")
    one_line_error(result, "HS code", "2, 4 or 6 digits")


@pytest.mark.filterwarnings("default")
def test_warnings_print_one_line_without_source(monkeypatch) -> None:
    main = sys.modules["chokepoint.cli.main"]
    original = main._check_region

    def noisy(region: str) -> str:
        warnings.warn("something odd\nover two lines", UserWarning, stacklevel=1)
        return original(region)

    monkeypatch.setattr(main, "_check_region", noisy)
    result = cli("metrics", "--network", TOY, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["warning: something odd over two lines"]


# ----------------------------------------------------------------- outputs and writing


def test_out_in_proc_fails_before_the_run(monkeypatch) -> None:
    import chokepoint.simulation.run as run

    monkeypatch.setattr(run, "simulate", lambda *a, **k: pytest.fail("the run started"))
    one_line_error(cli("run", "licences-3m", "--out", "/proc/chokepoint-out"), "--out", "/proc")
    one_line_error(cli("run", "licences-3m", "--plot", "/proc/x/chart.png"), "--plot")
    one_line_error(cli("sweep", "licences-3m", "-v", "draws=1", "--out", "/proc/x.csv"), "--out")


def test_out_that_is_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "chart.png"
    os.mkfifo(fifo)
    one_line_error(cli("run", "licences-3m", "--plot", fifo), "FIFO")


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_names_the_file_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    results = simulate(Scenario.from_text(BASE))
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _full_disk)
    with pytest.raises(DataError) as caught:
        results.write(tmp_path / "out")
    assert str(caught.value) == (
        f"{tmp_path / 'out' / 'stats.parquet'}: cannot write: No space left on device"
    )
    assert list(tmp_path.iterdir()) == []


def test_full_disk_on_network_export(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk)
    one_line_error(
        cli("data", "export", tmp_path / "net"),
        f"{tmp_path / 'net' / 'sources.csv'}: cannot write: No space left on device",
    )
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as child:
        child.wait()
    return child.pid


def test_stale_staging_is_cleaned_by_the_next_write(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale_folder = tmp_path / f".out{STAGING_MARK}{dead}-0badc0de"
    stale_folder.mkdir()
    (stale_folder / "stats.parquet").write_bytes(b"half")
    stale_file = tmp_path / f".chart.png{STAGING_MARK}{dead}-0badc0de.png"
    stale_file.write_bytes(b"half")
    alive = tmp_path / f".mine{STAGING_MARK}{os.getpid()}-0badc0de"
    alive.mkdir()
    examples.load("toy").to_folder(tmp_path / "net")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["net", alive.name])
    assert clean_stale_staging(tmp_path) == []


def test_atomic_file_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_file(target) as staging:
        staging.write_text("new", encoding="utf-8")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


@pytest.mark.slow
def test_sigkill_mid_write_leaves_staging_that_the_next_write_removes(tmp_path: Path) -> None:
    code = (
        "import sys, time; from chokepoint.files import staging_folder\n"
        f"with staging_folder({str(tmp_path / 'out')!r}) as s:\n"
        "    (s / 'part').write_text('x'); print('ready', flush=True); time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        child.kill()
        child.wait()
    assert [p for p in tmp_path.iterdir() if STAGING_MARK in p.name]
    with staging_folder(tmp_path / "other"):
        pass
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- absurd work


def test_a_million_draws_needs_the_flag(monkeypatch) -> None:
    result = cli("run", "licences-3m", "--draws", "1000000")
    one_line_error(result, "field 'draws'", "1,000,000 draws", "--allow-large")


def test_memory_estimate_refuses_before_the_run() -> None:
    scenario = Scenario.from_text(BASE.replace("draws: 1", "draws: 50000"))
    net = SupplyNetwork.from_folder(TOY)
    cost = budget.estimate(
        budget.workload_of(scenario, net, keep_daily=True, chunk_size=500, band_draws=1000)
    )
    assert cost.memory_bytes > 1e9  # daily trajectories of 50,000 draws
    with pytest.raises(ScenarioError, match="of memory"):
        budget.check(cost, memory=1e9)
    budget.check(cost, memory=1e9, allow_large=True)


def test_estimate_by_hand() -> None:
    work = budget.Workload(
        draws=1000,
        horizon_days=100,
        links=10,
        producers=5,
        demands=2,
        slots=12,
        product_groups=3,
        stock_groups=4,
        gated_links=2,
        chunk_size=500,
        band_draws=1000,
    )
    cost = budget.estimate(work)
    assert cost.updates == 10 * 100 * 1000
    chunk = 8 * 500 * (3 * 10 + 14 * 5 + 10 * 12 + 100 * (3 + 4 + 1 + 2))
    kept = 1000 * 3 * 160 + 2 * 4 * 100 * 1000 * (3 + 4)
    assert cost.memory_bytes == budget.BASE_BYTES + 2048 * 10 + chunk + kept
    # goods in transit (a ring per holder, and per link with keep_daily) and trade flows
    flows = dataclasses.replace(work, transit_slots=6, ring_days=36, trade_groups=7)
    chunk += 8 * 500 * 6 * 36 + 7 * 200 * (2 * 4 * 100 + 8 * 36)
    kept += 2 * 4 * 100 * 200 * 2 * 7
    assert budget.estimate(flows).memory_bytes == budget.BASE_BYTES + 2048 * 10 + chunk + kept


def test_too_many_updates_is_refused() -> None:
    cost = budget.Estimate(updates=2e11, memory_bytes=1e6, draws=10)
    with pytest.raises(ScenarioError, match="updates"):
        budget.check(cost, memory=1e12)


def test_a_thousand_and_one_events() -> None:
    event = "  - {type: export_ban, exporter: CHN}\n"
    error = scenario_error(BASE.split("events:")[0] + "events:\n" + event * 1001)
    assert error.field == "events"


def test_shipped_toy_is_untouched_by_these_tests() -> None:
    assert not [p for p in Path(TOY).iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kind", ["[]", "{}", "5", "null"])
def test_event_type_that_is_not_a_name(kind: str) -> None:
    error = scenario_error(BASE.replace("type: export_ban", f"type: {kind}"))
    assert error.field == "events[0]" and "unknown event type" in str(error)


def test_baci_unknown_country_name_is_one_line(tmp_path: Path) -> None:
    codes = (CODES + "999,Atlantis Republic,,\n").encode()
    result, trade = baci(tmp_path, (TRADE + "2021,999,276,10121,1,1\n").encode(), codes=codes)
    one_line_error(result, f"{trade}, row 3, field 'i'", "Atlantis Republic")


def test_baci_out_in_proc_fails_before_reading(tmp_path: Path) -> None:
    trade = tmp_path / "BACI_x.csv"
    trade.write_text(TRADE, encoding="utf-8")
    codes = tmp_path / "codes.csv"
    codes.write_text(CODES, encoding="utf-8")
    result = cli("import", "baci", trade, "--codes", codes, "--out", "/proc/x/shares.parquet")
    one_line_error(result, "--out", "/proc")


def test_the_memory_estimate_counts_firms_as_the_compiled_run_does() -> None:
    # a holder declared as 300 firms is split at compile time: the estimate must see it
    sys.path.insert(0, str(Path(__file__).parent))
    from netbuild import firms_chain

    from chokepoint.simulation.chunks import compiled_sizes, prepare

    net = firms_chain(300, 0.5)
    scenario = Scenario.from_text("name: f\ndraws: 10\nevents: []\n")
    sizes = compiled_sizes(prepare(scenario, net, keep=True))
    assert sizes.links >= 300 and sizes.producers >= 300
    common = {"keep_daily": True, "chunk_size": 500, "band_draws": 1000}
    lean = budget.estimate(budget.workload_of(scenario, net, **common))
    exact = budget.estimate(budget.workload_of(scenario, net, **common, compiled=sizes))
    assert exact.memory_bytes > lean.memory_bytes
    assert exact.updates == sizes.links * scenario.horizon_days * 10
