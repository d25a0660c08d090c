"""The ARIO kernel: equilibrium, shocks and recovery, draws, parameters, and BoARIO agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from chokepoint.economy.ario import ARIOParameters, build_ario, run_ario
from chokepoint.economy.events import CapacityLoss, CapitalDestruction, capital_loss
from chokepoint.economy.mrio import load_mrio
from chokepoint.economy.synthetic import synthetic_mrio, to_pymrio

STEPS = 120


@pytest.fixture(scope="module")
def table():
    return load_mrio("test")


@pytest.fixture(scope="module")
def model(table):
    return build_ario(table)


def _half_capital(model, sectors: list[str], share: float = 0.5) -> pd.Series:
    capital = pd.Series(model.capital, index=model.industries)
    hit = capital[capital.index.get_level_values(1).isin(sectors)]
    return (hit * share).round(3)


def _event(model, sectors=("mining", "electricity"), share=0.5, **timing) -> CapitalDestruction:
    defaults = {"occurrence": 5, "duration": 10, "recovery_tau": 60}
    return CapitalDestruction(_half_capital(model, list(sectors), share), **(defaults | timing))


def test_without_a_shock_the_economy_stays_at_its_initial_output(model) -> None:
    result = run_ario(model, STEPS)
    np.testing.assert_allclose(result.production[:, :, 0], np.tile(model.output, (STEPS, 1)))
    assert np.abs(result.value_added_loss).max() < 1e-9 * model.output.sum()
    assert result.shortage_steps.sum() == 0


def test_capital_loss_follows_boario_timing(model) -> None:
    event = _event(model, occurrence=3, duration=4, recovery_tau=10)
    loss = capital_loss(model, [event], 30)
    first = loss.rows[0]
    share = event.damages.iloc[0] / model.capital[first]
    values = loss.values[:, 0, 0]
    assert (values[:3] == 0).all()
    np.testing.assert_allclose(values[3:8], share)  # steps 3..7 = occurrence..occurrence+duration
    np.testing.assert_allclose(values[8:18], share * (1 - np.arange(10) / 10))
    assert (values[18:] == 0).all()
    assert model.industries[first][1] in {"mining", "electricity"}


def test_capital_loss_rounds_like_boario(model) -> None:
    event = _event(model, rounding_decimals=0, recovery_tau=7)
    rounded = capital_loss(model, [event], 40).values
    exact = capital_loss(model, [_event(model, recovery_tau=7)], 40).values
    assert not np.array_equal(rounded, exact)
    np.testing.assert_allclose(rounded, exact, atol=1.0 / model.capital[model.capital > 0].min())


def test_damage_beyond_capital_is_refused(model) -> None:
    with pytest.raises(ValueError, match="exceeds the productive capital"):
        capital_loss(model, [_event(model, share=1.5)], 30)


def test_a_shock_cuts_production_and_the_economy_recovers(model) -> None:
    loss = capital_loss(model, [_event(model)], 300)
    result = run_ario(model, 300, capacity_loss=loss)
    total = result.production[:, :, 0].sum(axis=1)
    baseline = model.output.sum()
    assert total[:5] == pytest.approx(np.full(5, baseline))
    assert total.min() < 0.99 * baseline
    assert abs(total[-1] / baseline - 1) < 2e-3
    assert result.value_added_loss.sum() > 0


def test_short_inventories_make_stocks_limit_production(table) -> None:
    short = build_ario(table, ARIOParameters(main_inventory_days=5, inventory_restoration_tau=3))
    loss = capital_loss(short, [_event(short, sectors=("transport",), share=0.9)], 100)
    result = run_ario(short, 100, capacity_loss=loss)
    assert result.shortage_steps.sum() > 0
    capacity = short.output * 1.25
    assert (result.production[:, :, 0] <= capacity + 1e-9).all()


def test_infinite_inventories_never_limit(table) -> None:
    sectors = tuple(table.sectors)
    endless = build_ario(table, ARIOParameters(infinite_inventory_sectors=sectors))
    loss = capital_loss(endless, [_event(endless, share=0.9)], 60)
    assert run_ario(endless, 60, capacity_loss=loss).shortage_steps.sum() == 0


def test_draws_are_independent_and_vectorised(model) -> None:
    shares = [0.2, 0.5, 0.8]
    singles = [capital_loss(model, [_event(model, share=s)], 60) for s in shares]
    together = CapacityLoss(singles[0].rows, np.concatenate([s.values for s in singles], axis=2))
    joint = run_ario(model, 60, capacity_loss=together)
    for draw, single in enumerate(singles):
        alone = run_ario(model, 60, capacity_loss=single)
        np.testing.assert_allclose(joint.production[:, :, draw], alone.production[:, :, 0])
    assert joint.value_added_loss.shape == (model.n_industries, 3)


@pytest.mark.parametrize("order_type", ["alt", "noalt"])
@pytest.mark.parametrize("tolerances", [True, False])
def test_compiled_and_array_engines_agree(table, order_type, tolerances) -> None:
    params = ARIOParameters(
        order_type=order_type,
        boario_tolerances=tolerances,
        main_inventory_days=8,
        inventory_restoration_tau=5,
    )
    model = build_ario(table, params)
    singles = [capital_loss(model, [_event(model, share=s)], 90) for s in (0.3, 0.9)]
    loss = CapacityLoss(singles[0].rows, np.concatenate([s.values for s in singles], axis=2))
    region = pd.Index(table.regions).get_indexer(table.industries.get_level_values(0))
    arrays = run_ario(model, 90, capacity_loss=loss, groups=region, engine="numpy")
    for threads in (1, 2):
        compiled = run_ario(model, 90, capacity_loss=loss, groups=region, threads=threads)
        assert compiled.shortage_steps.sum() > 0
        np.testing.assert_allclose(compiled.production, arrays.production, rtol=1e-12)
        np.testing.assert_allclose(
            compiled.grouped_value_added_loss, arrays.grouped_value_added_loss, rtol=1e-9, atol=1e-6
        )
        np.testing.assert_array_equal(compiled.shortage_steps, arrays.shortage_steps)
        np.testing.assert_allclose(
            compiled.final_demand_unmet, arrays.final_demand_unmet, atol=1e-6
        )


def test_groups_sum_value_added_loss(model, table) -> None:
    loss = capital_loss(model, [_event(model)], 80)
    region = pd.Index(table.regions).get_indexer(table.industries.get_level_values(0))
    result = run_ario(model, 80, capacity_loss=loss, groups=region, keep_production=False)
    assert result.production is None
    np.testing.assert_allclose(
        result.grouped_value_added_loss.sum(axis=(0, 1)), result.value_added_loss.sum(axis=0)
    )


@pytest.mark.parametrize("order_type", ["alt", "noalt"])
def test_order_types_and_tolerances_agree_closely(table, order_type) -> None:
    strict = build_ario(table, ARIOParameters(order_type=order_type, boario_tolerances=False))
    loose = build_ario(table, ARIOParameters(order_type=order_type))
    loss = capital_loss(strict, [_event(strict)], 150)
    a = run_ario(strict, 150, capacity_loss=loss).production[:, :, 0].sum(axis=1)
    b = run_ario(loose, 150, capacity_loss=loss).production[:, :, 0].sum(axis=1)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_capacity_losses_combine_by_maximum() -> None:
    one = CapacityLoss(np.array([1, 3]), np.full((4, 2, 1), 0.2))
    two = CapacityLoss(np.array([3, 5]), np.full((6, 2, 1), 0.5))
    both = one.combine(two)
    assert list(both.rows) == [1, 3, 5]
    assert both.steps == 6
    np.testing.assert_allclose(both.values[0, :, 0], [0.2, 0.5, 0.5])
    np.testing.assert_allclose(both.values[5, :, 0], [0.0, 0.5, 0.5])


@pytest.mark.parametrize(
    "changes",
    [
        {"psi": 1.5},
        {"main_inventory_days": 1},
        {"order_type": "some"},
        {"alpha_max": 0.9},
        {"inventory_restoration_tau": 0},
    ],
)
def test_bad_parameters_are_refused(changes) -> None:
    with pytest.raises(ValueError):
        ARIOParameters(**changes)


def test_capacity_loss_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CapacityLoss(np.array([0]), np.full((2, 1, 1), 1.5))


def test_run_arguments_are_checked(model) -> None:
    loss = CapacityLoss(np.array([0]), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match="3 draws"):
        run_ario(model, 2, capacity_loss=loss, draws=2)
    with pytest.raises(ValueError, match="one group number per industry"):
        run_ario(model, 2, groups=np.zeros(3))
    with pytest.raises(ValueError, match="unknown engine"):
        run_ario(model, 2, engine="fortran")


def test_synthetic_table_runs_with_sparse_structure() -> None:
    synthetic = synthetic_mrio(6, 40, density=0.05, seed=2)
    model = build_ario(synthetic)
    assert model.supply.nnz == synthetic.Z.nnz
    assert model.n_slots <= synthetic.Z.nnz
    capital = pd.Series(model.capital, index=synthetic.industries)
    event = CapitalDestruction(capital.iloc[:3] * 0.5, occurrence=2, duration=3, recovery_tau=20)
    result = run_ario(model, 60, capacity_loss=capital_loss(model, [event], 60), draws=2)
    np.testing.assert_allclose(result.production[:, :, 0], result.production[:, :, 1])


# ------------------------------------------------------------------ against BoARIO


def _boario_production(system, damages: pd.Series, steps: int, tmp_path, **model_options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boario_event = pytest.importorskip("boario.event")
        models = pytest.importorskip("boario.extended_models")
        simulation_module = pytest.importorskip("boario.simulation")
        model = models.ARIOPsiModel(system, monetary_factor=10**6, **model_options)
        simulation = simulation_module.Simulation(
            model, n_temporal_units_to_sim=steps, boario_output_dir=str(tmp_path)
        )
        simulation.add_event(
            boario_event.from_series(
                damages,
                event_type="recovery",
                occurrence=5,
                duration=10,
                recovery_tau=60,
                event_monetary_factor=10**6,
            )
        )
        simulation.loop()
    return simulation.production_realised


@pytest.mark.parametrize(
    ("options", "sectors", "share"),
    [
        ({}, ("mining", "electricity"), 0.5),
        ({"order_type": "noalt"}, ("mining", "electricity"), 0.5),
        ({"main_inv_dur": 10, "inventory_restoration_tau": 10}, ("electricity",), 0.8),
        ({"psi_param": 0.9, "alpha_max": 1.1, "alpha_tau": 100}, ("trade",), 0.7),
    ],
)
def test_trajectories_match_boario_on_the_test_system(table, tmp_path, options, sectors, share):
    pytest.importorskip("boario")
    import pymrio

    system = pymrio.load_test()
    system.calc_all()
    names = {
        "order_type": "order_type",
        "main_inv_dur": "main_inventory_days",
        "inventory_restoration_tau": "inventory_restoration_tau",
        "psi_param": "psi",
        "alpha_max": "alpha_max",
        "alpha_tau": "alpha_tau",
    }
    ours = build_ario(table, ARIOParameters(**{names[k]: v for k, v in options.items()}))
    damages = _half_capital(ours, list(sectors), share)
    damages.index.names = ["region", "sector"]
    reference = _boario_production(system, damages, 200, tmp_path, **options)
    event = CapitalDestruction(
        damages, occurrence=5, duration=10, recovery_tau=60, rounding_decimals=7
    )
    result = run_ario(ours, 200, capacity_loss=capital_loss(ours, [event], 200))
    mine = pd.DataFrame(result.production[:, :, 0], columns=table.industries)[reference.columns]
    np.testing.assert_allclose(mine.sum(axis=1), reference.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(mine.to_numpy(), reference.to_numpy(), rtol=1e-9, atol=1e-9)


def test_trajectories_match_boario_on_a_synthetic_table(tmp_path) -> None:
    pytest.importorskip("boario")
    synthetic = synthetic_mrio(4, 30, density=0.08, seed=7)
    model = build_ario(synthetic)
    capital = pd.Series(model.capital, index=synthetic.industries)
    damages = (capital[capital.index.get_level_values(1).isin(["s000", "s001"])] * 0.5).round(3)
    reference = _boario_production(to_pymrio(synthetic), damages, 150, tmp_path)
    event = CapitalDestruction(
        damages, occurrence=5, duration=10, recovery_tau=60, rounding_decimals=7
    )
    result = run_ario(model, 150, capacity_loss=capital_loss(model, [event], 150))
    assert result.shortage_steps.sum() > 0
    mine = pd.DataFrame(result.production[:, :, 0], columns=synthetic.industries)
    np.testing.assert_allclose(mine[reference.columns].to_numpy(), reference.to_numpy(), rtol=1e-9)


def _mixed_draws(model, steps: int = 90) -> CapacityLoss:
    """Three draws: one so small that BoARIO's tolerance shortcuts fire, two real shocks."""
    singles = [capital_loss(model, [_event(model, share=s)], steps) for s in (1e-4, 0.3, 0.9)]
    return CapacityLoss(singles[0].rows, np.concatenate([s.values for s in singles], axis=2))


