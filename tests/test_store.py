"""The run store: where it lives, its versioned schema, records in and out, and the
``chokepoint runs`` commands over runs recorded by ``chokepoint run --out``."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chokepoint.errors import ChokepointError
from chokepoint.store import SCHEMA_VERSION, STORE_ENV, RunRecord, RunStore, new_run_id, store_path
from chokepoint.store import db as store_db


def record(run_id: str | None = None, **changes) -> RunRecord:
    values = {
        "id": run_id or new_run_id(),
        "source": "cli",
        "label": "licences-3m",
        "scenario": "licences-3m",
        "folder": "/nowhere/run",
        "seed": 7,
        "draws": 10,
        "summary": {"lost_value": 1.5e9, "stopping": 3, "first_stop": None},
    }
    values.update(changes)
    return RunRecord(**values)


# ------------------------------------------------------------------------------ location


def test_store_path_order_of_precedence(tmp_path):
    home = {"HOME": str(tmp_path / "home")}
    assert store_path(None, home) == tmp_path / "home" / ".local" / "share" / "chokepoint"
    xdg = {**home, "XDG_DATA_HOME": str(tmp_path / "data")}
    assert store_path(None, xdg) == tmp_path / "data" / "chokepoint"
    relative = {**home, "XDG_DATA_HOME": "relative/data"}  # XDG: relative paths are ignored
    assert store_path(None, relative) == tmp_path / "home" / ".local" / "share" / "chokepoint"
    named = {**xdg, STORE_ENV: str(tmp_path / "named")}
    assert store_path(None, named) == tmp_path / "named"
    assert store_path(tmp_path / "option", named) == tmp_path / "option"
    assert store_path("  ", named) == tmp_path / "named"


def test_the_suite_never_uses_the_real_data_directory(run_store):
    assert store_path() == run_store
    assert not run_store.is_relative_to(Path.home() / ".local" / "share")


# -------------------------------------------------------------------------------- schema


def test_a_new_store_has_the_current_schema_and_reopens(tmp_path):
    store = RunStore(tmp_path / "store")
    assert store.schema_version == SCHEMA_VERSION >= 1
    store.add(record("aaaa0001"))
    again = RunStore(tmp_path / "store")
    assert again.schema_version == SCHEMA_VERSION
    assert [r.id for r in again.runs()] == ["aaaa0001"]


def test_a_store_from_a_newer_chokepoint_is_refused(tmp_path):
    RunStore(tmp_path)
    with sqlite3.connect(tmp_path / store_db.DATABASE) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ChokepointError, match="newer than this chokepoint knows"):
        RunStore(tmp_path)


def test_migrations_upgrade_an_old_store_and_keep_its_runs(tmp_path, monkeypatch):
    old = RunStore(tmp_path)
    old.add(record("bbbb0001", label="kept"))
    step = ("ALTER TABLE runs ADD COLUMN note TEXT DEFAULT 'new'",)
    monkeypatch.setattr(store_db, "MIGRATIONS", [*store_db.MIGRATIONS, step])
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    upgraded = RunStore(tmp_path)
    assert upgraded.schema_version == SCHEMA_VERSION + 1
    assert upgraded.get("bbbb0001").label == "kept"
    with sqlite3.connect(tmp_path / store_db.DATABASE) as connection:
        assert connection.execute("SELECT note FROM runs").fetchone() == ("new",)


def test_a_file_that_is_not_a_store_is_one_clear_error(tmp_path):
    (tmp_path / store_db.DATABASE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ChokepointError, match="runs.sqlite"):
        RunStore(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ChokepointError, match="cannot create it|not a folder"):
        RunStore(tmp_path / "file")


# ------------------------------------------------------------------------------- records

summaries = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(-(2**53), 2**53), st.floats(), st.text(max_size=20)),
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    label=st.text(max_size=60),
    seed=st.one_of(st.none(), st.integers(0, 2**63 - 1), st.integers(2**63, 10**40)),
    draws=st.one_of(st.none(), st.integers(1, 10**6)),
    owned=st.booleans(),
    summary=summaries,
)
def test_records_round_trip(tmp_path, label, seed, draws, owned, summary):
    store = RunStore(tmp_path / "roundtrip")
    written = record(label=label, seed=seed, draws=draws, owned=owned, summary=summary)
    store.add(written)
    read = store.get(written.id)
    expected = {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in summary.items()
    }
    assert read.summary == pytest.approx(expected, nan_ok=False)
    assert (read.label, read.seed, read.draws, read.owned) == (label, seed, draws, owned)
    store.delete(written.id)


def test_runs_newest_first_with_limit_offset_and_source(tmp_path):
    store = RunStore(tmp_path)
    for number in range(5):
        source = "dashboard" if number % 2 else "cli"
        store.add(record(f"cccc000{number}", created=1000.0 + number, source=source))
    assert [r.id for r in store.runs()] == [f"cccc000{n}" for n in (4, 3, 2, 1, 0)]
    assert [r.id for r in store.runs(limit=2, offset=1)] == ["cccc0003", "cccc0002"]
    assert [r.id for r in store.runs(source="dashboard")] == ["cccc0003", "cccc0001"]
    assert store.count() == 5 and store.count("cli") == 3


def test_find_by_prefix(tmp_path):
    store = RunStore(tmp_path)
    store.add(record("abcd1234ef"))
    store.add(record("abcd9999ef"))
    assert store.find("ABCD1234EF").id == "abcd1234ef"
    assert store.find("abcd12").id == "abcd1234ef"
    with pytest.raises(ChokepointError, match="more than one run"):
        store.find("abcd")
    with pytest.raises(ChokepointError, match="at least 4 digits"):
        store.find("abc")
    with pytest.raises(ChokepointError, match="hex digits"):
        store.find("../etc")
    with pytest.raises(ChokepointError, match="no run 'ffff'"):
        store.find("ffff")
    with pytest.raises(KeyError):
        store.get("ffffffff")


def test_bad_records_are_refused(tmp_path):
    with pytest.raises(ChokepointError, match="hex digits"):
        record("not-hex")
    with pytest.raises(ChokepointError, match="source"):
        record(source="web")
    store = RunStore(tmp_path)
    store.add(record("dddd0001"))
    with pytest.raises(ChokepointError, match="already recorded"):
        store.add(record("dddd0001"))
    with pytest.raises(ChokepointError, match="hex digits"):
        store.run_folder("../../x")


def test_delete_removes_only_files_the_store_owns(tmp_path):
    store = RunStore(tmp_path / "store")
    owned = store.run_folder("eeee0001")
    owned.mkdir(parents=True)
    (owned / "result.json").write_text("{}")
    outside = tmp_path / "mine"
    outside.mkdir()
    store.add(record("eeee0001", folder=str(owned), owned=True))
    store.add(record("eeee0002", folder=str(outside), owned=False))
    store.add(record("eeee0003", folder=str(outside), owned=True))  # a tampered record
    store.delete("eeee0001")
    store.delete("eeee0002")
    store.delete("eeee0003")
    assert not owned.exists()
    assert outside.is_dir()
    assert store.count() == 0
    with pytest.raises(KeyError):
        store.delete("eeee0001")


def test_concurrent_writers_all_land(tmp_path):
    store = RunStore(tmp_path)
    errors: list[Exception] = []

    def write(number: int) -> None:
        try:
            for index in range(10):
                RunStore(tmp_path).add(record(f"{number:04x}{index:04x}"))
        except Exception as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.count() == 60


# ----------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, list[str], list[Path]]:
    """Two CLI runs written with --out and recorded in a store of their own."""
    from chokepoint.cli.main import app

    store = tmp_path_factory.mktemp("cli-store")
    base = tmp_path_factory.mktemp("cli-out")
    ids, folders = [], []
    for name in ("licences-3m", "licences-12m"):
        out = base / name
        result = CliRunner().invoke(
            app, ["run", name, "--draws", "2", "--out", str(out), "--store", str(store)]
        )
        assert result.exit_code == 0, result.output
        assert "recorded as run" in result.output
        ids.append(result.output.split("recorded as run ")[1].split(")")[0])
        folders.append(out)
    return store, ids, folders


def runs_cli(*args: str):
    from chokepoint.cli.main import app

    return CliRunner().invoke(app, ["runs", *args])


def test_run_out_is_recorded_with_what_ran(recorded):
    store, ids, folders = recorded
    listed = runs_cli("list", "--store", str(store), "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = {row["id"]: row for row in json.loads(listed.output)}
    assert set(rows) == set(ids)
    first = rows[ids[0]]
    assert first["source"] == "cli" and first["scenario"] == "licences-3m"
    assert first["folder"] == str(folders[0].resolve()) and first["files"] is True
    assert first["draws"] == 2 and first["seed"] == 20250404
    meta = json.loads((folders[0] / "result.json").read_text())["metadata"]
    assert first["data_version"] == meta["data_version"]
    assert first["package_version"] == meta["package_version"]
    assert first["summary"]["lost_value"] >= 0 and first["summary"]["gated_days"] > 0
    table = runs_cli("list", "--store", str(store))
    assert ids[0] in table.output and "licences-12m" in table.output


def test_runs_show_compare_and_report(recorded, tmp_path):
    store, ids, _ = recorded
    shown = runs_cli("show", ids[1][:6], "--store", str(store))
    assert shown.exit_code == 0, shown.output
    assert ids[1] in shown.output and "licences-12m" in shown.output
    compared = runs_cli(
        "compare", *ids, "--store", str(store), "--report", str(tmp_path / "c.html")
    )
    assert compared.exit_code == 0, compared.output
    assert "lost value" in compared.output and "wrote" in compared.output
    assert "chokepoint-figure" in (tmp_path / "c.html").read_text(encoding="utf-8")
    data = json.loads(runs_cli("compare", *ids, "--store", str(store), "-f", "json").output)
    # 3m licences leave contracts without a valid licence longer (two draws decide no more)
    assert data[0]["summary"]["gated_days"] > data[1]["summary"]["gated_days"]


def test_runs_errors_are_one_line(recorded):
    store, ids, _ = recorded
    for args, words in (
        (("show", "ffffff"), "no run 'ffffff'"),
        (("compare", ids[0]), "two to 4"),
        (("delete", ids[0][:6]), "full id"),
        (("list", "--source", "web"), "--source"),
    ):
        result = runs_cli(*args, "--store", str(store))
        assert result.exit_code != 0
        assert words in str(result.exception) or words in result.output


def test_runs_delete_keeps_the_out_folder(tmp_path):
    from chokepoint.cli.main import app

    store, out = tmp_path / "store", tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", "licences-3m", "--draws", "1", "--out", str(out), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    run_id = result.output.split("recorded as run ")[1].split(")")[0]
    deleted = runs_cli("delete", run_id, "--store", str(store))
    assert deleted.exit_code == 0 and "files stay" in deleted.output
    assert (out / "result.json").is_file()
    assert RunStore(store).count() == 0


def test_an_unwritable_store_warns_but_the_run_succeeds(tmp_path, capsys):
    from chokepoint.cli.runs import record_cli_run
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.run import simulate

    results = simulate(load_scenario("licences-3m"), draws=1)
    out = results.write(tmp_path / "out")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store should be")
    assert record_cli_run(results, out, blocker / "store") is None
    assert "not recorded in the run store" in capsys.readouterr().err
