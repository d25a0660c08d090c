"""Runs outlive the server: a dashboard run is in the store after a restart, listed, opened
with the same numbers and charts, compared, downloaded; CLI runs are listed there too."""

from __future__ import annotations

import shutil
import time

import httpx
import pytest

from chokepoint.store import RunStore
from chokepoint.web import create_app
from chokepoint.web.server import BackgroundServer


def wait(http: httpx.Client, run_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = http.get(f"/api/runs/{run_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_runs_survive_a_restart(tmp_path):
    store = tmp_path / "store"
    orders = [
        {"preset": "licences-3m", "draws": 3, "seed": 11},
        {"preset": "licences-3m", "draws": 3, "seed": 11, "knobs": {"validity_days": 365}},
    ]
    with BackgroundServer(create_app(store=store)) as first:
        with httpx.Client(base_url=first.url, timeout=60) as http:
            ids = [http.post("/api/runs", json=order).json()["id"] for order in orders]
            before = {}
            for run_id in ids:
                assert wait(http, run_id)["status"] == "done"
                before[run_id] = http.get(f"/api/runs/{run_id}/result").json()
    assert RunStore(store).count() == 2
    with BackgroundServer(create_app(store=store)) as second:
        with httpx.Client(base_url=second.url, timeout=60) as http:
            listed = http.get("/api/runs").json()
            assert listed["total"] == 2
            assert [r["id"] for r in listed["runs"]] == ids[::-1]  # newest first
            adjusted = listed["runs"][0]
            assert adjusted["label"] == "licences-3m (validity 365 d)"
            assert adjusted["settings"] == "validity 365 d" and adjusted["available"]
            assert adjusted["seed"] == 11 and adjusted["draws"] == 3
            assert "folder" not in adjusted  # no local paths over the web
            for run_id in ids:
                state = http.get(f"/api/runs/{run_id}").json()
                assert state["status"] == "done" and state["source"] == "dashboard"
                after = http.get(f"/api/runs/{run_id}/result").json()
                assert after["key_numbers"] == before[run_id]["key_numbers"]
                assert after["summary"] == before[run_id]["summary"]
                assert set(after["figures"]) == set(before[run_id]["figures"])
                assert (
                    after["figures"]["output"]["data"]
                    == (before[run_id]["figures"]["output"]["data"])
                )
                assert "network" in after["figures"]  # the scenario was kept with the run
            report = http.get("/api/report", params={"runs": ids})
            assert report.status_code == 200 and "chokepoint-figure" in report.text
            assert http.get(f"/api/runs/{ids[0]}/download").status_code == 200
            assert http.get(f"/api/runs/{ids[0]}/charts/lost_value.csv").status_code == 200


def test_cli_runs_are_listed_and_open_in_the_dashboard(tmp_path):
    from typer.testing import CliRunner

    from chokepoint.cli.main import app

    store, out = tmp_path / "store", tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", "licences-12m", "--draws", "2", "--out", str(out), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    run_id = result.output.split("recorded as run ")[1].split(")")[0]
    with BackgroundServer(create_app(store=store)) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            listed = http.get("/api/runs").json()["runs"]
            assert [(r["id"], r["source"]) for r in listed] == [(run_id, "cli")]
            opened = http.get(f"/api/runs/{run_id}/result").json()
            assert opened["summary"]["metadata"]["scenario"] == "licences-12m"
            assert {"output", "licensing", "network"} <= set(opened["figures"])
            shutil.rmtree(out)  # the user moved their folder
            listed = http.get("/api/runs").json()["runs"]
            assert listed[0]["available"] is False
            gone = http.get(f"/api/runs/{run_id}/download")
            assert gone.status_code == 410 and "moved or deleted" in gone.json()["error"]


@pytest.mark.parametrize("limit", [1, 2])
def test_the_list_pages(tmp_path, limit):
    from chokepoint.store import RunRecord, new_run_id

    store = RunStore(tmp_path)
    for number in range(3):
        store.add(
            RunRecord(
                id=new_run_id(),
                source="cli",
                label=f"run {number}",
                scenario="x",
                folder=str(tmp_path / "none"),
                created=1000.0 + number,
            )
        )
    with BackgroundServer(create_app(store=store)) as server:
        page = httpx.get(f"{server.url}/api/runs", params={"limit": limit, "offset": 1}).json()
    assert page["total"] == 3
    assert [r["label"] for r in page["runs"]] == ["run 1", "run 0"][:limit]
