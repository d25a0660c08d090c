"""Headline figures: EU27 car output lost (units, share, value) in the demo and two presets.

Run: ``python bench/headline.py [--draws N]``. For each of ``licences-3m`` and
``licences-12m`` (the two runs of ``chokepoint demo``), ``ree-2025-04`` and
``nexperia-2025-10`` it sums the EU27 rows of the car products (``car_*``) over draws and
prints one JSON object: mean units lost, the share of baseline output lost, the mean value
lost (EUR bn) and the mean stoppage probability of the car rows. These are the figures to
compare before and after an engine change (same seed, same draws).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

SCENARIOS = ("licences-3m", "licences-12m", "ree-2025-04", "nexperia-2025-10")


def car_figures(results) -> dict:
    """EU27 car rows summed: mean lost units, share of baseline output, mean lost value."""
    summary = results.summary
    cars = summary[summary["product"].str.startswith("car_") & (summary["region"] == "EU27")]
    per_draw = cars.groupby("draw")[["lost_output", "lost_value"]].sum()
    bands = results.bands
    baseline = bands[
        (bands["kind"] == "output")
        & bands["item"].str.startswith("car_")
        & (bands["region"] == "EU27")
    ]["baseline"].sum()
    stats = results.stats
    rows = stats[stats["product"].str.startswith("car_") & (stats["region"] == "EU27")]
    figures = {
        "lost_units_mean": round(float(per_draw["lost_output"].mean())),
        "lost_share_mean": round(float(per_draw["lost_output"].mean() / baseline), 4)
        if baseline > 0
        else None,
        "lost_value_eur_bn_mean": round(float(per_draw["lost_value"].mean()) / 1e9, 2),
        "stoppage_probability_mean": round(float(rows["stoppage_probability"].mean()), 3),
    }
    if "lost_output_input" in cars.columns:
        per = cars.groupby("draw")[["lost_output_input", "lost_output_demand"]].sum()
        figures["lost_units_input_mean"] = round(float(per["lost_output_input"].mean()))
        figures["lost_units_demand_mean"] = round(float(per["lost_output_demand"].mean()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    args = parser.parse_args()

    from chokepoint.network.container import load_default
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.run import simulate

    net = load_default()
    out = {"draws": args.draws}
    for name in SCENARIOS:
        results = simulate(load_scenario(name), net, draws=args.draws)
        out[name] = car_figures(results)
        print(name, out[name], file=sys.stderr)
    np.seterr(all="ignore")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