@pytest.mark.parametrize("order_type", ["alt", "noalt"])
def test_each_draw_equals_its_single_draw_run_whatever_the_block(table, order_type) -> None:
    params = ARIOParameters(
        order_type=order_type, main_inventory_days=8, inventory_restoration_tau=5
    )
    model = build_ario(table, params)
    loss = _mixed_draws(model)
    runs = [
        run_ario(model, 90, capacity_loss=loss, block=block, threads=threads)
        for block, threads in ((1, 1), (2, 2), (3, 1), (32, 2))
    ]
    assert runs[0].shortage_steps.sum() > 0
    for draw in range(loss.draws):
        alone = CapacityLoss(loss.rows, loss.values[:, :, draw : draw + 1])
        single = run_ario(model, 90, capacity_loss=alone, threads=1)
        for run in runs:
            np.testing.assert_array_equal(run.production[:, :, draw], single.production[:, :, 0])
            np.testing.assert_array_equal(
                run.value_added_loss[:, draw], single.value_added_loss[:, 0]
            )


@pytest.mark.parametrize("order_type", ["alt", "noalt"])
def test_float32_slot_state_stays_within_a_millionth_of_output(table, order_type) -> None:
    params = ARIOParameters(
        order_type=order_type, main_inventory_days=8, inventory_restoration_tau=5
    )
    model = build_ario(table, params)
    loss = _mixed_draws(model, 200)
    wide = run_ario(model, 200, capacity_loss=loss)
    narrow = run_ario(model, 200, capacity_loss=loss, precision="float32", block=2)
    error = np.abs(narrow.production - wide.production) / model.output[None, :, None]
    assert np.nanmax(error[:, model.output > 0]) < 1e-6
    value_added = (model.value_added_share * model.output).sum() * 200
    difference = narrow.value_added_loss.sum(axis=0) - wide.value_added_loss.sum(axis=0)
    assert np.abs(difference).max() < 1e-6 * value_added
    with pytest.raises(ValueError, match="precision"):
        run_ario(model, 2, precision="float16")  # type: ignore[arg-type]
