"""Public validation episodes: model against observed, pass or fail per check.

An episode folder (validation/README.md) holds ``observed.csv``, ``checks.yaml`` (the
observed quantities, comparisons and tolerances, written before any model run),
``scenario.yaml`` and ``model.yaml`` (each check's model quantity in a form this module
computes: ``level``, ``ratio`` or ``first_month`` of a group of exports, see the file).

:func:`run_episode` runs the scenario once (its own draws and seed) and once without events
(the no-shock baseline), takes every group's monthly exports through the one adapter
(:mod:`chokepoint.evidence.series`), and judges each check as the README says: the median
over draws against ``accept``, bounds included, with the share of draws inside ``accept``
as information. A check the network or engine cannot produce is reported as "not
evaluated" with the reason, never as passed. The observed value of every check is also
recomputed from observed.csv with its formula, as a check on the transcription.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from chokepoint.errors import ChokepointError, DataError
from chokepoint.evidence.observed import UNITS, read_observed
from chokepoint.evidence.series import SeriesSpec, model_series, monthly
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.simulation.check import network_for, network_path
from chokepoint.simulation.run import BALANCE_TOLERANCE, prepare, run_chunk

FILES = ("observed.csv", "checks.yaml", "scenario.yaml", "model.yaml")
CHUNK = 100
"""Draws per engine chunk while the monthly exports are extracted."""

COLUMNS = [
    "episode",
    "check",
    "title",
    "comparison",
    "accept",
    "observed",
    "observed_recomputed",
    "model",
    "value",
    "share_in_accept",
    "result",
    "reason",
]


@dataclass
class Episode:
    """An episode folder, read."""

    name: str
    folder: Path
    scenario: Scenario
    checks: dict
    model: dict
    observed: pd.DataFrame


def _yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise DataError("expected a mapping", file=path)
    return data


def load_episode(folder: str | Path) -> Episode:
    """Read an episode folder (every file must be there)."""
    path = Path(folder)
    for name in FILES:
        if not (path / name).is_file():
            raise DataError("an episode needs this file", file=path / name)
    checks, model = _yaml(path / "checks.yaml"), _yaml(path / "model.yaml")
    ids = {c["id"] for c in checks.get("checks", [])}
    missing = sorted(ids - set(model.get("checks", {})))
    if missing:
        raise DataError(
            "no model quantity for this check", file=path / "model.yaml", field=missing[0]
        )
    return Episode(
        name=str(checks.get("episode", path.name)),
        folder=path,
        scenario=Scenario.from_yaml(path / "scenario.yaml"),
        checks=checks,
        model=model,
        observed=read_observed(path / "observed.csv"),
    )


def episode_folders(root: str | Path) -> list[Path]:
    """Every episode folder under ``root`` (a folder with a checks.yaml), sorted."""
    return sorted(p.parent for p in Path(root).glob("*/checks.yaml"))


# ----------------------------------------------------------------- observed values

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def formula_value(formula: str, names: dict[str, float]) -> float:
    """Arithmetic on names: ``+ - * /``, unary minus, parentheses and numbers only."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        raise ChokepointError(f"formula '{formula}': not allowed: {ast.dump(node)[:40]}")

    return value(ast.parse(formula, mode="eval"))


def _input_value(observed: pd.DataFrame, spec: dict, unit: str) -> float:
    day = pd.Timestamp(spec["date"])
    rows = observed[
        (observed["series"] == spec["series"])
        & (observed["date"] == day)
        & (observed["period"] == str(spec["period"]))
    ]
    if rows.empty:
        raise ChokepointError(f"no observed row for {spec['series']} {day.date()} {spec['period']}")
    row = rows.iloc[0]
    base, factor = UNITS[str(row["unit"])]
    target, to_target = UNITS.get(unit, (unit, 1.0))
    return float(row["value"]) * (factor / to_target if base == target else 1.0)


def _recomputed(episode: Episode, check: dict) -> float:
    """The check's observed value from observed.csv and its formula (NaN: no formula)."""
    observed = check.get("observed", {})
    if "formula" not in observed:
        return math.nan
    names: dict[str, float] = {}
    for name, ref in (episode.checks.get("references") or {}).items():
        values = {
            k: _input_value(episode.observed, v, ref["unit"]) for k, v in ref["inputs"].items()
        }
        names[name] = formula_value(str(ref["formula"]), values)
    for key, spec in (observed.get("inputs") or {}).items():
        names[key] = _input_value(episode.observed, spec, str(observed.get("unit", "")))
    return formula_value(str(observed["formula"]), names)


