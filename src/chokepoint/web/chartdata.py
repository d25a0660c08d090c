"""The data a dashboard chart shows, as CSV: one row per point of each trace of its Plotly
figure, with the trace's name and the panel (subplot title) it is drawn in.

Columns: ``trace`` (its number), ``name``, ``panel``, ``x``, ``y``, and where the chart
has them ``z``, ``base``, error bars (``x_minus``, ``x_plus``, ``y_minus``, ``y_plus``),
``text`` and ``hover``. Text that a spreadsheet would run as a formula is quoted.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from typing import Any

ALWAYS = ["trace", "name", "panel", "x", "y"]
OPTIONAL = ["z", "base", "x_minus", "x_plus", "y_minus", "y_plus", "text", "hover"]


def _values(value: Any) -> list[Any]:
    """A trace attribute as a flat list (Plotly's typed arrays decoded)."""
    if value is None:
        return []
    if isinstance(value, dict) and "bdata" in value:
        import numpy as np

        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value.get("dtype", "f8"))
        shape = value.get("shape")
        if isinstance(shape, str) and shape:
            array = array.reshape([int(part) for part in shape.split(",")])
        return array.tolist()
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _axis_domain(layout: dict[str, Any], axis: str) -> list[float]:
    key = axis[0] + "axis" + axis[1:]
    domain = (layout.get(key) or {}).get("domain") or [0.0, 1.0]
    return [float(domain[0]), float(domain[1])]


def _panel(layout: dict[str, Any], trace: dict[str, Any]) -> str:
    """The subplot title above a trace's axes (Plotly puts it at the middle of the x
    domain and the top of the y domain), or empty."""
    x_domain = _axis_domain(layout, str(trace.get("xaxis") or "x"))
    y_domain = _axis_domain(layout, str(trace.get("yaxis") or "y"))
    centre, top = (x_domain[0] + x_domain[1]) / 2, y_domain[1]
    for note in layout.get("annotations") or []:
        if note.get("xref") != "paper" or note.get("yref") != "paper":
            continue
        x, y = note.get("x"), note.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float):
            if abs(x - centre) < 1e-6 and abs(y - top) < 1e-6:
                return _plain(note.get("text"))
    return ""


def _plain(text: Any) -> str:
    """Text without Plotly's HTML tags (``<br>`` becomes ``; ``)."""
    if text is None:
        return ""
    spaced = re.sub(r"<br\s*/?>", "; ", str(text), flags=re.IGNORECASE)
    return re.sub(r"<[^>]+>", "", spaced).strip()


def _names(traces: list[dict[str, Any]]) -> list[str]:
    """Trace names; a band's unnamed lower edge takes the band's name (the next trace,
    filled to it), and the band's own trace is its upper edge."""
    names = [_plain(trace.get("name")) for trace in traces]
    for index in range(len(traces) - 1):
        following = traces[index + 1]
        if not names[index] and following.get("fill") == "tonexty" and names[index + 1]:
            names[index] = f"{names[index + 1]} (lower edge)"
            names[index + 1] = f"{names[index + 1]} (upper edge)"
    return names


def _error(trace: dict[str, Any], axis: str) -> tuple[list[Any], list[Any]]:
    error = trace.get(f"error_{axis}") or {}
    if not error or error.get("visible") is False:
        return [], []
    plus = _values(error.get("array"))
    minus = plus if error.get("symmetric", True) and not error.get("arrayminus") else []
    return _values(error.get("arrayminus")) or minus, plus


def _cell(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def trace_rows(trace: dict[str, Any], number: int, name: str, panel: str) -> list[dict[str, Any]]:
    """The points of one trace as rows."""
    x, y, z = _values(trace.get("x")), _values(trace.get("y")), _values(trace.get("z"))
    if z and isinstance(z[0], list):  # a heatmap: one row per cell
        where = {"trace": number, "name": name, "panel": panel}
        return [
            {**where, "x": _cell(x, j), "y": _cell(y, i), "z": v}
            for i, row in enumerate(z)
            for j, v in enumerate(row)
        ]
    x_minus, x_plus = _error(trace, "x")
    y_minus, y_plus = _error(trace, "y")
    columns = {
        "x": x,
        "y": y,
        "z": z,
        "base": _values(trace.get("base")),
        "x_minus": x_minus,
        "x_plus": x_plus,
        "y_minus": y_minus,
        "y_plus": y_plus,
        "text": [_plain(t) for t in _values(trace.get("text"))],
        "hover": [_plain(t) for t in _values(trace.get("hovertext"))],
    }
    points = max(len(x), len(y), len(z))
    rows = []
    for index in range(points):
        row = {"trace": number, "name": name, "panel": panel}
        for column, values in columns.items():
            # a single value for a trace of many points applies to every point
            row[column] = values[0] if len(values) == 1 and points > 1 else _cell(values, index)
        rows.append(row)
    return rows


def figure_rows(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """Every point of every trace of a Plotly figure (JSON form) as rows."""
    traces = [t for t in figure.get("data") or [] if isinstance(t, dict)]
    layout = figure.get("layout") or {}
    names = _names(traces)
    rows: list[dict[str, Any]] = []
    for number, trace in enumerate(traces):
        rows += trace_rows(trace, number, names[number], _panel(layout, trace))
    return rows


def _safe(value: Any) -> Any:
    """Text a spreadsheet would read as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def figure_csv(figure: dict[str, Any]) -> str:
    """The figure's data as CSV text (columns without any value are left out)."""
    rows = figure_rows(figure)
    used = [c for c in OPTIONAL if any(row.get(c) not in (None, "") for row in rows)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ALWAYS + used, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _safe(value) for key, value in row.items()})
    return buffer.getvalue()
