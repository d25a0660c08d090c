"""A small vectorised builder of sparse linear programs (columns, rows, bounds, integrality).

Variables are blocks of columns shaped like numpy arrays; a constraint block is a sum of
terms ``coef × variable`` broadcast to one shape, each element one row. The result is a
CSC matrix handed to HiGHS as it is: no per-element Python objects, so a model with a
million nonzeros builds in about a second (``bench/optimise.py`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass
class LinearProgram:
    """Minimise ``cost · x`` subject to ``row_lower <= A x <= row_upper`` and bounds."""

    cost: list[np.ndarray] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    row_lower: list[np.ndarray] = field(default_factory=list)
    row_upper: list[np.ndarray] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0
    names: dict = field(default_factory=dict)
    row_names: dict = field(default_factory=dict)

    def var(
        self,
        name: str,
        shape: tuple[int, ...],
        *,
        lower: float | np.ndarray = 0.0,
        upper: float | np.ndarray = np.inf,
        cost: float | np.ndarray = 0.0,
        integer: bool = False,
    ) -> np.ndarray:
        """A block of columns; returns their indices, shaped ``shape``."""
        size = int(np.prod(shape)) if len(shape) else 1
        index = np.arange(self.n_cols, self.n_cols + size).reshape(shape)
        self.n_cols += size
        for target, value in ((self.lower, lower), (self.upper, upper), (self.cost, cost)):
            target.append(np.broadcast_to(np.asarray(value, float), shape).ravel().copy())
        self.integer.append(np.full(size, integer, dtype=bool))
        self.names[name] = index
        return index

    def constrain(
        self,
        name: str,
        terms: list[tuple[float | np.ndarray, np.ndarray]],
        *,
        lower: float | np.ndarray = -np.inf,
        upper: float | np.ndarray = np.inf,
    ) -> np.ndarray:
        """Rows ``lower <= Σ coef × var <= upper``, broadcast over the terms' common shape.

        A term's variable array may carry a trailing axis (summed within the row).
        """
        shapes = [np.shape(np.asarray(v))[: np.ndim(v) - _summed(v, c)] for c, v in terms]
        shape = np.broadcast_shapes(*shapes, np.shape(lower), np.shape(upper))
        size = int(np.prod(shape)) if len(shape) else 1
        row_index = np.arange(self.n_rows, self.n_rows + size).reshape(shape)
        for coef, variables in terms:
            extra = _summed(variables, coef)
            variables = np.asarray(variables)
            full = (*shape, *variables.shape[variables.ndim - extra :]) if extra else shape
            cols = np.broadcast_to(variables, full)
            vals = np.broadcast_to(np.asarray(coef, float), full)
            rows = np.broadcast_to(row_index.reshape(shape + (1,) * extra), full)
            keep = vals != 0
            self.rows.append(rows[keep])
            self.cols.append(cols[keep])
            self.vals.append(vals[keep])
        self.row_lower.append(np.broadcast_to(np.asarray(lower, float), shape).ravel().copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, float), shape).ravel().copy())
        self.n_rows += size
        self.row_names[name] = row_index
        return row_index

    def set_upper(self, columns: np.ndarray, values: float | np.ndarray) -> None:
        """Change the upper bounds of some columns (after they were created)."""
        upper = np.concatenate(self.upper) if len(self.upper) > 1 else self.upper[0]
        upper[np.asarray(columns).ravel()] = np.broadcast_to(values, np.shape(columns)).ravel()
        self.upper = [upper]

    def arrays(self) -> dict:
        """The program as flat arrays and a CSC matrix."""
        matrix = sp.csc_matrix(
            (
                np.concatenate(self.vals) if self.vals else np.zeros(0),
                (
                    np.concatenate(self.rows) if self.rows else np.zeros(0, int),
                    np.concatenate(self.cols) if self.cols else np.zeros(0, int),
                ),
            ),
            shape=(self.n_rows, self.n_cols),
        )
        matrix.sum_duplicates()
        return {
            "cost": np.concatenate(self.cost),
            "lower": np.concatenate(self.lower),
            "upper": np.concatenate(self.upper),
            "integer": np.concatenate(self.integer),
            "matrix": matrix,
            "row_lower": np.concatenate(self.row_lower),
            "row_upper": np.concatenate(self.row_upper),
        }

    @property
    def nonzeros(self) -> int:
        return int(sum(len(v) for v in self.vals))


class Summed(np.ndarray):
    """A variable index array whose last axis is summed within each row."""


def summed(variables: np.ndarray) -> Summed:
    """Mark the last axis of a variable index array as summed within each row."""
    return np.asarray(variables).view(Summed)


def _summed(variables, coef) -> int:
    return 1 if isinstance(variables, Summed) else 0
