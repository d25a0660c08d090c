"""The evidence report: what a headline rests on, calibration, and the validation episodes.

Pure functions from the outputs of :mod:`chokepoint.evidence` (an audit, a calibration, the
table of episode checks) to Plotly figures, and :func:`write_evidence_report`, one
self-contained HTML file in the house style of :mod:`chokepoint.reporting.html`:

* **tornado**: each input's headline at the low and the high end of its range, against the
  base, the largest swings on top; unsourced inputs in red.
* **posterior**: the weighted posterior of each fitted parameter against its prior range.
* **predictive**: the posterior-predictive band (p5-p95, median) of every observed series,
  with the observations.
* **episode**: per episode, each check's accepted interval, the observed value and the
  model's median, with pass/fail.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chokepoint.files import atomic_file
from chokepoint.reporting.charts import finish, rounded
from chokepoint.reporting.figures import Chart, Section

SOURCED, UNSOURCED, BASE = "#1f5a96", "#c2452d", "#555555"
RESULT_COLOURS = {"pass": "#3d8b3d", "fail": "#c2452d", "not evaluated": "#999999"}


def tornado_figure(audit: Any, top: int = 15) -> go.Figure:
    """The ``top`` inputs with the largest swings, as bars from the base to each end."""
    table = audit.table[audit.table["screened"] == "alone"].head(top).iloc[::-1]
    base = float(audit.base_value)
    figure = go.Figure()
    for end, column in (("low end of range", "metric_low"), ("high end of range", "metric_high")):
        values = table[column].astype(float) - base
        figure.add_trace(
            go.Bar(
                y=[str(v) for v in table["input"]],
                x=rounded(values),
                base=base,
                orientation="h",
                name=end,
                marker={
                    "color": [SOURCED if s else UNSOURCED for s in table["sourced"]],
                    "opacity": 0.55 if column == "metric_low" else 1.0,
                },
                customdata=np.stack([table["low"], table["high"]], axis=1).tolist(),
                hovertemplate="%{y}<br>range %{customdata[0]:.4g} – %{customdata[1]:.4g}"
                f"<br>{end}: %{{x:.4g}} from the base<extra></extra>",
            )
        )
    figure.add_vline(x=base, line={"color": BASE, "dash": "dash"})
    share = audit.unsourced_share
    share_text = "n/a" if share is None or math.isnan(share) else f"{share:.0%}"
    figure.update_layout(barmode="overlay", xaxis_title=audit.headline.label)
    return finish(
        figure,
        title=f"What {audit.headline.label} rests on",
        subtitle=f"each assumed input swung alone over its range (faint: low end, solid: high "
        f"end), base {base:.4g}; red: unsourced (an assumption), blue: sourced; unsourced "
        f"inputs carry {share_text} of the variance",
        units=audit.headline.label,
        source=f"chokepoint audit {audit.scenario} on {audit.network}, {audit.runs} runs of "
        f"{audit.draws} draws",
        height=max(420, 28 * len(table) + 220),
    )


def posterior_figure(calibration: Any) -> go.Figure:
    """Weighted histogram of each fitted parameter, with its prior's p5-p95 shaded."""
    table = calibration.posterior_table()
    post = calibration.posterior
    figure = make_subplots(rows=1, cols=len(table), subplot_titles=list(table["parameter"]))
    for j, row in enumerate(table.itertuples(index=False)):
        counts, edges = np.histogram(post.theta[:, j], bins=30, weights=post.weight)
        figure.add_trace(
            go.Bar(
                x=rounded((edges[:-1] + edges[1:]) / 2),
                y=rounded(counts),
                marker={"color": SOURCED},
                name="posterior",
                showlegend=j == 0,
            ),
            row=1,
            col=j + 1,
        )
        figure.add_vrect(
            x0=row.prior_p5, x1=row.prior_p95, fillcolor="#cccccc", opacity=0.25, line_width=0,
            row=1, col=j + 1,
        )  # fmt: skip
        for value in (row.posterior_p5, row.posterior_p95):
            figure.add_vline(x=value, line={"color": UNSOURCED, "dash": "dot"}, row=1, col=j + 1)
    return finish(
        figure,
        title="Posterior of the fitted parameters",
        subtitle="weighted ABC posterior (bars), its 90% credible interval (dotted), the "
        "prior's p5–p95 (shaded)",
        units="posterior weight",
        source=f"chokepoint calibrate against {Path(calibration.observed_file).name} "
        f"(sha256 {calibration.observed_hash[:12]})",
    )


