"""Plain renderers for metric tables: Rich tables for people, JSON and CSV for machines.

Pure formatting: every function takes DataFrames and returns text or Rich renderables.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from rich.table import Table


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (NaN → None, numpy scalars → Python)."""
    return [
        {key: _clean(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
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


def percent(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:.{digits}f}%"


def quantity(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 1:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}"


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
    for row in frame.itertuples(index=False):
        shares = row.supplier_shares or {}
        top = ", ".join(f"{country} {percent(share)}" for country, share in list(shares.items())[:3])
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


def origins_rich_table(frame: pd.DataFrame, *, title: str, top: int = 4) -> Table:
    """Origin attribution: for each traced input, the largest origin countries."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("input traced")
    table.add_column("content/yr", justify="right")
    table.add_column("origin (share of content)")
    for traced, part in frame.groupby("traced", sort=False):
        part = part.sort_values("share", ascending=False)
        origins = ", ".join(
            f"{c} {percent(s, 1)}" for c, s in zip(part["country"][:top], part["share"][:top],
                                                     strict=False)
        )
        table.add_row(str(traced), f"{part['content'].sum():,.4g}", origins)
    return table
