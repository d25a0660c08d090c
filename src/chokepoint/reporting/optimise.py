"""The optimiser's report section: the cost-risk frontier, the portfolio and its check,
and the time-to-survive table, as a chart and HTML tables."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd


def frontier_chart(points: pd.DataFrame, target, path: str | Path) -> Path:
    """Cost (EUR m) against the target's risk measure, one point per bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    feasible = points.dropna(subset=["cost"])
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    axes.plot(feasible["risk"], feasible["cost"] / 1e6, marker="o")
    axes.set_xlabel(f"{target.kind} of {target.group or 'all groups'} (in-sample)")
    axes.set_ylabel("cost of the cheapest portfolio (EUR m)")
    axes.set_title("Cost against risk")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def optimise_section(
    portfolio: pd.DataFrame,
    check: pd.DataFrame | None = None,
    contributions: pd.DataFrame | None = None,
    frontier_png: str | None = None,
    tts: pd.DataFrame | None = None,
) -> str:
    """An HTML section (a fragment) for the report."""
    parts = ["<section id='optimise'><h2>Cheapest portfolio</h2>"]
    parts.append(_table(portfolio[portfolio["amount"] > 0]))
    if contributions is not None and len(contributions):
        parts.append("<h3>What each measure contributes</h3>" + _table(contributions))
    if check is not None:
        parts.append("<h3>In-sample (optimiser) and out-of-sample (engine)</h3>" + _table(check))
    if frontier_png:
        parts.append(
            f"<h3>Frontier</h3><img alt='cost against risk' src='{html.escape(frontier_png)}'>"
        )
    if tts is not None:
        parts.append("<h3>Time to survive and time to recover</h3>" + _table(tts))
    parts.append("</section>")
    return "\n".join(parts)
