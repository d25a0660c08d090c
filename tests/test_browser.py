"""The dashboard and the report in a real browser: Debian's chromium driven by Playwright.

Needs /usr/bin/chromium (CI installs it with ci/install-browser.sh). Without it these tests
fail with a message saying so; set CHOKEPOINT_BROWSER_TESTS=skip to skip them instead.
Screenshots go to tests/artifacts/ (and, with CHOKEPOINT_UPDATE_DOCS=1, to docs/img/).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
IMAGES = ROOT / "docs" / "img"
DRAWS = 40


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if os.environ.get("CHOKEPOINT_BROWSER_TESTS", "").lower() == "skip":
        pytest.skip("CHOKEPOINT_BROWSER_TESTS=skip")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium with ci/install-browser.sh, or "
            "set CHOKEPOINT_BROWSER_TESTS=skip to skip the browser tests",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    from chokepoint.web import create_app
    from chokepoint.web.server import BackgroundServer

    store = tmp_path_factory.mktemp("browser-store")
    with BackgroundServer(create_app(store=store, workers=2)) as running:
        yield running.url


@contextmanager
def local_page(browser, base: str) -> Iterator:
    """A page that may load nothing but ``base`` (and local data); fails on JS errors."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    outside: list[str] = []

    def only_local(route) -> None:
        url = route.request.url
        if url.startswith((base, "file://", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    opened.route("**/*", only_local)
    yield opened
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not outside, f"requests outside the server: {outside}"


@pytest.fixture
def page(browser, server):
    with local_page(browser, server) as opened:
        yield opened


def save(picture: Path, *copies: Path) -> None:
    """Copy a screenshot into the docs only when asked (CHOKEPOINT_UPDATE_DOCS=1), so that a
    test run never changes tracked files."""
    if os.environ.get("CHOKEPOINT_UPDATE_DOCS") != "1":
        return
    for copy in copies:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(picture, copy)


def finished_run(page, previous: str) -> str:
    """Wait for a run other than ``previous`` to end; return its id (fail if it failed)."""
    page.wait_for_function(
        "previous => { const s = document.getElementById('run-status');"
        " return ['done', 'failed'].includes(s.dataset.status) && s.dataset.run !== previous; }",
        arg=previous,
        timeout=90_000,
    )
    assert page.get_attribute("#run-status", "data-status") == "done", page.inner_text("#message")
    return page.get_attribute("#run-status", "data-run")


def chart_numbers(page, chart: str) -> list:
    return page.evaluate(
        "id => document.getElementById(id).data.map(t => (t.y || []).slice())", f"chart-{chart}"
    )


def test_dashboard_runs_a_preset_and_reacts_to_licence_validity(page, server):
    page.goto(server)
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#preset", "licences-3m")
    page.wait_for_selector("body[data-scenario='licences-3m']")
    assert page.input_value("#validity_days") == "90"
    page.fill("#draws", str(DRAWS))
    page.click("#run")
    first = finished_run(page, "")
    for chart in ("output", "survive", "lost_share", "licensing", "network", "timeline"):
        assert page.locator(f"#chart-{chart} .main-svg").count() > 0, chart
    lost_before = float(page.get_attribute("#number-lost-value", "data-value"))
    gated_before = float(page.get_attribute("#number-gated", "data-value"))
    output_before = chart_numbers(page, "output")
    licensing_before = page.evaluate("document.getElementById('chart-licensing').data[0].x")

    page.fill("#validity_days", "365")
    page.click("#run")
    second = finished_run(page, first)
    assert second != first
    lost_after = float(page.get_attribute("#number-lost-value", "data-value"))
    gated_after = float(page.get_attribute("#number-gated", "data-value"))
    assert lost_after < lost_before
    assert gated_after < gated_before
    assert chart_numbers(page, "output") != output_before
    assert page.evaluate("document.getElementById('chart-licensing').data[0].x") != (
        licensing_before
    )
    assert page.inner_text("#run-label").endswith(f"(validity 365 d): {DRAWS} draws")
    assert "vs previous run" in page.inner_text("#delta-lost-value")
    assert page.get_attribute("#compare-report", "href").count("runs=") == 2
    assert f"run={second}" in page.url and "validity_days=365" in page.url
    csv_link = page.get_attribute("#csv-output", "href")
    assert csv_link == f"/api/runs/{second}/charts/output.csv"
    data = page.request.get(server + csv_link)
    assert data.ok and data.headers["content-type"].startswith("text/csv")
    assert data.text().startswith("trace,name,panel,x,y")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=False)
    save(ARTIFACTS / "dashboard.png", IMAGES / "dashboard.png")


def test_runs_survive_a_restart_and_any_two_compare(browser, tmp_path):
    """Two runs on one server; after a restart on the same store both are listed, one
    opens with the same numbers, the other compares with it, and the address bar holds
    the view: opening it in a new page shows the same."""
    from chokepoint.web import create_app
    from chokepoint.web.server import BackgroundServer

    store = tmp_path / "store"
    with BackgroundServer(create_app(store=store)) as first:
        with local_page(browser, first.url) as page:
            page.goto(first.url + "/?preset=licences-3m&draws=12")
            page.wait_for_selector("body[data-ready='true']")
            page.click("#run")
            three = finished_run(page, "")
            lost_three = page.get_attribute("#number-lost-value", "data-value")
            page.fill("#validity_days", "365")
            page.click("#run")
            year = finished_run(page, three)
    with BackgroundServer(create_app(store=store)) as second:
        with local_page(browser, second.url) as page:
            page.goto(second.url)
            page.wait_for_selector("body[data-ready='true'][data-past-runs='2']")
            assert page.locator("#past-runs li").nth(0).get_attribute("data-run") == year
            page.click(f"#past-runs li[data-run='{three}'] button.open")
            assert finished_run(page, "") == three
            assert page.get_attribute("#number-lost-value", "data-value") == lost_three
            assert page.locator("#chart-output .main-svg").count() > 0
            page.click(f"#past-runs li[data-run='{year}'] button.compare")
            page.wait_for_function(
                "document.getElementById('delta-lost-value').textContent.includes('365')"
            )
            assert "vs licences-3m (validity 365 d)" in page.inner_text("#delta-lost-value")
            assert "worse" in page.get_attribute("#delta-lost-value", "class")
            href = page.get_attribute("#compare-report", "href")
            assert three in href and year in href
            shared = page.url
            assert f"run={three}" in shared and f"baseline={year}" in shared
        with local_page(browser, second.url) as page:
            page.goto(shared)
            page.wait_for_selector("body[data-ready='true']")
            assert page.get_attribute("#run-status", "data-run") == three
            assert "vs licences-3m (validity 365 d)" in page.inner_text("#delta-lost-value")
            page.goto(second.url + "/?preset=licences-12m&validity_days=200&draws=7")
            page.wait_for_selector("body[data-ready='true']")
            assert page.input_value("#preset") == "licences-12m"
            assert page.input_value("#validity_days") == "200"
            assert page.input_value("#draws") == "7"


def test_dashboard_shows_upload_errors(page, server, tmp_path):
    page.goto(server)
    page.wait_for_selector("body[data-ready='true']")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsurprise: 1\n", encoding="utf-8")
    page.set_input_files("#upload", str(bad))
    page.wait_for_function("document.getElementById('message').textContent.length > 0")
    assert "unknown key" in page.inner_text("#message")


def test_report_renders_every_chart(page, tmp_path):
    from chokepoint.cli.show import write_demo_report
    from chokepoint.network.container import load_default
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.run import simulate

    network = load_default()
    runs = [
        simulate(load_scenario(name), network, draws=DRAWS)
        for name in ("licences-3m", "licences-12m")
    ]
    report = write_demo_report(runs, tmp_path / "report.html", network=network)
    page.goto(report.as_uri())
    expected = page.locator("script.chokepoint-figure").count()
    assert expected >= 10
    page.wait_for_function(
        "n => document.querySelectorAll('.chart .main-svg').length >= n", arg=expected
    )
    for index in range(expected):
        chart = page.locator(".chart").nth(index)
        assert chart.locator(".gtitle").count() > 0, f"chart {index} has no drawn title"
        assert chart.locator(".trace path, .trace .point").count() > 0, f"chart {index} is empty"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    output = page.locator(".chart[data-chart='output']").first
    output.scroll_into_view_if_needed()
    output.screenshot(path=ARTIFACTS / "report-output.png")
    save(ARTIFACTS / "report-output.png", IMAGES / "report-output.png")
    network_chart = page.locator(".chart[data-chart='network']").first
    network_chart.screenshot(path=ARTIFACTS / "report-network.png")
    save(ARTIFACTS / "report-network.png", IMAGES / "report-network.png")


def test_dashboard_finds_the_cheapest_mix(page, server):
    page.goto(server)
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#preset", "ree-2025-04")
    page.wait_for_selector("body[data-scenario='ree-2025-04']")
    page.fill("#opt-target", "pstop:car_bev@EU27<=0.05")
    page.fill("#opt-draws", "4")
    page.fill("#opt-check", "4")
    page.click("#optimise")
    page.wait_for_function(
        "() => ['done', 'failed'].includes(document.getElementById('opt-status').dataset.status)",
        timeout=240_000,
    )
    assert page.get_attribute("#opt-status", "data-status") == "done", page.inner_text("#message")
    assert page.is_visible("#opt-result")
    assert "second-stage" in page.inner_text("#opt-log")
    rows = page.locator("#opt-check-table tbody tr")
    assert rows.count() == 3  # in-sample, engine on the same draws, engine on fresh draws
    assert "engine, fresh draws" in page.inner_text("#opt-check-table")
    assert page.inner_text("#opt-summary")
    picture = ARTIFACTS / "dashboard-optimise.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#opt-result").screenshot(path=str(picture))
