"""The HTML report, its charts and the static plot: every chart has data, a title, units and
a source; the report works offline; text from scenarios is escaped."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chokepoint.cli.show import check_plot_path, report_command, write_demo_report, write_plot
from chokepoint.errors import ChokepointError
from chokepoint.network.container import load_default
from chokepoint.reporting import RunData, key_numbers, report_from_folders
from chokepoint.reporting.charts import Catalog, rounded
from chokepoint.reporting.html import build_report
from chokepoint.reporting.network_chart import chain_commodities, restricted_links
from chokepoint.scenario import load_scenario
from chokepoint.simulation.run import simulate

DRAWS = 8


class Figures(HTMLParser):
    """Collects the chart JSON blocks of a report, the script sources and the chart divs."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[dict[str, str], dict]] = []
        self.sources: list[str] = []
        self.targets: set[str] = set()
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script" and "src" in values:
            self.sources.append(values["src"])
        if tag == "script" and "chokepoint-figure" in values.get("class", ""):
            self._open, self._text = values, []
        if tag == "div" and "chart" in values.get("class", "").split():
            self.targets.add(values.get("id", ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.figures.append((self._open, json.loads("".join(self._text))))
            self._open = None


def parse(path: Path) -> Figures:
    parser = Figures()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def network():
    return load_default()


@pytest.fixture(scope="module")
def pair(network):
    """The demo's comparison, run with few draws."""
    return [
        simulate(load_scenario(name), network, draws=DRAWS)
        for name in ("licences-3m", "licences-12m")
    ]


@pytest.fixture(scope="module")
def folders(pair, tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    return [results.write(base / results.metadata["scenario"]) for results in pair]


@pytest.fixture(scope="module")
def comparison(folders, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    return report_from_folders(folders, out, labels=["3-month licences", "12-month licences"])


def _numbers(values) -> list[float]:
    found = []
    for value in values or []:
        if isinstance(value, list):
            found += _numbers(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found.append(float(value))
    return found


def _axis_title(axis: dict) -> str:
    title = axis.get("title") or {}
    return title.get("text", "") if isinstance(title, dict) else str(title)


def test_comparison_report_has_every_chart_with_data_title_units_and_source(comparison):
    parsed = parse(comparison)
    charts = [attributes["data-chart"] for attributes, _ in parsed.figures]
    for expected in ("timeline", "network", "output", "stocks", "stoppage", "survive"):
        assert expected in charts
    for expected in ("lost_share", "lost_value", "licensing"):
        assert expected in charts
    assert charts.count("timeline") == 2 and charts.count("survive") == 2
    assert charts.count("lost_value") == 2
    for attributes, figure in parsed.figures:
        name = attributes["data-chart"]
        layout = figure["layout"]
        assert attributes["data-target"] in parsed.targets, name
        assert layout["title"]["text"].strip(), f"{name}: no title"
        assert layout["meta"]["units"].strip(), f"{name}: no units"
        assert "chokepoint" in layout["meta"]["source"], f"{name}: no source"
        notes = [a["text"] for a in layout.get("annotations", [])]
        assert any(note.startswith("Source: chokepoint") for note in notes), name
        values = [v for trace in figure["data"] for v in _numbers(trace.get("x"))]
        values += [v for trace in figure["data"] for v in _numbers(trace.get("y"))]
        assert any(math.isfinite(v) for v in values), f"{name}: no data"
        titled = [
            _axis_title(axis)
            for key, axis in layout.items()
            if key.startswith(("xaxis", "yaxis")) and axis.get("visible", True)
        ]
        colourbars = [
            trace.get("marker", {}).get("colorbar", {}).get("title", {}).get("text", "")
            for trace in figure["data"]
        ]
        assert any(t.strip() for t in titled + colourbars), f"{name}: no axis with a unit"


def test_every_value_axis_names_its_unit(comparison):
    for attributes, figure in parse(comparison).figures:
        layout = figure["layout"]
        if attributes["data-chart"] in ("output", "stocks"):
            panels = [k for k in layout if k.startswith("yaxis") and layout[k].get("visible", True)]
            assert panels and all(_axis_title(layout[k]) for k in panels)
            assert all("/day" in _axis_title(layout[k]) for k in panels) == (
                attributes["data-chart"] == "output"
            )
        if attributes["data-chart"] in ("survive", "stoppage", "lost_share", "licensing"):
            assert "day" in _axis_title(layout["xaxis"]) or "%" in _axis_title(layout["xaxis"])
        if attributes["data-chart"] == "lost_value":
            assert "€" in _axis_title(layout["xaxis"])


def test_report_works_offline(comparison):
    text = comparison.read_text(encoding="utf-8")
    parsed = parse(comparison)
    assert parsed.sources == []  # no <script src=...>: plotly.js is inside
    assert "plotly.js v" in text[:200_000]
    assert "<link" not in text and "<img" not in text and "@import" not in text


def test_comparison_shows_both_runs_and_what_longer_licences_buy(comparison, pair):
    figures = {a["data-chart"]: f for a, f in parse(comparison).figures}
    names = {trace.get("name", "") for trace in figures["output"]["data"]}
    assert any("3-month" in n for n in names) and any("12-month" in n for n in names)
    bars = {trace["name"]: _numbers(trace["x"]) for trace in figures["licensing"]["data"]}
    short, long = bars["3-month licences"], bars["12-month licences"]
    assert sum(long) < sum(short)
    numbers = [key_numbers(RunData.from_results(r)) for r in pair]
    assert numbers[1]["gated_days"] < numbers[0]["gated_days"]
    assert "12-month licences loses" in comparison.read_text(encoding="utf-8")


def test_results_folder_round_trip(folders, pair):
    run = RunData.from_folder(folders[0])
    assert run.metadata["scenario"] == "licences-3m"
    assert len(run.stats) == len(pair[0].stats) and not run.bands.empty
    # the preset still matches the run's recorded hash, so the scenario comes back
    assert run.scenario is not None and run.scenario.name == "licences-3m"
    run.metadata["scenario_hash"] = "000000000000"
    from chokepoint.reporting.data import recover_scenario

    assert recover_scenario(run.metadata) is None


def test_folder_errors_are_one_line(tmp_path):
    with pytest.raises(ChokepointError, match="no such results folder"):
        RunData.from_folder(tmp_path / "missing")
    with pytest.raises(ChokepointError, match="no result.json"):
        RunData.from_folder(tmp_path)
    (tmp_path / "result.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ChokepointError, match="not a readable result file"):
        RunData.from_folder(tmp_path)


def test_scenario_text_is_escaped(pair, network):
    run = RunData.from_results(pair[0], label="<script>alert(1)</script>")
    run.metadata["description"] = "<img src=x onerror=alert(1)>"
    document = build_report([run], [network])
    assert "<script>alert(1)" not in document and "<img src=x" not in document
    assert "&lt;script&gt;alert(1)" in document


def test_report_without_the_network_leaves_out_the_diagram(pair):
    run = RunData.from_results(pair[0])
    run.metadata["data_version"] = "changed"
    document = build_report([run])
    assert "could not be found again" in document
    assert "data-chart='network'" not in document
    assert "data-chart='output'" in document


def test_network_diagram_follows_the_chain(network):
    results = simulate(load_scenario("nexperia-2025-10"), network, draws=4)
    run = RunData.from_results(results)
    restricted = restricted_links(network, run)
    assert restricted and set(restricted.values()) == {"banned"}
    chain = chain_commodities(network, run, restricted)
    # the chain runs from the restricted flows to the products hit; on the revised default data
    # the Nexperia preset hits no final product, so only the restricted chips and dies remain
    for commodity in ("discrete_die", "auto_discrete"):
        assert commodity in chain
    assert "ndfeb_magnet" not in chain
    lost = set(run.stats.loc[run.stats["lost_output_mean"].fillna(0) > 0, "product"])
    assert ("car_bev_pm" in chain) == bool(lost & {"car_bev_pm", "car_bev"})


def test_demo_report_and_static_plot(pair, network, tmp_path):
    report = write_demo_report(pair, tmp_path / "demo.html", network=network)
    assert "3-month licences vs" not in report.read_text(encoding="utf-8")[:2000]
    assert len(parse(report).figures) >= 10
    picture = write_plot(pair[0], tmp_path / "plot.png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ChokepointError, match="png"):
        write_plot(pair[0], tmp_path / "plot.jpg")
    check_plot_path("plot.SVG")
    with pytest.raises(ChokepointError, match="--plot"):
        check_plot_path("plot.gif")


def test_report_command(folders, tmp_path):
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("other")(lambda: None)
    target = tmp_path / "out" / "comparison.html"
    result = CliRunner().invoke(
        app, ["report", str(folders[0]), str(folders[1]), "-o", str(target), "-l", "3m"]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output and target.is_file()
    failed = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert isinstance(failed.exception, ChokepointError)
    wrong = CliRunner().invoke(app, ["report", str(folders[0]), "-o", str(tmp_path / "r.pdf")])
    assert isinstance(wrong.exception, ChokepointError)


def test_rounding_and_names(network):
    assert rounded([1234.5678, None, float("nan")]) == [1235.0, None, None]
    assert rounded([0.012345, 0.5]) == [0.0123, 0.5]
    catalog = Catalog.of(network)
    assert catalog.name("car_hev") == "Hybrid passenger car (all)"  # the family of two variants
    assert catalog.name("car_hev_mild") == "Mild hybrid passenger car"
    assert "car_hev" in catalog.aggregates
    assert catalog.unit("car_hev") == "units" and catalog.unit("dy_oxide") == "t"
    assert Catalog.of(None).name("car_hev") == "car hev"