def predictive_figure(calibration: Any) -> go.Figure:
    """The posterior-predictive band of every series against its observations."""
    table = calibration.predictive_table()
    figure = go.Figure()
    for series, rows in table.groupby("series", sort=False):
        months = list(rows["month"])
        figure.add_trace(
            go.Scatter(
                x=months + months[::-1],
                y=rounded(list(rows["p95"]) + list(rows["p5"])[::-1]),
                fill="toself",
                fillcolor="rgba(31,90,150,0.2)",
                line={"width": 0},
                name=f"{series}: p5–p95",
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(x=months, y=rounded(rows["p50"]), name=f"{series}: median", mode="lines")
        )
        figure.add_trace(
            go.Scatter(
                x=months,
                y=rounded(rows["observed"]),
                name=f"{series}: observed",
                mode="markers",
                marker={"color": "#111", "size": 8},
            )
        )
    compare = ", ".join(sorted(set(table["compare"])))
    return finish(
        figure,
        title="Posterior-predictive band against the observations",
        subtitle=f"monthly, in the distance's dimensionless form ({compare}: ratio to the "
        "pre-shock level, level over the model's no-shock mean, or share of firms stopped)",
        units="dimensionless",
        source=f"chokepoint calibrate against {Path(calibration.observed_file).name}",
        legend_rows=2,
    )


def _position(value: Any) -> float | None:
    """A check's value on a number line (a month as a fractional year)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            period = pd.Period(value, freq="M")
        except ValueError:
            return None
        return period.year + (period.month - 1) / 12
    number = float(value)
    return None if math.isnan(number) else number


def _observed_compared(row: Any) -> float | None:
    if row.comparison == "model_over_observed":
        return 1.0
    return _position(row.observed)


def episode_figure(rows: pd.DataFrame) -> go.Figure:
    """One episode's checks: accepted interval, observed value and model median."""
    numeric = rows[rows["comparison"] != "month_in_interval"]
    figure = go.Figure()
    items: list[Any] = list(numeric.itertuples(index=False))
    labels = [f"{r.check} {r.title}"[:60] for r in items]
    accept = [[float(a) for a in r.accept] for r in items]
    figure.add_trace(
        go.Bar(
            y=labels,
            x=[a[1] - a[0] for a in accept],
            base=[a[0] for a in accept],
            orientation="h",
            marker={"color": "rgba(61,139,61,0.25)"},
            name="accepted (fixed before the run)",
        )
    )
    figure.add_trace(
        go.Scatter(
            y=labels,
            x=[_observed_compared(r) for r in numeric.itertuples(index=False)],
            mode="markers",
            marker={"symbol": "diamond", "color": "#111", "size": 10},
            name="observed",
        )
    )
    figure.add_trace(
        go.Scatter(
            y=labels,
            x=[_position(r.value) for r in numeric.itertuples(index=False)],
            mode="markers",
            marker={
                "color": [RESULT_COLOURS[r] for r in numeric["result"]],
                "size": 12,
                "line": {"color": "#fff", "width": 1},
            },
            text=list(numeric["result"]),
            name="model median (colour: pass / fail)",
            hovertemplate="%{y}: model %{x:.3g} (%{text})<extra></extra>",
        )
    )
    figure.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="ratio")
    episode = str(rows["episode"].iloc[0])
    counts = rows["result"].value_counts()
    return finish(
        figure,
        title=f"Episode {episode}: model against observed",
        subtitle=f"{counts.get('pass', 0)} pass, {counts.get('fail', 0)} fail, "
        f"{counts.get('not evaluated', 0)} not evaluated; ratios to the pre-control level "
        "(levels: model over observed); timing checks are in the table",
        units="ratio",
        source=f"validation/{episode}: observed.csv, checks.yaml (tolerances written before "
        "any run)",
        height=max(420, 30 * len(numeric) + 220),
    )


