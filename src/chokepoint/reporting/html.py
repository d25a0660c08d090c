"""The self-contained HTML report: one file, Plotly's JavaScript inside, works offline.

Each chart is embedded as JSON in a ``<script type="application/json"
class="chokepoint-figure">`` block next to the element it is drawn into, so the report can
be read by a program as well as by a person. Text from scenarios is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError
from chokepoint.files import atomic_file
from chokepoint.reporting.data import RunData, key_numbers, network_of
from chokepoint.reporting.figures import Section, catalog_for, report_sections
from chokepoint.reporting.tables import short_amount

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.reporting.charts import Catalog
    from chokepoint.simulation.run import Results

STYLE = """
:root { --ink:#1d2630; --muted:#5b6673; --line:#dde3ea; --accent:#1f5a96; --bad:#c2452d; }
* { box-sizing: border-box; }
body { margin:0; font-family: Inter, 'Segoe UI', Helvetica, Arial, sans-serif; color:var(--ink);
  background:#f6f8fa; line-height:1.5; }
header { background:#14263a; color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 6px; font-size:26px; }
header p { margin:4px 0; color:#cfd9e3; max-width:1100px; }
nav { padding:10px 40px; background:#fff; border-bottom:1px solid var(--line); font-size:14px; }
nav a { margin-right:18px; color:var(--accent); text-decoration:none; }
main { padding:10px 40px 40px; max-width:1500px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; margin:22px 0;
  padding:18px 22px; }
section h2 { margin:0 0 4px; font-size:20px; }
section .intro { color:var(--muted); margin:0 0 12px; max-width:1000px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin-top:16px; }
.card { background:#1f3650; border-radius:8px; padding:12px 16px; min-width:260px; flex:1; }
.card h3 { margin:0 0 6px; font-size:15px; color:#9fc3e8; }
.card .big { font-size:24px; font-weight:700; color:#fff; }
.card p { margin:2px 0; font-size:13px; }
.compare { margin-top:12px; font-size:15px; color:#fff; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(520px, 1fr)); gap:16px; }
.chart { width:100%; min-height:300px; }
.run-text h3 { margin:6px 0 2px; font-size:16px; }
.run-text p, .run-text li { font-size:14px; color:var(--muted); }
.note { font-size:13px; color:var(--bad); }
table { border-collapse:collapse; font-size:13px; width:100%; }
td, th { border-bottom:1px solid var(--line); padding:4px 8px; text-align:left;
  vertical-align:top; }
code { background:#eef2f6; padding:1px 4px; border-radius:3px; }
footer { padding:0 40px 40px; color:var(--muted); font-size:13px; }
"""

RENDER = """
document.querySelectorAll('script.chokepoint-figure').forEach(function (node) {
  var figure = JSON.parse(node.textContent);
  var target = document.getElementById(node.getAttribute('data-target'));
  Plotly.newPlot(target, figure.data, figure.layout,
    {responsive: true, displaylogo: false, toImageButtonOptions: {format: 'png', scale: 2}});
});
"""


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def script_json(text: str) -> str:
    """JSON text made safe to place inside a ``<script>`` element."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plotly_javascript() -> str:
    """The plotly.js bundle shipped inside the plotly Python package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _money(value: float) -> str:
    return short_amount(value, "€")


def _cards(runs: Sequence[RunData], catalog: Catalog) -> str:
    numbers = [key_numbers(run, catalog.names, catalog.aggregates) for run in runs]
    cards = []
    for item in numbers:
        first = item["first_stop"]
        lines = [
            f"<p class='big'>{_money(item['lost_value'])}</p>",
            "<p>mean lost value of EU-27 output over "
            f"{item['horizon_days']} days (products with a price)</p>",
            f"<p>{item['stopping']} of {item['products']} EU-27 products stop in at least "
            "half the draws</p>",
        ]
        if first:
            lines.append(
                f"<p>first to stop: {_escape(first['name'])} after "
                f"{first['days']:.0f} days (median)</p>"
            )
        if item["gated_days"] is not None:
            lines.append(
                f"<p>{item['gated_days']:.0f} days per licensed contract without a licence</p>"
            )
        cards.append(f"<div class='card'><h3>{_escape(item['label'])}</h3>{''.join(lines)}</div>")
    text = f"<div class='cards'>{''.join(cards)}</div>"
    if len(numbers) > 1:
        base = numbers[0]
        for other in numbers[1:]:
            change = other["lost_value"] - base["lost_value"]
            word = "less" if change < 0 else "more"
            share = f" ({abs(change) / base['lost_value']:.0%})" if base["lost_value"] > 0 else ""
            text += (
                f"<p class='compare'>{_escape(other['label'])} loses "
                f"<b>{_money(abs(change))} {word}</b>{share} than {_escape(base['label'])}.</p>"
            )
    return text


def _scenario_text(run: RunData) -> str:
    events = "".join(
        f"<li>{_escape(e['start_date'])} to {_escape(e['end_date'])}: <b>{_escape(e['label'])}</b>"
        f" ({_escape(e['type'].replace('_', ' '))}, {_escape(e['kind'])})</li>"
        for e in run.events
    )
    description = run.metadata.get("description") or ""
    return (
        f"<div class='run-text'><h3>{_escape(run.label)}</h3><p>{_escape(description)}</p>"
        f"<ul>{events or '<li>no events: the baseline</li>'}</ul></div>"
    )


def _section_html(section: Section, number: int, runs: Sequence[RunData]) -> str:
    parts = [f"<section id='{section.key}'><h2>{_escape(section.title)}</h2>"]
    parts.append(f"<p class='intro'>{_escape(section.intro)}</p>")
    if section.key == "scenario":
        parts.append("<div class='grid'>" + "".join(_scenario_text(run) for run in runs) + "</div>")
    parts += [f"<p class='note'>{_escape(note)}</p>" for note in section.notes]
    blocks = []
    for index, chart in enumerate(section.charts):
        target = f"figure-{number}-{index}-{chart.key}"
        blocks.append(
            f"<div class='chart' id='{target}' data-chart='{_escape(chart.key)}'></div>"
            f"<script type='application/json' class='chokepoint-figure' "
            f"data-target='{target}' data-chart='{_escape(chart.key)}' "
            f"data-run='{_escape(chart.run or '')}'>{script_json(chart.figure.to_json())}"
            "</script>"
        )
    if section.side_by_side:
        parts.append("<div class='grid'>" + "".join(f"<div>{b}</div>" for b in blocks) + "</div>")
    else:
        parts += blocks
    parts.append("</section>")
    return "".join(parts)


def _about(runs: Sequence[RunData]) -> str:
    rows = []
    for run in runs:
        meta = run.metadata
        reference = str(meta.get("scenario_file") or run.name).removeprefix("preset:")
        command = (
            f"chokepoint run {reference} --draws {meta.get('draws')} --seed {meta.get('seed')} "
            "--out DIR"
        )
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{_escape(v)}</td>"
                for v in (
                    run.label,
                    meta.get("scenario_file") or "",
                    f"{meta.get('draws')} draws, seed {meta.get('seed')}",
                    f"{meta.get('start')}, {meta.get('horizon_days')} days",
                    f"{meta.get('network')} (data {meta.get('data_version')})",
                    meta.get("package_version"),
                )
            )
            + f"<td><code>{_escape(command)}</code></td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("run", "scenario file", "draws", "period", "network", "chokepoint", "reproduce")
    )
    return (
        "<section id='about'><h2>About these numbers</h2><p class='intro'>Each run is a "
        "day-by-day simulation of the supply network under the scenario, repeated over Monte "
        "Carlo draws of the uncertain parameters. The same command with the same seed gives "
        f"the same numbers.</p><table><tr>{header}</tr>{''.join(rows)}</table></section>"
    )


def _sources(networks: Sequence[SupplyNetwork | None]) -> str:
    network = next((n for n in networks if n is not None), None)
    if network is None or network.sources.empty:
        return ""
    rows = "".join(
        f"<tr><td>{_escape(r.id)}</td><td>{_escape(r.title)}</td><td>{_escape(r.publisher)}</td>"
        f"<td>{_escape(r.year)}</td><td>{_escape(r.url)}</td></tr>"
        for r in network.sources.itertuples(index=False)
    )
    return (
        "<section id='sources'><h2>Data sources</h2><details><summary>"
        f"{len(network.sources)} sources cited by the network data</summary><table><tr><th>id"
        "</th><th>title</th><th>publisher</th><th>year</th><th>address</th></tr>"
        f"{rows}</table></details></section>"
    )


def build_report(
    runs: Sequence[RunData],
    networks: Sequence[SupplyNetwork | None] | None = None,
    *,
    title: str | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The report on one run or several compared side by side, as one HTML document."""
    if not runs:
        raise ChokepointError("a report needs at least one run")
    if networks is None:
        cache: dict[str, SupplyNetwork] = {}
        networks = [network_of(run, cache) for run in runs]
    runs = _unique_labels(runs)
    sections = report_sections(runs, networks)
    heading = title or (
        " vs ".join(run.label for run in runs) if len(runs) > 1 else f"Scenario {runs[0].label}"
    )
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f"<a href='#{s.key}'>{_escape(s.title)}</a>" for s in sections)
    body = "".join(_section_html(s, n, runs) for n, s in enumerate(sections))
    cards = _cards(runs, catalog_for(networks))
    head = (
        "<meta charset='utf-8'><meta name='viewport' content='width=device-width, "
        f"initial-scale=1'><meta name='generator' content='chokepoint'><title>"
        f"{_escape(heading)} · chokepoint</title><style>{STYLE}</style>"
        f"<script>{plotly_javascript()}</script>"
    )
    header = (
        f"<header><h1>{_escape(heading)}</h1><p>A chokepoint stress test of EU supply chains: "
        "where the chokepoints are, how stocks run down, when lines stop and what is lost."
        f"</p><p>Generated {when}.</p>{cards}</header>"
    )
    footer = (
        "<footer>Made with chokepoint. Charts are interactive: hover for numbers, click legend "
        "entries to hide them, use the camera icon to save a PNG.</footer>"
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head>{head}</head><body>{header}"
        f"<nav>{toc}<a href='#about'>About</a></nav><main>{body}{_about(runs)}"
        f"{_sources(networks)}</main>{footer}<script>{RENDER}</script></body></html>\n"
    )


def _unique_labels(runs: Sequence[RunData]) -> list[RunData]:
    """The runs, relabelled where two share a label (copies; the originals are unchanged)."""
    seen: dict[str, int] = {}
    unique = []
    for run in runs:
        count = seen.get(run.label, 0)
        seen[run.label] = count + 1
        unique.append(replace(run, label=f"{run.label} ({count + 1})") if count else run)
    return unique


def write_report(
    runs: Sequence[RunData],
    path: str | Path,
    networks: Sequence[SupplyNetwork | None] | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write the report to ``path`` atomically (a temporary file, then a rename)."""
    target = Path(path)
    document = build_report(runs, networks, title=title)
    with atomic_file(target) as staging:
        staging.write_text(document, encoding="utf-8")
    return target


def report_from_folders(
    folders: Sequence[str | Path],
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """The report on results folders written by ``chokepoint run --out``."""
    names = list(labels or [])
    runs = [
        RunData.from_folder(folder, names[i] if i < len(names) else None)
        for i, folder in enumerate(folders)
    ]
    return write_report(runs, path, title=title)


def report_from_results(
    results: Sequence[Results],
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    network: SupplyNetwork | None = None,
    title: str | None = None,
) -> Path:
    """The report on runs held in memory; ``network`` is the one they ran on (else found
    again from their metadata)."""
    names = list(labels or [])
    runs = [
        RunData.from_results(r, names[i] if i < len(names) else None) for i, r in enumerate(results)
    ]
    networks = [network] * len(runs) if network is not None else None
    return write_report(runs, path, networks, title=title)
