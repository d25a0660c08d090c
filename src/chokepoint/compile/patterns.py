"""Compact daily inputs: ``Rows`` (values per distinct pattern) and the accumulator that
combines the patterns of several events on one row, plus small array helpers.

A ban on ten thousand links is one pattern: rows keep a pattern number, not an array each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Rows:
    """Daily inputs for a few rows, stored once per distinct pattern.

    Row ``rows[i]`` takes ``values[day, pattern[i], draw]``; the last axis has one column
    when the patterns do not vary by draw. A ban on ten thousand links is one pattern.
    """

    rows: np.ndarray
    pattern: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, horizon: int) -> Rows:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((horizon, 0, 1)))

    @classmethod
    def concat(cls, first: Rows, second: Rows) -> Rows:
        """Both sets of rows (a row may appear in each), patterns renumbered."""
        width = max(first.values.shape[2], second.values.shape[2])
        horizon = first.values.shape[0]
        values = np.concatenate(
            [
                np.broadcast_to(part.values, (horizon, part.values.shape[1], width))
                for part in (first, second)
            ],
            axis=1,
        )
        return cls(
            np.concatenate([first.rows, second.rows]).astype(np.int64),
            np.concatenate([first.pattern, second.pattern + first.values.shape[1]]).astype(
                np.int64
            ),
            np.ascontiguousarray(values),
        )

    def row_values(self, row: int) -> np.ndarray:
        """``[day, draw]`` values of one row (for tests and diagnostics)."""
        position = int(np.flatnonzero(self.rows == row)[0])
        return self.values[:, self.pattern[position], :]


class Accumulator:
    """Collects ``[day, draw]`` (or draw-independent ``[day, 1]``) arrays per row.

    Rows keep references to shared pattern arrays; combining (multiply, add, min, max) is
    done once per distinct list of patterns, so many rows hit by the same event cost one
    array, not one each.
    """

    def __init__(self, horizon: int, draws: int, neutral: float, combine: str) -> None:
        self.horizon, self.draws, self.neutral, self.combine = horizon, draws, neutral, combine
        self.patterns: list[np.ndarray] = []
        self.known: dict[int, int] = {}
        self.rows: dict[int, list[int]] = {}

    def pattern(self, values: np.ndarray) -> int:
        """Register an array (once per object) and return its pattern number."""
        key = id(values)
        if key not in self.known:
            values = np.asarray(values, dtype=float)
            if values.ndim == 1:
                values = values[:, None]
            self.known[key] = len(self.patterns)
            self.patterns.append(values)
        return self.known[key]

    def apply(self, row: int, values: np.ndarray | int) -> None:
        number = values if isinstance(values, int) else self.pattern(values)
        self.rows.setdefault(int(row), []).append(number)

    def _combine(self, numbers: tuple[int, ...]) -> np.ndarray:
        result = self.patterns[numbers[0]]
        for number in numbers[1:]:
            other = self.patterns[number]
            if self.combine == "multiply":
                result = result * other
            elif self.combine == "add":
                result = result + other
            elif self.combine == "min":
                result = np.minimum(result, other)
            else:
                result = np.maximum(result, other)
        return result

    def result(self) -> Rows:
        if not self.rows:
            return Rows.empty(self.horizon)
        keys = np.array(sorted(self.rows), dtype=np.int64)
        combined: dict[tuple[int, ...], int] = {}
        arrays: list[np.ndarray] = []
        pattern = np.empty(len(keys), dtype=np.int64)
        for position, row in enumerate(keys):
            numbers = tuple(self.rows[int(row)])
            if numbers not in combined:
                combined[numbers] = len(arrays)
                arrays.append(self._combine(numbers))
            pattern[position] = combined[numbers]
        width = max(a.shape[1] for a in arrays)
        values = np.empty((self.horizon, len(arrays), width))
        for number, array in enumerate(arrays):
            values[:, number, :] = array  # broadcasts draw-independent patterns
        return Rows(keys, pattern, values)


def mask(horizon: int, start: int, end: int) -> np.ndarray:
    days = np.arange(horizon)
    return (days >= start) & (days < end)


def ramp(horizon: int, start: float, ramp_days: np.ndarray) -> np.ndarray:
    """``[day, draw]``: 0 before start, rising linearly to 1 over ``ramp_days``."""
    days = np.arange(horizon)[:, None] - start
    with np.errstate(divide="ignore", invalid="ignore"):
        ramp = np.where(ramp_days > 0, (days + 1) / np.maximum(ramp_days, 1e-12), 1.0)
    return np.clip(np.where(days >= 0, ramp, 0.0), 0.0, 1.0)


def volume_cap(share: np.ndarray, active: np.ndarray, headroom: float) -> np.ndarray:
    """Within the window, the open share of contracts ships at most its baseline volume
    (a fraction of the link's baseline flow; the engine multiplies by the flow)."""
    return np.where(active, share * (1.0 + headroom), np.inf)


def columns(values: np.ndarray) -> np.ndarray:
    """Per-draw values, or a single value when every draw has the same."""
    values = np.asarray(values, dtype=float)
    return values[:1] if len(values) and np.all(values == values[0]) else values


def narrow(values: np.ndarray) -> np.ndarray:
    """A ``[day, draw]`` array as ``[day, 1]`` when it does not vary by draw."""
    if values.ndim == 2 and values.shape[1] > 1 and np.all(values == values[:, :1]):
        return values[:, :1]
    return values