def evidence_sections(
    audit: Any = None, calibration: Any = None, episodes: pd.DataFrame | None = None
) -> list[Section]:
    """The report's sections for whichever of the three outputs are given."""
    sections = []
    if audit is not None:
        sections.append(
            Section(
                "audit",
                "What the headline rests on",
                "Every input the data mark as an assumption, every scenario distribution and "
                "the engine's settings, swung one at a time over its range from a common "
                "base (common random numbers).",
                [Chart("tornado", tornado_figure(audit))],
                notes=list(audit.notes),
            )
        )
    if calibration is not None:
        sections.append(
            Section(
                "calibration",
                "Calibration against observed series",
                "Approximate Bayesian computation over the engine's draws: rejection from "
                "the prior, then sequential Monte Carlo.",
                [
                    Chart("posterior", posterior_figure(calibration)),
                    Chart("predictive", predictive_figure(calibration)),
                ],
            )
        )
    if episodes is not None:
        sections.append(
            Section(
                "episodes",
                "How well does it do?",
                "Past export controls replayed: each check's tolerance was written down "
                "before the model was run.",
                [
                    Chart("episode", episode_figure(rows), str(name))
                    for name, rows in episodes.groupby("episode", sort=False)
                ],
            )
        )
    return sections


def build_evidence_report(
    audit: Any = None, calibration: Any = None, episodes: pd.DataFrame | None = None
) -> str:
    """The evidence report as one HTML document."""
    from chokepoint.reporting.html import RENDER, STYLE, _escape, _section_html, plotly_javascript

    sections = evidence_sections(audit, calibration, episodes)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(_section_html(s, n, []) for n, s in enumerate(sections))
    if episodes is not None:
        body += _episode_table(episodes)
    toc = "".join(f"<a href='#{s.key}'>{_escape(s.title)}</a>" for s in sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Evidence · "
        f"chokepoint</title><style>{STYLE}</style><script>{plotly_javascript()}</script>"
        "</head><body><header><h1>The evidence behind the numbers</h1><p>What the headline "
        f"rests on, fits to observed data, and past episodes replayed.</p><p>Generated {when}"
        f".</p></header><nav>{toc}</nav><main>{body}</main><script>{RENDER}</script>"
        "</body></html>\n"
    )


def _episode_table(episodes: pd.DataFrame) -> str:
    from chokepoint.reporting.html import _escape

    columns = ["episode", "check", "title", "observed", "model", "value", "accept", "result"]
    head = "".join(f"<th>{c}</th>" for c in columns + ["reason"])
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_escape(_cell(getattr(r, c)))}</td>" for c in columns)
        + f"<td>{_escape(r.reason)}</td></tr>"
        for r in episodes.itertuples(index=False)
    )
    return (
        f"<section id='checks'><h2>Every check</h2><table><tr>{head}</tr>{rows}</table></section>"
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "" if value is None else str(value)


def write_evidence_report(
    path: str | Path,
    *,
    audit: Any = None,
    calibration: Any = None,
    episodes: pd.DataFrame | None = None,
) -> Path:
    """Write the evidence report atomically (a temporary file, then a rename)."""
    target = Path(path)
    document = build_evidence_report(audit, calibration, episodes)
    with atomic_file(target) as staging:
        staging.write_text(document, encoding="utf-8")
    return target
