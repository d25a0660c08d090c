"""Synthetic MRIO tables of any size, for tests and benchmarks (EXIOBASE-like sparsity).

A table has ``regions × sectors`` industries labelled ``r000``/``s000`` (so that their
lexicographic order is their order, as BoARIO requires). Technical coefficients are sparse
and random, with more domestic than foreign inputs and column sums between 0.3 and 0.7, so
every industry has positive value added; final demand is positive everywhere, and output
solves ``x = (I - A)^-1 y``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from chokepoint.economy.mrio import MRIO, LeontiefSolver, mrio_from_arrays

if TYPE_CHECKING:
    import pymrio

DOMESTIC_BIAS = 5.0
"""Weight of a domestic input relative to a foreign one before the columns are scaled."""


def synthetic_mrio(regions: int, sectors: int, *, density: float = 0.02, seed: int = 0) -> MRIO:
    """A random productive MRIO with ``regions * sectors`` industries.

    ``density`` is the share of non-zero intermediate flows (the diagonal is always
    non-zero). The money unit is "M.EUR" so that its flows read like EXIOBASE's.
    """
    if regions < 1 or sectors < 1 or not 0 < density <= 1:
        raise ValueError("need at least one region and sector and 0 < density <= 1")
    rng = np.random.default_rng(seed)
    n = regions * sectors
    draws = int(round(density * n * n))
    rows = rng.integers(0, n, size=draws)
    cols = rng.integers(0, n, size=draws)
    keys = np.unique(np.concatenate([rows * n + cols, np.arange(n) * (n + 1)]))
    rows, cols = keys // n, keys % n
    weights = rng.random(len(keys)) ** 2
    weights[rows // sectors == cols // sectors] *= DOMESTIC_BIAS
    column_total = np.bincount(cols, weights=weights, minlength=n)
    target = rng.uniform(0.3, 0.7, size=n)
    coefficients = sp.csr_matrix(
        (weights * (target / column_total)[cols], (rows, cols)), shape=(n, n)
    )
    demand_total = rng.lognormal(mean=8.0, sigma=1.5, size=n)
    home = np.repeat(np.arange(regions), sectors)
    split = rng.random((n, regions))
    split[np.arange(n), home] += 2.0 * split.sum(axis=1)
    split /= split.sum(axis=1, keepdims=True)
    demand = demand_total[:, None] * split
    output = LeontiefSolver(coefficients).solve(demand_total)
    flows = sp.csr_matrix(coefficients @ sp.diags(output))
    region_names = [f"r{k:03d}" for k in range(regions)]
    sector_names = [f"s{k:03d}" for k in range(sectors)]
    industries = pd.MultiIndex.from_product(
        [region_names, sector_names], names=["region", "sector"]
    )
    columns = pd.MultiIndex.from_product(
        [region_names, ["final demand"]], names=["region", "category"]
    )
    return mrio_from_arrays(
        flows,
        demand,
        industries,
        x=output,
        final_demand_columns=columns,
        name=f"synthetic {regions}x{sectors} (density {density:g}, seed {seed})",
        unit="M.EUR",
        eur_per_unit=1e6,
    )


def to_pymrio(mrio: MRIO) -> pymrio.IOSystem:
    """The table as a pymrio ``IOSystem`` with ``Z``, ``Y``, ``x`` and ``A`` (dense frames).

    Dense: meant for tables BoARIO can hold (a few thousand industries).
    """
    import pymrio

    index = mrio.industries
    columns = mrio.final_demand_columns
    if not isinstance(columns, pd.MultiIndex):
        columns = pd.MultiIndex.from_tuples(
            [(region, "final demand") for region in mrio.regions], names=["region", "category"]
        )
    flows = pd.DataFrame(mrio.Z.toarray(), index=index, columns=index)
    demand = pd.DataFrame(mrio.Y, index=index, columns=columns)
    output = pd.DataFrame(mrio.x, index=index, columns=["indout"])
    unit = pd.DataFrame(mrio.unit or "M.EUR", index=index, columns=["unit"])
    system = pymrio.IOSystem(Z=flows, Y=demand, x=output, unit=unit, name=mrio.name)
    system.A = pymrio.calc_A(flows, output)
    return system