# ------------------------------------------------------------------ model values


def _months(bounds: list) -> pd.PeriodIndex:
    first, last = (pd.Period(str(b), freq="M") for b in bounds)
    return pd.period_range(first, last, freq="M")


def _group_months(
    scenario: Scenario, net: SupplyNetwork, groups: dict[str, SeriesSpec], draws: int
) -> dict[str, pd.DataFrame | str]:
    """Monthly exports per group (draws × months), or why the engine cannot give them."""
    prepared = prepare(scenario, net, keep=True)
    parts: dict[str, list[pd.DataFrame]] = {g: [] for g in groups}
    problems: dict[str, str] = {}
    for begin in range(0, draws, CHUNK):
        chunk = run_chunk(prepared, np.arange(begin, min(begin + CHUNK, draws)))
        if max(chunk.balance, prepared.baseline_balance) > BALANCE_TOLERANCE:
            raise RuntimeError(f"mass balance violated: residual {chunk.balance:.3g}")
        assert chunk.dataset is not None
        for name, spec in groups.items():
            if name in problems:
                continue
            try:
                parts[name].append(monthly(model_series(chunk.dataset, spec, net), spec.month))
            except ChokepointError as exc:
                problems[name] = str(exc)
    return {name: problems.get(name) or pd.concat(frames) for name, frames in parts.items()}


@dataclass
class _Group:
    """One group's monthly exports: per draw in the run, and without the shock."""

    run: pd.DataFrame
    quiet: Any  # pd.Series indexed by pd.Period (months)
    daily_baseline: float

    def baseline(self, months: pd.PeriodIndex) -> np.ndarray:
        """No-shock exports of any months (the steady daily flow times their days)."""
        return np.array(
            [
                float(self.quiet[m])
                if m in self.quiet.index
                else self.daily_baseline * m.days_in_month
                for m in months
            ]
        )

    def covered(self, months: pd.PeriodIndex) -> bool:
        return all(m in self.run.columns for m in months)


def _values(kind: dict, group: _Group, start: pd.Period) -> tuple[Any, np.ndarray | None, str]:
    """The model value (median over draws), the per-draw values and what is missing."""
    if kind["kind"] == "level":
        level = group.daily_baseline * 365.0 / 12.0
        return level, None, ""
    window = _months(kind["window"])
    if not group.covered(window):
        return None, None, f"the run does not cover {window[0]}..{window[-1]} (longer horizon)"
    ratios = group.run[window].to_numpy(float) / np.where(
        group.baseline(window) > 0, group.baseline(window), np.nan
    )
    if kind["kind"] == "first_month":
        reached = ratios >= float(kind["threshold"])
        firsts = np.where(reached.any(axis=1), reached.argmax(axis=1), len(window))
        median = int(np.quantile(firsts, 0.5, method="lower"))
        labels = np.array([str(m) for m in window] + [None], dtype=object)
        return labels[median], labels[firsts], ""
    base = _months(kind.get("base", kind["window"]))
    denominator = np.tile(group.baseline(base), (len(group.run), 1))
    if kind.get("base_from") == "run":
        inside = [i for i, m in enumerate(base) if m in group.run.columns]
        outside = [m for i, m in enumerate(base) if i not in inside and m >= start]
        if outside:
            return None, None, f"the run does not cover {outside[0]} (longer horizon)"
        denominator[:, inside] = group.run[base[inside]].to_numpy(float)
    per_draw = group.run[window].to_numpy(float).sum(axis=1) / denominator.sum(axis=1)
    return float(np.median(per_draw)), per_draw, ""


def _judge(comparison: str, accept: list, value: Any) -> bool:
    if comparison == "month_in_interval":
        return value is not None and str(accept[0]) <= str(value) <= str(accept[1])
    return bool(float(accept[0]) <= float(value) <= float(accept[1]))


def _unit_factor(net: SupplyNetwork, spec: SeriesSpec, unit: str) -> float:
    units = dict(zip(net.commodities["id"], net.commodities["unit"], strict=True))
    found = {str(units.get(c, "")) for c in spec.commodities}
    if len(found) != 1 or next(iter(found)) not in UNITS or unit not in UNITS:
        return 1.0
    source = UNITS[next(iter(found))]
    target = UNITS[unit]
    return source[1] / target[1] if source[0] == target[0] else 1.0


