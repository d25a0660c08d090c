"""The JSON API over a real server on a free port: presets, uploads (bad ones get a 4xx and
one clear message), runs in workers that do not mix, downloads, chart data and reports."""

from __future__ import annotations

import concurrent.futures
import io
import re
import time
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from chokepoint.scenario import load_scenario, presets_folder
from chokepoint.simulation.run import simulate
from chokepoint.web import create_app
from chokepoint.web.server import BackgroundServer

DRAWS = 6
LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("api-store")
    with BackgroundServer(create_app(store=store, workers=3, max_draws=200)) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            yield http


def wait(client: httpx.Client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/runs/{run_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def one_error(response: httpx.Response, status: int, *words: str) -> str:
    """The response is an error with only a one-line message, containing ``words``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


def upload(client: httpx.Client, content: bytes, name: str = "scenario.yaml") -> httpx.Response:
    return client.post("/api/scenarios", files={"file": (name, content, "application/x-yaml")})


def test_presets_and_their_knobs(client):
    names = [p["name"] for p in client.get("/api/presets").json()]
    assert {"licences-3m", "licences-12m", "nexperia-2025-10"} <= set(names)
    licensing = client.get("/api/presets/licences-3m").json()
    assert licensing["knobs"]["licensing"] is True
    assert licensing["knobs"]["validity_days"] == 90
    assert licensing["knobs"]["commodities"][0]["id"] == "ndfeb_magnet"
    assert "validity_days: 90" in licensing["yaml"]
    ban = client.get("/api/presets/nexperia-2025-10").json()
    assert ban["knobs"]["licensing"] is False and ban["knobs"]["validity_days"] is None
    one_error(client.get("/api/presets/nope"), 404, "no preset 'nope'", "licences-3m")


def test_docs_dashboard_and_local_plotly(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", docs.text)
    assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
    assert "http" not in docs.text.replace("http-equiv", "")
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/presets", "/api/scenarios", "/api/runs", "/api/runs/{run_id}/result"):
        assert path in paths
    page = client.get("/").text
    assert "/vendor/plotly.min.js" in page and "cdn" not in page
    script = client.get("/vendor/plotly.min.js")
    assert script.status_code == 200 and "plotly.js v" in script.text[:200]
    assert client.get("/static/app.js").status_code == 200


def test_upload_invalid_yaml(client):
    one_error(upload(client, b"name: [unclosed\n"), 422, "not valid YAML", "line")


def test_upload_unknown_field(client):
    text = b"name: mine\nhorizon_days: 30\nsurprise: 1\n"
    one_error(upload(client, text, "mine.yaml"), 422, "upload:mine.yaml", "surprise", "unknown key")
    event = b"name: x\nevents:\n  - type: export_ban\n    exporter: CHN\n    colour: red\n"
    one_error(upload(client, event), 422, "events[0].colour", "unknown key")


def test_upload_checked_against_the_network(client):
    text = (
        b"name: x\nevents:\n  - type: export_ban\n    exporter: CHN\n    commodity: unobtainium\n"
    )
    one_error(upload(client, text), 422, "unknown commodity 'unobtainium'")
    other = b"name: x\nnetwork: /etc\n"
    one_error(upload(client, other), 422, "default network only")
    many = b"name: x\ndraws: 5000\n"
    one_error(upload(client, many, "many.yaml"), 422, "upload:many.yaml", "'draws'", "at most 200")
    # found only when the model is compiled: refused at upload, not when it runs
    stock = (
        b"name: x\nevents:\n  - type: stockpile\n    commodity: ndpr_oxide\n"
        b"    regions: [EU27]\n    days_of_cover: 30\n"
    )
    one_error(upload(client, stock), 422, "events[0]", "no holder uses 'ndpr_oxide'")


def test_upload_oversized(client):
    # announced size over the limit: refused before reading
    one_error(upload(client, b"#" * (LIMIT + 64 * 1024)), 413, "256 KiB")
    # just over the limit
    one_error(upload(client, b"#" * (LIMIT + 1)), 413, "256 KiB")

    def chunks() -> Iterator[bytes]:  # no Content-Length: found out while reading
        boundary = b"--x\r\nContent-Disposition: form-data; name=file; filename=a.yaml\r\n\r\n"
        yield boundary
        for _ in range(40):
            yield b"#" * 16 * 1024
        yield b"\r\n--x--\r\n"

    response = client.post(
        "/api/scenarios",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    one_error(response, 413, "256 KiB")


def test_upload_not_text_or_empty(client):
    one_error(upload(client, b"\xff\xfe\x00name"), 422, "UTF-8")
    one_error(upload(client, b"  \n"), 422, "empty")
    one_error(upload(client, b"- a list\n"), 422, "mapping")


def test_bad_run_requests(client):
    one_error(client.post("/api/runs", json={}), 422, "either 'preset' or 'upload'")
    one_error(client.post("/api/runs", json={"preset": "nope"}), 404, "no preset")
    one_error(client.post("/api/runs", json={"upload": "nope"}), 404, "no such upload")
    one_error(
        client.post("/api/runs", json={"preset": "licences-3m", "draws": 5000}), 422, "at most 200"
    )
    one_error(
        client.post("/api/runs", json={"preset": "licences-3m", "knobs": {"colour": 1}}),
        422,
        "knobs.colour",
    )
    one_error(
        client.post("/api/runs", json={"preset": "licences-3m", "knobs": {"validity_days": -5}}),
        422,
        "knobs.validity_days",
    )
    bad_stock = {"stockpile_days": 30, "stockpile_commodity": "unobtainium"}
    one_error(
        client.post("/api/runs", json={"preset": "licences-3m", "knobs": bad_stock}),
        422,
        "unknown commodity 'unobtainium'",
    )
    one_error(client.get("/api/runs/nope"), 404, "no run 'nope'")
    one_error(client.get("/api/runs/nope/result"), 404)
    one_error(client.get("/api/report", params={"runs": ["nope"]}), 404)
    one_error(client.get("/api/nothing"), 404)


def test_knobs_that_cannot_run_are_refused_before_running(client):
    knobs = {"stockpile_days": 30, "stockpile_commodity": "ndpr_oxide"}  # no EU holder
    started = client.post("/api/runs", json={"preset": "licences-3m", "draws": 2, "knobs": knobs})
    one_error(started, 422, "no holder uses 'ndpr_oxide'")


def test_upload_then_run_then_download(client):
    text = (presets_folder() / "nexperia-2025-10.yaml").read_bytes()
    uploaded = upload(client, text, "my scenario.yaml")
    assert uploaded.status_code == 201, uploaded.text
    token = uploaded.json()["token"]
    assert uploaded.json()["scenario"] == "nexperia-2025-10"
    started = client.post("/api/runs", json={"upload": token, "draws": 3, "seed": 7})
    assert started.status_code == 202
    state = wait(client, started.json()["id"])
    assert state["status"] == "done" and state["progress"] == {"done": 3, "total": 3}
    result = client.get(f"/api/runs/{state['id']}/result").json()
    assert result["summary"]["metadata"]["seed"] == 7
    assert result["summary"]["metadata"]["scenario_file"].startswith("dashboard:upload")
    assert {"output", "survive", "lost_share", "network", "timeline"} <= set(result["figures"])
    assert "licensing" not in result["figures"]
    archive = client.get(f"/api/runs/{state['id']}/download")
    assert archive.headers["content-type"] == "application/zip"
    assert (
        f'filename="chokepoint-nexperia-2025-10-{state["id"][:8]}.zip"'
        in (archive.headers["content-disposition"])
    )
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "nexperia-2025-10/result.json" in names and "nexperia-2025-10/bands.parquet" in names
    assert "nexperia-2025-10/scenario.yaml" in names
    assert all(not n.startswith(("/", ".")) and ".." not in n for n in names)
    report = client.get("/api/report", params={"runs": [state["id"]]})
    assert report.status_code == 200 and "chokepoint-figure" in report.text


def test_concurrent_runs_do_not_mix(client):
    """Three runs at once on three workers: each result is the one its own request asked
    for, identical to running that scenario alone."""
    orders = {
        "3m": {"preset": "licences-3m", "draws": DRAWS},
        "12m": {"preset": "licences-12m", "draws": DRAWS},
        "3m as 12m": {"preset": "licences-3m", "draws": DRAWS, "knobs": {"validity_days": 365}},
    }
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        started = dict(
            zip(
                orders,
                pool.map(lambda o: client.post("/api/runs", json=o).json(), orders.values()),
                strict=True,
            )
        )
    states = {key: wait(client, run["id"]) for key, run in started.items()}
    assert all(state["status"] == "done" for state in states.values())
    overlap = max(s["created"] for s in states.values()) < min(
        s["finished"] for s in states.values()
    )
    assert overlap  # they were in flight at the same time
    results = {k: client.get(f"/api/runs/{s['id']}/result").json() for k, s in states.items()}

    def lost(key: str) -> dict[tuple[str, str], float]:
        return {
            (row["product"], row["region"]): row["lost_output_mean"]
            for row in results[key]["summary"]["products"]
        }

    alone = {
        name: simulate(load_scenario(name), draws=DRAWS).stats
        for name in ("licences-3m", "licences-12m")
    }
    for key, name in (("3m", "licences-3m"), ("12m", "licences-12m")):
        assert results[key]["summary"]["metadata"]["scenario"] == name
        expected = {
            (p, r): v
            for p, r, v in zip(
                alone[name]["product"],
                alone[name]["region"],
                alone[name]["lost_output_mean"],
                strict=True,
            )
        }
        assert lost(key) == pytest.approx(expected)
    # licences-3m with a one-year validity is licences-12m under another name
    assert lost("3m as 12m") == pytest.approx(lost("12m"))
    assert lost("3m") != pytest.approx(lost("12m"))
    assert results["3m as 12m"]["label"] == "licences-3m (validity 365 d)"
    numbers = {k: r["key_numbers"] for k, r in results.items()}
    assert numbers["12m"]["gated_days"] < numbers["3m"]["gated_days"]


def test_malformed_json_and_internal_errors_stay_one_line(tmp_path):
    app = create_app(store=tmp_path)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as http:
        bad = http.post(
            "/api/runs", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        one_error(bad, 422, "invalid request")
        message = one_error(http.get("/api/boom"), 500, "internal error")
        assert "secret" not in message


def test_too_many_waiting_runs_are_refused(tmp_path):
    from chokepoint.store import RunStore
    from chokepoint.web.runs import Busy, RunManager

    manager = RunManager(store=RunStore(tmp_path), workers=1, max_pending=1)
    scenario = load_scenario("licences-3m")
    first = manager.submit(scenario, label="first")
    with pytest.raises(Busy, match="try again"):
        manager.submit(scenario, label="second")
    manager.shutdown()  # before the run's worker process is even ready
    assert first.snapshot()["status"] == "failed"
    assert "server stopped" in first.snapshot()["error"]


def test_serve_command_binds_loopback_by_default(monkeypatch, tmp_path):
    import typer
    from typer.testing import CliRunner

    from chokepoint.cli.show import serve_command

    calls = []
    monkeypatch.setattr(
        "chokepoint.web.server.serve", lambda *args, **options: calls.append((args, options))
    )
    app = typer.Typer()
    app.command("serve")(serve_command)
    app.command("other")(lambda: None)
    store = str(tmp_path / "store")
    result = CliRunner().invoke(app, ["serve", "--port", "8123", "--store", store])
    assert result.exit_code == 0, result.output
    assert calls[0][0][1:] == ("127.0.0.1", 8123)
    assert "http://127.0.0.1:8123/ " in result.output and "token" not in result.output
    assert f"runs are kept in {store}" in result.output
    exposed = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--store", store])
    assert exposed.exit_code == 0, exposed.output
    assert re.search(r"http://0\.0\.0\.0:8000/\?token=[\w-]{20,}", exposed.output)
    open_ = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--no-token", "--store", store])
    assert open_.exit_code == 0 and "without a token" in open_.output
    short = CliRunner().invoke(app, ["serve", "--token", "abc", "--store", store])
    assert short.exit_code != 0


def test_every_chart_offers_its_data_as_csv(client):
    import csv

    started = client.post("/api/runs", json={"preset": "licences-3m", "draws": 3})
    state = wait(client, started.json()["id"])
    figures = client.get(f"/api/runs/{state['id']}/result").json()["figures"]
    for key, figure in figures.items():
        response = client.get(f"/api/runs/{state['id']}/charts/{key}.csv")
        assert response.status_code == 200, key
        assert response.headers["content-type"].startswith("text/csv")
        assert f"-{key}.csv" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        points = sum(max(len(t.get("x") or []), len(t.get("y") or [])) for t in figure["data"])
        assert len(rows) == points, key
    output = figures["output"]
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/api/runs/{state['id']}/charts/output.csv").text))
    )
    median = next(i for i, t in enumerate(output["data"]) if t.get("name") == "median")
    first = [r for r in rows if r["trace"] == str(median)]
    assert [float(r["y"]) for r in first] == pytest.approx(output["data"][median]["y"])
    assert first[0]["panel"]  # the product the panel shows
    assert {r["name"] for r in rows} >= {"median", "p5–p95 of 3 draws (lower edge)"}
    one_error(client.get(f"/api/runs/{state['id']}/charts/nope.csv"), 404, "no chart 'nope'")
