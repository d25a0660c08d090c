"""Shocks for the ARIO model: capacity lost per industry, step and draw.

:class:`CapacityLoss` is what :func:`~chokepoint.economy.ario.run_ario` takes: the share Δ of
each hit industry's production capacity lost on each step (per draw, or one pattern for all
draws). :func:`capital_loss` builds it from BoARIO-style capital destruction events
(``EventKapitalRecover``), timed as BoARIO times them; the hybrid link builds it from
physical shortfalls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from chokepoint.economy.ario_types import ARIOModel


@dataclass(frozen=True, eq=False)
class CapacityLoss:
    """Share of production capacity lost (Δ in ``[0, 1]``) by some industries, per step.

    ``values`` is ``[step, len(rows), draws]`` (``draws`` may be 1 for all draws); steps past
    its end have no loss.
    """

    rows: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 3 or self.values.shape[1] != len(self.rows):
            raise ValueError("values must be [step, row, draw] with one row per industry")
        if len(np.unique(self.rows)) != len(self.rows):
            raise ValueError("rows must be distinct industries")
        if (self.values < 0).any() or (self.values > 1).any():
            raise ValueError("capacity loss must lie in [0, 1]")

    @property
    def draws(self) -> int:
        return self.values.shape[2]

    @property
    def steps(self) -> int:
        return self.values.shape[0]

    @staticmethod
    def none() -> CapacityLoss:
        return CapacityLoss(np.zeros(0, dtype=np.int64), np.zeros((0, 0, 1)))

    def combine(self, other: CapacityLoss) -> CapacityLoss:
        """Both losses at once: the larger where they overlap (BoARIO's rule)."""
        rows = np.union1d(self.rows, other.rows)
        steps = max(self.steps, other.steps)
        draws = max(self.draws, other.draws)
        if 1 < min(self.draws, other.draws) != draws:
            raise ValueError("capacity losses with different numbers of draws")
        values = np.zeros((steps, len(rows), draws))
        for loss in (self, other):
            where = np.searchsorted(rows, loss.rows)
            values[: loss.steps, where] = np.maximum(values[: loss.steps, where], loss.values)
        return CapacityLoss(rows, values)


RecoveryFunction = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _linear(elapsed: np.ndarray, initial: np.ndarray, tau: float) -> np.ndarray:
    return initial * (1.0 - elapsed / tau)


def _convex(elapsed: np.ndarray, initial: np.ndarray, tau: float) -> np.ndarray:
    return initial * (1.0 - 1.0 / tau) ** (4.0 * elapsed)


def _convex_unscaled(elapsed: np.ndarray, initial: np.ndarray, tau: float) -> np.ndarray:
    return initial * (1.0 - 1.0 / tau) ** elapsed


def _concave(elapsed: np.ndarray, initial: np.ndarray, tau: float) -> np.ndarray:
    steep = 1e-6
    exponent = (np.log(tau) - np.log(steep)) / (np.log(tau) - np.log(2.0))
    return initial * tau / (tau + steep * elapsed**exponent)


RECOVERY_FUNCTIONS: Mapping[str, RecoveryFunction] = {
    "linear": _linear,
    "convexe": _convex,
    "convexe noscale": _convex_unscaled,
    "concave": _concave,
}
"""BoARIO's recovery shapes by its names: capital still destroyed after ``elapsed`` steps."""


@dataclass(frozen=True)
class CapitalDestruction:
    """A BoARIO ``EventKapitalRecover``: capital destroyed, then recovered without rebuilding.

    ``damages`` maps (region, sector) to capital destroyed in the table's money unit. The full
    damage holds from step ``occurrence`` to ``occurrence + duration``; recovery follows
    ``recovery`` (a name in :data:`RECOVERY_FUNCTIONS`) over ``recovery_tau`` steps.
    ``rounding_decimals`` rounds the recovering damage as BoARIO does
    (``log10(event_monetary_factor) + 1`` decimals).
    """

    damages: pd.Series
    occurrence: int = 1
    duration: int = 1
    recovery_tau: int = 30
    recovery: str = "linear"
    rounding_decimals: int | None = None


def capital_loss(
    model: ARIOModel, events: Sequence[CapitalDestruction], steps: int
) -> CapacityLoss:
    """Capacity lost through destroyed capital, summed over events, as BoARIO times it.

    At step ``t`` an event's damage is 0 before ``occurrence``, the full damage up to and
    including ``occurrence + duration``, then ``recovery(t - occurrence - duration - 1)``
    (BoARIO applies the recovery after each step's production). Δ = damage / capital.
    """
    damage = np.zeros((steps, model.n_industries))
    for event in events:
        if event.recovery not in RECOVERY_FUNCTIONS:
            raise ValueError(f"unknown recovery function {event.recovery!r}")
        if event.occurrence < 1 or event.duration < 1 or event.recovery_tau < 1:
            raise ValueError("occurrence, duration and recovery_tau must be at least 1")
        initial = np.zeros(model.n_industries)
        positions = model.industries.get_indexer(event.damages.index)
        if (positions < 0).any():
            raise ValueError("damages name industries that are not in the model")
        initial[positions] = event.damages.to_numpy(float)
        start, end = event.occurrence, event.occurrence + event.duration
        damage[start : min(end + 1, steps)] += initial
        recover = RECOVERY_FUNCTIONS[event.recovery]
        for step in range(end + 1, steps):
            left = recover(np.asarray(step - end - 1.0), initial, float(event.recovery_tau))
            if event.rounding_decimals is not None:
                left = np.round(left, event.rounding_decimals)
            if not left.any():
                break
            damage[step] += left
    if (damage > model.capital * (1 + 1e-12)).any():
        raise ValueError("damage exceeds the productive capital of an industry")
    rows = np.flatnonzero(damage.any(axis=0))
    share = np.zeros((steps, len(rows)))
    capital = model.capital[rows]
    np.divide(damage[:, rows], capital, out=share, where=capital != 0)
    return CapacityLoss(rows, np.clip(share, 0.0, 1.0)[:, :, None])
