"""The command line, end to end: output formats, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chokepoint import examples
from chokepoint.cli.main import app

runner = CliRunner()
TOY = str(examples.folder("toy"))


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=True)


def test_metrics_json_fields_on_toy() -> None:
    result = invoke("metrics", "--network", TOY, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["commodity"]: r for r in json.loads(result.output)}
    magnet = rows["magnet"]
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
        assert field in magnet
    assert magnet["supplier_shares"] == {"CHN": 0.8, "DEU": 0.2}
    assert magnet["hhi"] == pytest.approx(6800)
    assert magnet["crma_65_breach"] is False and magnet["strategic"] is False
    assert rows["dy_oxide"]["crma_65_breach"] is True


def test_metrics_csv_flattens_shares() -> None:
    result = invoke("metrics", "--network", TOY, "--format", "csv", "--commodity", "oxide")
    assert result.exit_code == 0
    header, line = result.output.strip().splitlines()
    assert "supplier_shares" in header.split(",")
    assert "CHN:0.6;MYS:0.4" in line


def test_origins_json() -> None:
    result = invoke("origins", "motor", "--network", TOY, "--traced", "magnet", "-f", "json")
    assert result.exit_code == 0
    shares = {r["country"]: r["share"] for r in json.loads(result.output)}
    assert shares == pytest.approx({"CHN": 0.8, "DEU": 0.2})


def test_validate_ok_prints_counts() -> None:
    result = invoke("validate", TOY)
    assert result.exit_code == 0
    assert "11 producers" in " ".join(result.output.split())


def test_data_schema_matches_docs() -> None:
    result = invoke("data", "schema")
    docs = Path(__file__).parents[1] / "docs" / "schema.md"
    assert result.output == docs.read_text(encoding="utf-8"), "run `make docs` to regenerate"


def test_help_everywhere() -> None:
    for args in ([], ["metrics"], ["origins"], ["validate"], ["data", "export"], ["demo"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0
        assert "Usage" in result.output


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from chokepoint.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.mark.slow
def test_bad_network_exits_2_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    examples.load("toy").to_folder(folder)
    links = folder / "links.csv"
    links.write_text(links.read_text().replace("mag_chn,motor_deu,0.8", "mag_chn,motor_deu,0.7"))
    result = run_cli("validate", str(folder))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {links}, row 3, field 'share': ")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_debug_shows_traceback(tmp_path: Path) -> None:
    result = run_cli("--debug", "validate", str(tmp_path / "missing"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


@pytest.mark.slow
def test_export_writes_nothing_on_refusal(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    first = run_cli("data", "export", str(target))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    second = run_cli("data", "export", str(target), "--format", "parquet")
    assert second.returncode == 2
    assert len(second.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.slow
def test_export_then_validate_round_trip(tmp_path: Path) -> None:
    target = tmp_path / "start"
    assert run_cli("data", "export", str(target)).returncode == 0
    result = run_cli("validate", str(target))
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_demo_runs() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "China's share of the rare-earth content" in result.stdout
    assert "What the 3-month headline" in result.stdout
