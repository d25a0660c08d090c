"""Plain renderers for metric tables: Rich tables for people, JSON and CSV for machines.

Pure formatting: every function takes DataFrames and returns text or Rich renderables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any, cast

import pandas as pd
from rich.table import Table


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (NaN → None, numpy scalars → Python)."""
    return [
        {key: _clean(value) for key, value in row.items()}
        for row in cast(list[dict[str, Any]], frame.to_dict(orient="records"))
    ]


def to_json(frame: pd.DataFrame) -> str:
    return json.dumps(to_records(frame), indent=2, ensure_ascii=False)


def to_csv(frame: pd.DataFrame) -> str:
    flat = frame.copy()
    for column in flat.columns:
        if flat[column].map(lambda v: isinstance(v, dict)).any():
            flat[column] = flat[column].map(
                lambda d: ";".join(f"{k}:{v:.6g}" for k, v in d.items()) if d else ""
            )
    return flat.to_csv(index=False, lineterminator="\n")


def missing(value: Any) -> bool:
    """Whether a figure is absent: None or NaN (shown as "–")."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def short_amount(value: Any, prefix: str = "") -> str:
    """An amount in words a reader takes in at a glance: 1.2 bn, 340 m, 12 k (after
    ``prefix``, e.g. "€"); "–" when missing."""
    if missing(value):
        return "–"
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"{prefix}{value / size:,.1f} {suffix}"
    return f"{prefix}{value:,.0f}"


def percent(value: Any, digits: int = 0) -> str:
    if missing(value):
        return "–"
    return f"{100 * value:.{digits}f}%"


def quantity(value: float, unit: str) -> str:
    if missing(value):
        return "–"
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 1:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}"


def rich_table(title: str, text: Iterable[str], figures: Iterable[str]) -> Table:
    """An empty terminal table in the house style: the ``text`` columns left-aligned, then
    the ``figures`` columns right-aligned."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in text:
        table.add_column(name)
    for name in figures:
        table.add_column(name, justify="right")
    return table


def dependency_rich_table(frame: pd.DataFrame, *, title: str) -> Table:
    """The dependency table for a terminal: one row per commodity the region uses."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("commodity")
    table.add_column("stage")
    table.add_column("use/yr", justify="right")
    table.add_column("top suppliers")
    table.add_column("HHI", justify="right")
    table.add_column("import\nreliance", justify="right")
    table.add_column("CRMA\n≤65%", justify="center")
    row: Any  # a namedtuple of the frame's columns
    for row in frame.itertuples(index=False):
        shares = row.supplier_shares or {}
        top = ", ".join(
            f"{country} {percent(share)}" for country, share in list(shares.items())[:3]
        )
        if not getattr(row, "strategic", True):
            flag = "[dim]n/a[/dim]"
        else:
            flag = "[red]breach[/red]" if row.crma_65_breach else "[green]ok[/green]"
        table.add_row(
            row.commodity,
            row.stage,
            quantity(row.consumption, row.unit),
            top or "–",
            "–" if row.hhi is None or pd.isna(row.hhi) else f"{row.hhi:,.0f}",
            percent(row.import_reliance),
            flag if shares else "–",
        )
    return table


def crma_scope_note(frame: pd.DataFrame) -> str:
    """One line counting CRMA 65% breaches among the strategic raw materials used, with the
    benchmark's scope."""
    used = frame[frame["consumption"] > 0]
    strategic = used[used["strategic"]] if "strategic" in used else used
    breaches = int(strategic["crma_65_breach"].sum())
    return (
        f"CRMA 65% benchmark: {breaches} of the {len(strategic)} strategic raw materials used "
        "come more than 65% from one third country. The benchmark (Reg. (EU) 2024/1252, "
        "Art. 5(1)(d)) applies to the strategic raw materials of Annex I only; other "
        f"commodities ({len(used) - len(strategic)} used here) show n/a."
    )


