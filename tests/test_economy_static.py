"""Static input–output maths against pymrio on its test system, and on synthetic tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from chokepoint.economy.mrio import (
    LeontiefSolver,
    euros_per_unit,
    exposure_table,
    extraction_loss,
    from_pymrio,
    leontief_columns,
    load_mrio,
    mrio_from_arrays,
    supplier_dependence,
    technical_coefficients,
    total_output,
    value_added_multipliers,
)
from chokepoint.economy.synthetic import synthetic_mrio
from chokepoint.errors import DataError

RTOL = 1e-9


@pytest.fixture(scope="module")
def reference() -> pymrio.IOSystem:
    system = pymrio.load_test()
    system.calc_all()
    return system


@pytest.fixture(scope="module")
def table():
    return load_mrio("test")


def test_test_system_loads_with_labels_and_unit(table, reference) -> None:
    assert table.system == "pymrio_test"
    assert table.n_industries == 48
    assert table.regions == [f"reg{k}" for k in range(1, 7)]
    assert "manufactoring" in table.sectors
    assert list(table.industries) == list(reference.Z.index)
    assert table.unit == "Mill USD"
    assert table.eur_per_unit == pytest.approx(0.92e6)
    np.testing.assert_allclose(table.x, reference.x.to_numpy().ravel(), rtol=RTOL)


def test_technical_coefficients_match_pymrio(table, reference) -> None:
    np.testing.assert_allclose(table.A.toarray(), reference.A.to_numpy(), rtol=RTOL, atol=0)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_total_output_matches_pymrio(table, reference, method) -> None:
    x = total_output(table.A, table.final_demand, LeontiefSolver(table.A, method))
    np.testing.assert_allclose(x, reference.x.to_numpy().ravel(), rtol=RTOL)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_total_requirements_are_columns_of_pymrio_L(table, reference, method) -> None:
    columns = [0, 2, 17, 47]
    block = leontief_columns(table.A, columns, LeontiefSolver(table.A, method))
    np.testing.assert_allclose(block, reference.L.to_numpy()[:, columns], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_supplier_dependence_is_rows_of_pymrio_L(table, reference, method) -> None:
    rows = [1, 9, 30]
    block = supplier_dependence(table.A, rows, LeontiefSolver(table.A, method))
    np.testing.assert_allclose(block, reference.L.to_numpy()[rows], rtol=RTOL, atol=1e-15)


def test_value_added_multipliers_match_pymrio(table, reference) -> None:
    accounts = reference.factor_inputs
    multipliers = value_added_multipliers(table.A, accounts.F.to_numpy().ravel(), table.x)
    np.testing.assert_allclose(multipliers, accounts.M.to_numpy().ravel(), rtol=RTOL)


@pytest.mark.parametrize("mode", ["full", "forward", "backward"])
def test_extraction_matches_pymrio_leontief_on_the_reduced_table(table, reference, mode) -> None:
    supplier = 13
    keep = np.ones(48)
    keep[supplier] = 0.0
    coefficients = reference.A.to_numpy()
    demand = reference.Y.sum(axis=1).to_numpy()
    if mode == "full":
        reduced, demand_after = np.diag(keep) @ coefficients @ np.diag(keep), keep * demand
    elif mode == "forward":
        reduced, demand_after = np.diag(keep) @ coefficients, demand
    else:
        reduced, demand_after = coefficients @ np.diag(keep), demand
    inverse = pymrio.calc_L(
        pd.DataFrame(reduced, index=reference.A.index, columns=reference.A.index)
    )
    expected = reference.x.to_numpy().ravel() - inverse.to_numpy() @ demand_after
    lost = extraction_loss(table.A, table.final_demand, [supplier], mode=mode)
    np.testing.assert_allclose(lost, expected, rtol=RTOL, atol=1e-9 * np.abs(expected).max())
    if mode == "full":
        assert lost[supplier] == pytest.approx(table.x[supplier], rel=RTOL)


def test_exposure_table_embodied_output_adds_up_to_the_supplier_output(table) -> None:
    frame = exposure_table(table, ("reg2", "mining"))
    position = table.index_of("reg2", "mining")
    assert list(frame.columns) == [
        "region",
        "sector",
        "requirement",
        "embodied",
        "extraction_loss",
    ]
    assert frame["embodied"].sum() == pytest.approx(table.x[position], rel=RTOL)
    assert frame.loc[position, "extraction_loss"] == pytest.approx(table.x[position], rel=RTOL)


def test_iterative_equals_direct_on_a_larger_synthetic_table() -> None:
    synthetic = synthetic_mrio(8, 60, density=0.03, seed=4)
    rhs = np.random.default_rng(1).random((synthetic.n_industries, 3))
    direct = LeontiefSolver(synthetic.A, "direct")
    iterative = LeontiefSolver(synthetic.A, "iterative")
    np.testing.assert_allclose(iterative.solve(rhs), direct.solve(rhs), rtol=RTOL)
    np.testing.assert_allclose(
        iterative.solve_transpose(rhs), direct.solve_transpose(rhs), rtol=RTOL
    )
    np.testing.assert_allclose(direct.solve(synthetic.final_demand), synthetic.x, rtol=RTOL)


def test_auto_method_iterates_on_large_tables() -> None:
    assert LeontiefSolver(sp.identity(10) * 0.1).method == "direct"
    assert LeontiefSolver(sp.identity(5000, format="csr") * 0.1).method == "iterative"


def test_from_pymrio_without_z_solves_for_output(reference) -> None:
    system = pymrio.IOSystem(Y=reference.Y.copy(), A=reference.A.copy(), unit=reference.unit)
    converted = from_pymrio(system, name="A and Y only")
    np.testing.assert_allclose(converted.x, reference.x.to_numpy().ravel(), rtol=RTOL)
    np.testing.assert_allclose(converted.Z.toarray(), reference.Z.to_numpy(), rtol=1e-8)


def test_value_added_is_output_minus_inputs(table, reference) -> None:
    expected = reference.x.to_numpy().ravel() - reference.Z.sum(axis=0).to_numpy()
    np.testing.assert_allclose(table.value_added, expected, rtol=RTOL)


def test_bad_arrays_and_paths_raise_data_errors(tmp_path) -> None:
    industries = pd.MultiIndex.from_product([["a"], ["x", "y"]])
    with pytest.raises(DataError, match="Z is 3x3 for 2 industries"):
        mrio_from_arrays(np.zeros((3, 3)), np.ones(2), industries)
    with pytest.raises(DataError, match="negative"):
        mrio_from_arrays(-np.ones((2, 2)), np.ones(2), industries)
    with pytest.raises(DataError, match="not found"):
        load_mrio(tmp_path / "nothing-here")
    (tmp_path / "junk").mkdir()
    with pytest.raises(DataError, match="junk"):
        load_mrio(tmp_path / "junk")


def test_index_of_unknown_industry_is_a_data_error(table) -> None:
    with pytest.raises(DataError, match="no industry"):
        table.index_of("reg9", "food")


@pytest.mark.parametrize(
    ("unit", "euros"),
    [("M.EUR", 1e6), ("Mill USD", 0.92e6), ("Million USD", 0.92e6), ("kEUR", None), ("", None)],
)
def test_euros_per_unit_reads_common_units(unit, euros) -> None:
    assert euros_per_unit(unit) == (pytest.approx(euros) if euros else None)


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(2, 12),
    seed=st.integers(0, 10_000),
    column_total=st.floats(0.05, 0.9),
)
def test_total_output_solves_the_leontief_system(size, seed, column_total) -> None:
    rng = np.random.default_rng(seed)
    coefficients = rng.random((size, size)) * (rng.random((size, size)) < 0.5)
    sums = coefficients.sum(axis=0)
    coefficients = coefficients / np.where(sums > 0, sums, 1.0) * column_total
    demand = rng.random(size)
    matrix = sp.csr_matrix(coefficients)
    output = total_output(matrix, demand)
    np.testing.assert_allclose(output - coefficients @ output, demand, atol=1e-12)
    assert (output >= demand - 1e-12).all()
    np.testing.assert_allclose(
        technical_coefficients(sp.csr_matrix(coefficients * output), output).toarray(),
        coefficients,
        atol=1e-12,
    )