def _check_row(
    episode: Episode, check: dict, groups: dict[str, _Group | str], default: bool, start: pd.Period
) -> dict:
    kind = episode.model["checks"][check["id"]]
    observed = check.get("observed", {}).get("value")
    row = {
        "episode": episode.name,
        "check": check["id"],
        "title": check.get("title", ""),
        "comparison": check["comparison"],
        "accept": [str(a) for a in check["accept"]],
        "observed": observed if isinstance(observed, str) else _number(observed),
        "observed_recomputed": _recomputed(episode, check),
        "model": None,
        "value": None,
        "share_in_accept": None,
        "result": "not evaluated",
        "reason": "",
    }
    group = groups[kind["group"]]
    if default and check.get("evaluable_with_default_network") is False:
        row["reason"] = (
            "the default network cannot produce this quantity (checks.yaml, scenario.md)"
        )
    elif isinstance(group, str):
        row["reason"] = group
    elif group.daily_baseline <= 0:
        row["reason"] = "the network has no such exports (zero without the shock)"
    else:
        model, per_draw, missing = _values(kind, group, start)
        if missing:
            row["reason"] = missing
        else:
            _fill(row, check, model, per_draw)
    return row


def _number(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    return float(value) if isinstance(value, int | float) else value


def _fill(row: dict, check: dict, model: Any, per_draw: np.ndarray | None) -> None:
    comparison, accept = check["comparison"], check["accept"]
    if comparison == "month_in_interval":
        accept = [_number(a) if isinstance(a, dt.date) else str(a) for a in accept]
        row["accept"] = accept
    value = model
    draws = per_draw
    if comparison == "model_over_observed":
        value = model / float(check["observed"]["value"])
        draws = None if per_draw is None else per_draw / float(check["observed"]["value"])
    row["model"] = model
    row["value"] = value
    if draws is not None:
        row["share_in_accept"] = float(np.mean([_judge(comparison, accept, v) for v in draws]))
    row["result"] = "pass" if _judge(comparison, accept, value) else "fail"


def run_episode(
    episode: Episode, network: SupplyNetwork | str | Path | None = None, draws: int | None = None
) -> pd.DataFrame:
    """Every check of the episode: observed, model, the value compared, pass/fail/not
    evaluated and why (columns :data:`COLUMNS`)."""
    scenario = episode.scenario.with_overrides(draws=draws)
    net = network_for(scenario, network)
    default = network_path(scenario, network) is None and not isinstance(network, SupplyNetwork)
    specs = {
        name: SeriesSpec(
            "exports",
            str(g["exporter"]).upper(),
            str(g.get("destination", "WORLD")).upper(),
            tuple(g["commodities"]),
        )
        for name, g in episode.model["groups"].items()
    }
    runs = _group_months(scenario, net, specs, scenario.draws)
    quiet = scenario.model_copy(update={"events": [], "draws": 1})
    still = _group_months(quiet, net, specs, 1)
    units = {
        c["id"]: str(c.get("observed", {}).get("unit", "kg")) for c in episode.checks["checks"]
    }
    groups: dict[str, _Group | str] = {}
    for name in specs:
        run, base = runs[name], still[name]
        if isinstance(run, str) or isinstance(base, str):
            groups[name] = run if isinstance(run, str) else str(base)
            continue
        quiet_months = base.iloc[0]
        rate = float(quiet_months.sum()) / sum(m.days_in_month for m in quiet_months.index)
        groups[name] = _Group(run, quiet_months, rate)
    rows = []
    start = pd.Period(scenario.start, freq="M")
    for check in episode.checks["checks"]:
        kind = episode.model["checks"][check["id"]]
        group = groups[kind["group"]]
        if isinstance(group, _Group) and kind["kind"] == "level":
            factor = _unit_factor(net, specs[kind["group"]], units[check["id"]])
            group = _Group(group.run, group.quiet, group.daily_baseline * factor)
        rows.append(_check_row(episode, check, {**groups, kind["group"]: group}, default, start))
    return pd.DataFrame(rows, columns=COLUMNS)


def validate_episodes(
    root: str | Path, network: SupplyNetwork | str | Path | None = None, draws: int | None = None
) -> pd.DataFrame:
    """Every check of every episode under ``root``."""
    folders = episode_folders(root)
    if not folders:
        raise ChokepointError(f"{root}: no episode folder (a folder with checks.yaml)")
    return pd.concat(
        [run_episode(load_episode(f), network, draws) for f in folders], ignore_index=True
    )