def origins_rich_table(frame: pd.DataFrame, *, title: str, top: int = 4) -> Table:
    """Origin attribution: for each traced input, the largest origin countries."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("input traced")
    table.add_column("content/yr", justify="right")
    table.add_column("origin (share of content)")
    for traced, part in frame.groupby("traced", sort=False):
        part = part.sort_values("share", ascending=False)
        origins = ", ".join(
            f"{c} {percent(s, 1)}"
            for c, s in zip(part["country"][:top], part["share"][:top], strict=False)
        )
        table.add_row(str(traced), f"{part['content'].sum():,.4g}", origins)
    return table


def _days(value: Any) -> str:
    if missing(value):
        return "–"
    return f"{value:.0f}"


def _money(value: Any) -> str:
    return short_amount(value, "€")


def _amount(value: Any) -> str:
    if missing(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def results_rich_table(stats: pd.DataFrame, *, title: str) -> Table:
    """Risk figures per final product and region for a terminal."""
    figures = (
        "P(stop)",
        "days to stoppage\np50 [p5–p95]",
        "lost output\nmean",
        "lost\nshare",
        "lost value\nmean",
        "of which\ninput-limited",
        "firms stopped\npeak",
    )
    table = rich_table(title, ("product", "region"), figures)
    row: Any  # a namedtuple of the frame's columns
    for row in stats.itertuples(index=False):
        lost = row.lost_output_mean
        from_inputs = getattr(row, "lost_output_input_mean", None)
        cause = (
            percent(from_inputs / lost) if lost and from_inputs is not None and lost > 0 else "–"
        )
        peak = getattr(row, "firms_stopped_peak_mean", None)
        survive = (
            f"{_days(row.time_to_survive_days_p50)} [{_days(row.time_to_survive_days_p5)}–"
            f"{_days(row.time_to_survive_days_p95)}]"
            if row.stoppage_probability > 0
            else "no stop"
        )
        table.add_row(
            row.product,
            row.region + ("" if row.measured_as == "production" else "*"),
            percent(row.stoppage_probability),
            survive,
            _amount(row.lost_output_mean),
            percent(row.lost_output_share_mean, 1),
            _money(row.lost_value_mean),
            cause,
            "–" if peak is None or pd.isna(peak) else percent(peak),
        )
    return table


def licence_rich_table(summary: pd.DataFrame, labels: dict[int, str], *, title: str) -> Table:
    figures = ("flows", "contracts/flow", "window days", "gated days per contract")
    table = rich_table(title, ("licensing event",), figures)
    row: Any  # a namedtuple of the frame's columns
    for row in summary.itertuples(index=False):
        table.add_row(
            labels.get(int(row.event), f"event {row.event}"),
            str(row.links),
            str(row.contracts),
            str(row.window_days),
            f"{row.gated_days_per_contract:.1f}",
        )
    return table


def comparison_rich_table(
    left: pd.DataFrame, right: pd.DataFrame, names: tuple[str, str], *, title: str
) -> Table:
    """Two runs side by side per product (EU-27 rows): stoppage odds, days, losses."""
    a, b = names
    merged = left.merge(right, on=["product", "region"], suffixes=("_a", "_b"))
    labels = ("P(stop)", "median days\nto stoppage", "lost output", "lost value")
    figures = [f"{label}\n{name}" for label in labels for name in (a, b)]
    table = rich_table(title, ("product (EU-27)",), figures)
    row: Any  # a namedtuple of the frame's columns
    for row in merged.itertuples(index=False):
        if row.lost_output_mean_a == 0 and row.lost_output_mean_b == 0:
            continue
        table.add_row(
            row.product + ("" if row.measured_as_a == "production" else "*"),
            percent(row.stoppage_probability_a),
            percent(row.stoppage_probability_b),
            _days(row.time_to_survive_days_p50_a),
            _days(row.time_to_survive_days_p50_b),
            _amount(row.lost_output_mean_a),
            _amount(row.lost_output_mean_b),
            _money(row.lost_value_mean_a),
            _money(row.lost_value_mean_b),
        )
    return table


def _timeline_bar(row: dict[Any, Any], first: dt.date, last: dt.date, width: int) -> str:
    """A row's bar: '·' before, '█' while in force (to ``ends``, or '▶' to the edge when
    open-ended), '│' on the announcement day when it comes before."""
    span = max((last - first).days, 1)

    def column(day: dt.date) -> int:
        return min(max(round((day - first).days / span * (width - 1)), 0), width - 1)

    begin = row["in_force"] or row["date"]
    stop = row["ends"] or last
    cells = ["·"] * width
    for i in range(column(begin), column(stop) + 1):
        cells[i] = "█"
    if row["ends"] is None:
        cells[-1] = "▶"
    announced = row["announced"]
    if announced is not None and column(announced) < column(begin):
        cells[column(announced)] = "│"
    return "".join(cells)


def timeline_rich_table(frame: pd.DataFrame, *, title: str, width: int = 32) -> Table:
    """Presets on one time line: dates, and a bar per preset from in force to its end.

    A preset without dates of its own is placed at its scenario start, shown in brackets.
    """
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("preset / control", no_wrap=True, overflow="ellipsis", max_width=38)
    for name in ("announced", "in force", "ends"):
        table.add_column(name, no_wrap=True, min_width=10)
    records = frame.to_dict(orient="records")
    dates = [d for r in records for d in (r["announced"], r["in_force"], r["ends"], r["date"])]
    dates = [d for d in dates if isinstance(d, dt.date)]
    if not dates:
        return table
    first, last = min(dates), max(dates)
    table.add_column(f"{first:%b %Y} → {last:%b %Y}", no_wrap=True, min_width=width)
    for row in records:
        began = _date(row["in_force"]) if row["in_force"] else f"({_date(row['date'])})"
        label = f"[bold]{row['name']}[/bold]\n[dim]{row['control'] or row['summary']}[/dim]"
        table.add_row(
            label,
            _date(row["announced"]),
            began,
            _date(row["ends"]),
            _timeline_bar(row, first, last, width),
        )
    return table


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else "–"
