"""ABC samplers compared on one cheap problem: chokepoint's plain sampler, pyabc and ELFI.

The problem is the calibration test's toy (tests/test_calibrate.py): a Chinese mine ships to a
German buyer through an export-licensing regime (20 contracts, processing median 50 days);
the approval odds (true 0.6, prior uniform 0.2-0.95) are fitted to one simulated year of
monthly exports. The distance is chokepoint's own (RMS of monthly exports over the no-shock
level, :class:`chokepoint.evidence.calibrate.Target`) for all three samplers.

* **plain**: one engine run of 10,000 draws; the engine draws the odds per draw from the
  prior itself, so 10,000 particles cost one vectorised run. Rejection keeps the closest 2%.
* **pyabc** (ABC-SMC): its model is called once per particle, with a value pyabc chose:
  one engine run of one draw each.
* **ELFI** (rejection): its simulator is called per batch with values ELFI chose; the
  engine cannot take a value per draw from outside, so each value is one run of one draw.

pyabc and ELFI are not dependencies of chokepoint: point ``CHOKEPOINT_ABC_PATHS`` at folders
where they are installed (``pip install --target DIR pyabc``); they are appended to
``sys.path`` after the project's environment, so its numpy/pandas win. A library that is
missing is reported as such. Prints one JSON line per sampler, as each finishes.

Run: ``python bench/abc_compare.py [--budget 600]`` (``--budget``: simulations for pyabc and
ELFI).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
for extra in filter(None, os.environ.get("CHOKEPOINT_ABC_PATHS", "").split(os.pathsep)):
    sys.path.append(extra)

TRUE = 0.6
LOW, HIGH = 0.2, 0.95


def problem():
    """The toy network, the prior scenario, the target and the observed series."""
    import pandas as pd
    from netbuild import mine_and_buyer

    from chokepoint.evidence.calibrate import EngineSimulator, build_target
    from chokepoint.evidence.observed import Mapped
    from chokepoint.evidence.series import SeriesSpec, model_series, monthly
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.run import simulate

    net = mine_and_buyer()

    def scenario(approval):
        event = {
            "type": "export_licensing",
            "exporter": "CHN",
            "commodity": "ore",
            "contracts": 20,
            "processing_days": {"dist": "lognormal", "median": 50, "sigma": 0.3},
            "approval_probability": approval,
            "reapply_days": 30,
            "validity_days": 90,
            "renewal_lead_days": 20,
        }
        return Scenario.model_validate(
            {"name": "toy", "start": "2025-01-01", "horizon_days": 365, "seed": 11,
             "events": [event]}
        )  # fmt: skip

    spec = SeriesSpec("exports", "CHN", "WORLD", ("ore",))
    truth = simulate(scenario(TRUE).with_overrides(seed=2024), net, draws=1, keep="daily")
    assert truth.trajectories is not None
    months = monthly(model_series(truth.trajectories, spec, net)).iloc[0]
    observed = pd.DataFrame(
        {"date": [m.to_timestamp() for m in months.index], "series": "exports:CHN>DEU:ore",
         "value": months.to_numpy(), "unit": "t", "source": "synthetic", "period": "month"}
    )  # fmt: skip
    mapped = [Mapped("exports:CHN>DEU:ore", spec, "t", "level", None)]
    prior = scenario({"dist": "uniform", "low": LOW, "high": HIGH})
    target = build_target(prior, net, observed, mapped)

    def one(value: float, seed: int) -> np.ndarray:
        runner = EngineSimulator(prior, net, [], target, 1, 1, 0)
        return runner.series(scenario(float(value)).with_overrides(seed=seed), 1)[0][0]

    return net, prior, target, one, EngineSimulator


def summary(values: np.ndarray, weights: np.ndarray | None = None) -> dict:
    from chokepoint.evidence.abc import weighted_quantile

    weights = np.full(len(values), 1.0 / len(values)) if weights is None else weights
    p5, p50, p95 = weighted_quantile(values, weights, np.array([0.05, 0.5, 0.95]))
    return {
        "p5": round(float(p5), 3),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "true_inside_90": bool(p5 <= TRUE <= p95),
        "width_over_prior_90": round(float((p95 - p5) / (0.9 * (HIGH - LOW))), 3),
    }


def plain(net, prior, target, simulator_class) -> dict:
    from chokepoint.evidence import abc
    from chokepoint.evidence.calibrate import fit_parameters

    started = time.perf_counter()
    parameters = fit_parameters(prior, ["approval_probability"])
    simulator = simulator_class(prior, net, parameters, target, 1, 10_000, 3)
    population = abc.rejection(simulator(None, 0), 0.02)
    return {
        "simulations": 10_000,
        "engine_runs": 1,
        "seconds": round(time.perf_counter() - started, 1),
        "accepted": len(population.weight),
        "tolerance": round(population.tolerance, 4),
        **summary(population.theta[:, 0]),
    }


def with_pyabc(one, target, budget: int) -> dict:
    try:
        import pyabc
    except ImportError as exc:
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    import tempfile

    counter = {"n": 0}

    def model(parameters):
        counter["n"] += 1
        return {"y": one(parameters["p"], 1000 + counter["n"])}

    observed = target.observed[0] * float(np.mean(target.baseline[0]))
    scale = float(np.mean(target.baseline[0]))

    def distance(x, y):
        return float(np.sqrt(np.mean(((x["y"] - y["y"]) / scale) ** 2)))

    started = time.perf_counter()
    sampler = pyabc.sampler.SingleCoreSampler()
    run = pyabc.ABCSMC(
        model, pyabc.Distribution(p=pyabc.RV("uniform", LOW, HIGH - LOW)), distance,
        population_size=100, sampler=sampler,
    )  # fmt: skip
    database = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "pyabc.db")
    run.new(database, {"y": observed})
    history = run.run(max_total_nr_simulations=budget, max_nr_populations=6)
    stopped = history.total_nr_simulations
    frame, weights = history.get_distribution(m=0)
    return {
        "available": True,
        "version": pyabc.__version__,
        "simulations": counter["n"],
        "simulations_counted_by_pyabc": int(stopped),
        "engine_runs": counter["n"],
        "seconds": round(time.perf_counter() - started, 1),
        "populations": history.max_t + 1,
        **summary(frame["p"].to_numpy(float), np.asarray(weights, float)),
    }


def with_elfi(one, target, budget: int) -> dict:
    try:
        import elfi
    except ImportError as exc:
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    counter = {"n": 0}
    scale = float(np.mean(target.baseline[0]))

    def simulator(p, batch_size=1, random_state=None):
        rows = []
        for value in np.atleast_1d(p):
            counter["n"] += 1
            rows.append(one(float(value), 5000 + counter["n"]) / scale)
        return np.array(rows)

    started = time.perf_counter()
    model = elfi.ElfiModel()
    p = elfi.Prior("uniform", LOW, HIGH - LOW, model=model, name="p")
    sim = elfi.Simulator(simulator, p, observed=target.observed[0][None, :], name="sim")
    distance = elfi.Distance("euclidean", sim, name="d")
    rejection = elfi.Rejection(distance, batch_size=10, seed=1)
    result = rejection.sample(max(1, budget // 50), n_sim=budget)
    return {
        "available": True,
        "version": elfi.__version__,
        "simulations": counter["n"],
        "engine_runs": counter["n"],
        "seconds": round(time.perf_counter() - started, 1),
        **summary(np.asarray(result.samples["p"], float)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args()
    net, prior, target, one, simulator_class = problem()
    one(TRUE, 1)  # warm the JIT outside every timing
    # one JSON line per sampler as soon as it finishes (a slow library does not hide the rest)
    print(json.dumps({"problem": "toy licensing, approval odds (true 0.6, prior U(0.2, 0.95)), "
                      "12 months", "budget": args.budget}), flush=True)  # fmt: skip
    print(json.dumps({"plain_rejection": plain(net, prior, target, simulator_class)}), flush=True)
    print(json.dumps({"pyabc_smc": with_pyabc(one, target, args.budget)}), flush=True)
    print(json.dumps({"elfi_rejection": with_elfi(one, target, args.budget)}), flush=True)


if __name__ == "__main__":
    main()
