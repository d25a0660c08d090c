"""Multi-regional input–output (MRIO) tables: loading through pymrio, and the static maths.

:class:`MRIO` holds one table as sparse arrays: the intermediate flows ``Z`` (supplier rows,
customer columns, money per year), the final demand ``Y`` and the gross output ``x``, with the
(region, sector) labels of its industries. :func:`load_mrio` reads pymrio's test system, an
EXIOBASE 3 archive, an OECD ICIO file or a folder saved by pymrio.

The maths are pure functions on sparse arrays (Miller & Blair, 2009): technical coefficients
``A = Z diag(x)^-1``; total output ``x = (I - A)^-1 y``; total requirements (columns or rows of
the Leontief inverse); hypothetical extraction; value-added multipliers. Every product with
``(I - A)^-1`` is a sparse solve (an LU factorisation for moderate sizes, a Krylov iteration for
large ones): the dense inverse is never formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from chokepoint.errors import DataError

if TYPE_CHECKING:
    import pymrio

SolveMethod = Literal["auto", "direct", "iterative"]

DIRECT_LIMIT = 4000
"""Largest table solved by LU factorisation under ``method="auto"``; larger ones iterate."""

ITERATIVE_TOLERANCE = 1e-13
"""Relative residual the Krylov solver aims for."""

REFINEMENT_SWEEPS = 200
"""Most fixed-point sweeps ``v <- A v + b`` after the Krylov solve (see LeontiefSolver)."""

USD_TO_EUR = 0.92
"""EUR per USD, the approximate 2024 average the default dataset also assumes."""


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True, eq=False)
class MRIO:
    """One MRIO table as sparse arrays (flows per year, in the table's money unit).

    ``industries`` labels the rows of ``Z``, ``Y`` and ``x`` as (region, sector).
    ``eur_per_unit`` is what one money unit of the table is worth in euros (``None`` when
    the unit is not known); ``system`` names the classification (``exiobase3_ixi``,
    ``exiobase3_pxp``, ``oecd_icio``, ``pymrio_test`` or ``custom``).
    """

    name: str
    industries: pd.MultiIndex
    Z: sp.csr_matrix
    Y: np.ndarray
    x: np.ndarray
    final_demand_columns: pd.Index
    unit: str = ""
    eur_per_unit: float | None = None
    system: str = "custom"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_industries(self) -> int:
        return len(self.industries)

    @property
    def regions(self) -> list[str]:
        return list(dict.fromkeys(self.industries.get_level_values(0)))

    @property
    def sectors(self) -> list[str]:
        return list(dict.fromkeys(self.industries.get_level_values(1)))

    @property
    def final_demand(self) -> np.ndarray:
        """Total final demand on each industry (sum over regions and categories)."""
        return self.Y.sum(axis=1)

    @property
    def value_added(self) -> np.ndarray:
        """Value added per industry: output minus intermediate inputs (may be negative)."""
        return self.x - np.asarray(self.Z.sum(axis=0)).ravel()

    @property
    def A(self) -> sp.csr_matrix:
        """Technical coefficients, computed once."""
        if "A" not in self._cache:
            self._cache["A"] = technical_coefficients(self.Z, self.x)
        return self._cache["A"]

    def solver(self, method: SolveMethod = "auto") -> LeontiefSolver:
        """A solver for ``(I - A)``, factorised once per method."""
        key = f"solver:{method}"
        if key not in self._cache:
            self._cache[key] = LeontiefSolver(self.A, method)
        return self._cache[key]

    def index_of(self, region: str, sector: str) -> int:
        """Position of the industry (region, sector); :class:`DataError` if absent."""
        try:
            position = self.industries.get_loc((region, sector))
        except KeyError:
            raise DataError(
                f"no industry ({region}, {sector}) in the MRIO", file=self.name
            ) from None
        if not isinstance(position, (int, np.integer)):
            raise DataError(f"industry ({region}, {sector}) is not unique", file=self.name)
        return int(position)


def mrio_from_arrays(
    Z: sp.spmatrix | np.ndarray,
    Y: np.ndarray,
    industries: pd.MultiIndex,
    *,
    x: np.ndarray | None = None,
    final_demand_columns: pd.Index | None = None,
    name: str = "custom",
    unit: str = "",
    eur_per_unit: float | None = None,
    system: str = "custom",
) -> MRIO:
    """Build an :class:`MRIO` from arrays, checking shapes and signs once.

    ``x`` defaults to row sums of ``Z`` and ``Y`` (as pymrio's ``calc_x``).
    """
    flows = sp.csr_matrix(Z, dtype=float)
    flows.eliminate_zeros()
    demand = np.asarray(Y, dtype=float)
    if demand.ndim == 1:
        demand = demand[:, None]
    n = len(industries)
    if flows.shape != (n, n):
        raise DataError(f"Z is {flows.shape[0]}x{flows.shape[1]} for {n} industries", file=name)
    if demand.shape[0] != n:
        raise DataError(f"Y has {demand.shape[0]} rows for {n} industries", file=name)
    output = (
        np.asarray(flows.sum(axis=1)).ravel() + demand.sum(axis=1)
        if x is None
        else np.asarray(x, dtype=float).ravel()
    )
    if output.shape != (n,):
        raise DataError(f"x has {output.size} entries for {n} industries", file=name)
    if not (np.isfinite(flows.data).all() and np.isfinite(demand).all()):
        raise DataError("Z or Y holds a missing or infinite value", file=name)
    if (output < 0).any() or (flows.data < 0).any():
        raise DataError("negative gross output or intermediate flow", file=name)
    if industries.nlevels != 2:
        raise DataError("industries must be labelled (region, sector)", file=name)
    columns = (
        final_demand_columns
        if final_demand_columns is not None
        else pd.Index([f"final demand {k}" for k in range(demand.shape[1])])
    )
    return MRIO(
        name=name,
        industries=industries,
        Z=flows,
        Y=demand,
        x=output,
        final_demand_columns=columns,
        unit=unit,
        eur_per_unit=eur_per_unit,
        system=system,
    )


# ---------------------------------------------------------------------------- loading


def load_mrio(source: str | Path | pymrio.IOSystem, *, name: str | None = None) -> MRIO:
    """Load an MRIO table through pymrio.

    ``source`` is ``"test"`` (pymrio's bundled test system), a pymrio ``IOSystem``, or a
    path: an EXIOBASE 3 archive or folder (``IOT_2022_ixi.zip``), an OECD ICIO file
    (``ICIO2021_2018.csv`` or its zip), or a folder saved with ``IOSystem.save_all``.
    """
    import pymrio

    if isinstance(source, pymrio.IOSystem):
        return from_pymrio(source, name=name)
    if str(source) == "test":
        return from_pymrio(pymrio.load_test(), name=name or "pymrio test system")
    path = Path(source)
    if not path.exists():
        raise DataError("MRIO file or folder not found", file=path)
    try:
        system = _parse(path)
    except DataError:
        raise
    except Exception as exc:  # pymrio raises many kinds; report them as one data error
        raise DataError(f"pymrio could not read the MRIO: {exc}", file=path) from exc
    return from_pymrio(system, name=name or path.name)


def _parse(path: Path) -> pymrio.IOSystem:
    import pymrio

    stem = path.name
    if re.match(r"IOT_\d{4}_(ixi|pxp)", stem):
        return pymrio.parse_exiobase3(path)
    if stem.upper().startswith("ICIO"):
        return pymrio.parse_oecd(path)
    loaded = pymrio.load_all(path)
    if loaded is None:
        raise DataError("not an EXIOBASE 3, OECD ICIO or pymrio folder", file=path)
    return loaded


def from_pymrio(system: pymrio.IOSystem, *, name: str | None = None) -> MRIO:
    """Convert a pymrio ``IOSystem`` without computing its dense Leontief inverse.

    Uses ``Z`` when present, else ``A`` with ``x``, else ``A`` with ``Y`` (solving for ``x``
    sparsely).
    """
    label = name or str(getattr(system.meta, "name", None) or "mrio")
    if system.Y is None:
        raise DataError("the MRIO has no final demand (Y)", file=label)
    industries = pd.MultiIndex.from_tuples(
        [tuple(map(str, key)) for key in system.Y.index], names=["region", "sector"]
    )
    demand = system.Y.to_numpy(dtype=float)
    output = None if system.x is None else system.x.to_numpy(dtype=float).ravel()
    if system.Z is not None:
        flows = sp.csr_matrix(system.Z.reindex(index=system.Y.index, columns=system.Y.index))
    elif system.A is not None:
        coefficients = sp.csr_matrix(
            system.A.reindex(index=system.Y.index, columns=system.Y.index).to_numpy(float)
        )
        if output is None:
            output = LeontiefSolver(coefficients).solve(demand.sum(axis=1))
        flows = sp.csr_matrix(coefficients @ sp.diags(output))
    else:
        raise DataError("the MRIO has neither Z nor A", file=label)
    unit = _unit_of(system)
    return mrio_from_arrays(
        flows,
        demand,
        industries,
        x=output,
        final_demand_columns=pd.Index(system.Y.columns),
        name=label,
        unit=unit,
        eur_per_unit=euros_per_unit(unit),
        system=_system_of(system, industries),
    )


def _unit_of(system: pymrio.IOSystem) -> str:
    unit = getattr(system, "unit", None)
    if isinstance(unit, pd.DataFrame) and not unit.empty:
        return str(unit.iloc[0, 0])
    return ""


def _system_of(system: pymrio.IOSystem, industries: pd.MultiIndex) -> str:
    """The classification, from the table's name or, failing that, its sector labels."""
    name = str(getattr(system.meta, "name", "") or "").lower()
    sectors = set(industries.get_level_values(1))
    if name == "testmrio":
        return "pymrio_test"
    kind = str(getattr(system.meta, "system", "") or "").lower()
    if "Paddy rice" in sectors or ("exio" in name and kind == "pxp"):
        return "exiobase3_pxp"
    if "Cultivation of paddy rice" in sectors or "exio" in name:
        return "exiobase3_ixi"
    if "oecd" in name or "icio" in name or {"C26", "C29", "A01_02"} <= sectors:
        return "oecd_icio"
    return "custom"


def euros_per_unit(unit: str, usd_to_eur: float = USD_TO_EUR) -> float | None:
    """Euros per money unit of a table from its unit label (``M.EUR``, ``Mill USD``...)."""
    text = unit.strip().lower()
    scale = 1e6 if re.search(r"\b(m|mio|mill|million|millions)\b|^m\.", text) else None
    if scale is None and re.search(r"\b(k|thousand|thousands)\b", text):
        scale = 1e3
    if scale is None:
        return None
    if "eur" in text:
        return scale
    if "usd" in text or "dollar" in text:
        return scale * usd_to_eur
    return None


# ------------------------------------------------------------------------------- maths


def technical_coefficients(Z: sp.spmatrix, x: np.ndarray) -> sp.csr_matrix:
    """``A = Z diag(x)^-1``; columns of industries with no output are zero (as in pymrio)."""
    output = np.asarray(x, dtype=float).ravel()
    inverse = np.zeros_like(output)
    np.divide(1.0, output, out=inverse, where=output != 0)
    return sp.csr_matrix(sp.csr_matrix(Z) @ sp.diags(inverse))


class LeontiefSolver:
    """Solves ``(I - A) v = b`` and ``(I - A)^T v = b`` without inverting ``I - A``.

    ``method="direct"`` factorises once (sparse LU, SuperLU); ``"iterative"`` runs a
    Krylov method (GMRES, then BiCGSTAB) to a relative residual of ``1e-13``, then sweeps
    ``v <- A v + b`` until no entry changes by more than a few ulps: with ``A >= 0`` these
    sums have no cancellation, so small entries end as accurate as large ones. ``"auto"``
    factorises up to :data:`DIRECT_LIMIT` industries and iterates beyond.
    """

    def __init__(self, A: sp.spmatrix, method: SolveMethod = "auto") -> None:
        n = A.shape[0]
        self.method = (
            ("direct" if n <= DIRECT_LIMIT else "iterative") if method == "auto" else method
        )
        if self.method not in ("direct", "iterative"):
            raise ValueError(f"unknown solve method {method!r}")
        self.coefficients = sp.csr_matrix(A)
        self.matrix = sp.csc_matrix(sp.identity(n, format="csc") - sp.csc_matrix(A))
        self._lu = spla.splu(self.matrix) if self.method == "direct" else None

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``(I - A)^-1 rhs`` for a vector or the columns of a matrix."""
        return self._solve(np.asarray(rhs, dtype=float), transpose=False)

    def solve_transpose(self, rhs: np.ndarray) -> np.ndarray:
        """``(I - A)^-T rhs``: rows of the Leontief inverse and multipliers."""
        return self._solve(np.asarray(rhs, dtype=float), transpose=True)

    def _solve(self, rhs: np.ndarray, *, transpose: bool) -> np.ndarray:
        if self._lu is not None:
            return self._lu.solve(rhs, trans="T" if transpose else "N")
        if rhs.ndim == 1:
            return self._iterate(rhs, transpose)
        return np.column_stack([self._iterate(rhs[:, k], transpose) for k in range(rhs.shape[1])])

    def _iterate(self, rhs: np.ndarray, transpose: bool) -> np.ndarray:
        matrix = self.matrix.T.tocsr() if transpose else self.matrix.tocsr()
        scale = float(np.linalg.norm(rhs))
        if scale == 0.0:
            return np.zeros_like(rhs)
        solution = rhs.copy()  # the first term of the power series: a good start
        for solve in (spla.gmres, spla.bicgstab):
            options = {"restart": 60} if solve is spla.gmres else {}
            solution, _ = solve(
                matrix,
                rhs,
                x0=solution,
                rtol=ITERATIVE_TOLERANCE,
                atol=0.0,
                maxiter=2000,
                **options,
            )
            if np.linalg.norm(matrix @ solution - rhs) <= 1e-10 * scale:
                return self._refine(solution, rhs, transpose)
        raise RuntimeError("the Leontief system did not converge; is the spectral radius < 1?")

    def _refine(self, solution: np.ndarray, rhs: np.ndarray, transpose: bool) -> np.ndarray:
        coefficients = self.coefficients.T.tocsr() if transpose else self.coefficients
        limit = 4 * np.finfo(float).eps
        for _ in range(REFINEMENT_SWEEPS):
            updated = coefficients @ solution + rhs
            settled = np.abs(updated - solution) <= limit * np.abs(updated)
            solution = updated
            if settled.all():
                break
        return solution


def total_output(A: sp.spmatrix, y: np.ndarray, solver: LeontiefSolver | None = None) -> np.ndarray:
    """Gross output needed for final demand ``y``: ``x = (I - A)^-1 y``."""
    return (solver or LeontiefSolver(A)).solve(y)


def leontief_columns(
    A: sp.spmatrix, columns: np.ndarray | list[int], solver: LeontiefSolver | None = None
) -> np.ndarray:
    """Columns of the Leontief inverse ``L[:, columns]`` (``n × k``).

    ``L[i, j]`` is the output of industry ``i`` needed per unit of final demand for ``j``:
    column ``j`` is everything industry ``j`` depends on, directly and indirectly.
    """
    index = np.atleast_1d(np.asarray(columns, dtype=int))
    unit = np.zeros((A.shape[0], len(index)))
    unit[index, np.arange(len(index))] = 1.0
    return (solver or LeontiefSolver(A)).solve(unit)


def supplier_dependence(
    A: sp.spmatrix, suppliers: np.ndarray | list[int], solver: LeontiefSolver | None = None
) -> np.ndarray:
    """Rows of the Leontief inverse ``L[suppliers, :]`` (``k × n``).

    Row ``i`` says, for each industry ``j``, how much output of supplier ``i`` one unit of
    final demand for ``j`` requires: the dependence of every industry on that supplier.
    """
    index = np.atleast_1d(np.asarray(suppliers, dtype=int))
    unit = np.zeros((A.shape[0], len(index)))
    unit[index, np.arange(len(index))] = 1.0
    return (solver or LeontiefSolver(A)).solve_transpose(unit).T


def extraction_loss(
    A: sp.spmatrix,
    y: np.ndarray,
    suppliers: np.ndarray | list[int],
    *,
    mode: Literal["full", "backward", "forward"] = "full",
    method: SolveMethod = "auto",
) -> np.ndarray:
    """Output lost in every industry if the ``suppliers`` are hypothetically extracted.

    ``full`` removes their rows, columns and final demand (the classic extraction);
    ``forward`` removes only their sales of intermediate inputs (rows of ``A``): nobody can
    buy from them; ``backward`` removes only their purchases (columns of ``A``). Returns
    ``x - x̃``; under ``full`` the extracted industries lose their whole output.
    """
    index = np.atleast_1d(np.asarray(suppliers, dtype=int))
    keep = np.ones(A.shape[0])
    keep[index] = 0.0
    mask = sp.diags(keep)
    demand = np.asarray(y, dtype=float)
    baseline = LeontiefSolver(A, method).solve(demand)
    if mode == "full":
        reduced, demand = mask @ A @ mask, keep * demand
    elif mode == "forward":
        reduced = mask @ A
    elif mode == "backward":
        reduced = A @ mask
    else:
        raise ValueError(f"unknown extraction mode {mode!r}")
    return baseline - LeontiefSolver(sp.csr_matrix(reduced), method).solve(demand)


def value_added_multipliers(
    A: sp.spmatrix, value_added: np.ndarray, x: np.ndarray, solver: LeontiefSolver | None = None
) -> np.ndarray:
    """Value added generated in the whole economy per unit of final demand for each industry.

    ``m = v (I - A)^-1`` with ``v = value_added / x``; equals pymrio's ``M`` of a
    value-added extension.
    """
    output = np.asarray(x, dtype=float)
    share = np.zeros_like(output)
    np.divide(value_added, output, out=share, where=output != 0)
    return (solver or LeontiefSolver(A)).solve_transpose(share)


def exposure_table(
    mrio: MRIO, supplier: tuple[str, str], *, method: SolveMethod = "auto"
) -> pd.DataFrame:
    """Dependence of every industry on one supplier industry, as a tidy table.

    Columns: region, sector, ``requirement`` (``L[supplier, j]``: supplier output per unit
    of final demand for ``j``), ``embodied`` (supplier output embodied in ``j``'s final
    demand: ``L[supplier, j] * y_j``) and ``extraction_loss`` (output of ``j`` lost under
    full extraction of the supplier).
    """
    position = mrio.index_of(*supplier)
    row = supplier_dependence(mrio.A, [position], mrio.solver(method))[0]
    demand = mrio.final_demand
    table = mrio.industries.to_frame(index=False)
    table["requirement"] = row
    table["embodied"] = row * demand
    table["extraction_loss"] = extraction_loss(mrio.A, demand, [position], method=method)
    return table
