"""The dashboard's "find the cheapest mix" over the JSON API: bad requests get a 4xx and one
clear message at once; a search runs in its own worker process, reports progress lines and
ends with a portfolio and the engine's check on fresh draws."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from chokepoint.web import create_app
from chokepoint.web.server import BackgroundServer


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("optimise-store")
    with BackgroundServer(create_app(store=store, workers=1, max_draws=200)) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            yield http


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"]
    return body["error"]


def test_bad_searches_are_refused_at_once(client):
    assert "either 'preset' or 'upload'" in error_of(
        client.post("/api/optimise", json={"target": "pstop:car_bev@EU27<=0.05"}), 422
    )
    bad = {"preset": "ree-2025-04", "target": "pstop:car_bev@EU27<=2"}
    assert "at most 1" in error_of(client.post("/api/optimise", json=bad), 422)
    bad = {"preset": "ree-2025-04", "target": "nonsense"}
    assert "expected KIND" in error_of(client.post("/api/optimise", json=bad), 422)
    bad = {"preset": "ree-2025-04", "draws": 10_000}
    assert "draws" in error_of(client.post("/api/optimise", json=bad), 422)
    bad = {"preset": "ree-2025-04", "check_draws": 5000}
    assert "check_draws" in error_of(client.post("/api/optimise", json=bad), 422)
    assert "no preset" in error_of(client.post("/api/optimise", json={"preset": "nope"}), 404)
    assert "no search" in error_of(client.get("/api/optimise/unknown"), 404)


@pytest.mark.slow
def test_a_search_reports_progress_and_a_checked_portfolio(client):
    order = {"preset": "ree-2025-04", "target": "pstop:car_bev@EU27<=0.05", "draws": 4}
    started = client.post("/api/optimise", json={**order, "check_draws": 4})
    assert started.status_code == 202, started.text
    search = started.json()
    assert search["status"] in ("queued", "running") and search["target"] == order["target"]
    deadline, seen = time.monotonic() + 240, set()
    while time.monotonic() < deadline:
        assert client.get("/api/health").status_code == 200  # the event loop stays free
        search = client.get(f"/api/optimise/{search['id']}").json()
        seen.add(search["status"])
        if search["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert search["status"] == "done", search["error"]
    assert any("second-stage" in line for line in search["progress"]), search["progress"]
    result = search["result"]
    assert result["cost"] >= 0 and result["candidates"] > 0
    estimates = {row["estimate"] for row in result["check"]}
    assert estimates == {"optimiser, in-sample", "engine, same draws", "engine, fresh draws"}
    for row in result["check"]:
        assert 0 <= row["stoppage_probability"] <= 0.05 + 1e-9 or row["estimate"] != (
            "optimiser, in-sample"
        )
