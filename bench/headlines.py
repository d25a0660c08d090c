"""The headline figures the credible-results work tracks, on the default data.

Run: ``python bench/headlines.py [--draws N]``. For the demo's two regimes (``licences-3m``,
``licences-12m``), ``ree-2025-04`` and ``nexperia-2025-10``: EU-27 passenger cars lost over
the horizon (units, share of baseline output, value; mean over draws), and P(stop) of
EU-27 battery-electric cars. Prints one JSON object per scenario, then one with all.
Product variants that roll up into a family (``car_bev_pm`` → ``car_bev``) are counted once.
Also the EU-27 lost value over all priced commodities and the share of EU-27 NdFeB magnet
deliveries lost.
"""

from __future__ import annotations

import argparse
import json

PRESETS = ("licences-3m", "licences-12m", "ree-2025-04", "nexperia-2025-10")


def cars(results, net) -> dict[str, float]:
    """EU-27 cars lost, from the per-draw summary: every car commodity counted once (the
    family rows the results add, e.g. ``car_bev`` over ``car_bev_pm`` and ``car_bev_eesm``,
    are left out unless they are commodities themselves)."""
    summary = results.summary
    commodities = set(net.commodities["id"])
    rows = summary[
        (summary["region"] == "EU27")
        & summary["product"].str.startswith("car_")
        & summary["product"].isin(commodities)
    ]
    per_draw = rows.groupby("draw")[["lost_output", "lost_value"]].sum()
    share = rows["lost_output_share"].where(rows["lost_output_share"] > 0)
    baseline = (rows["lost_output"] / share).groupby(rows["product"]).max().dropna()
    lost = float(per_draw["lost_output"].mean()) if len(per_draw) else 0.0
    bev = summary[(summary["region"] == "EU27") & (summary["product"] == "car_bev")]
    return {
        "cars_lost": lost,
        "cars_lost_share_of_lossmaking_products": lost / float(baseline.sum())
        if len(baseline)
        else 0.0,
        "cars_lost_value_eur": float(per_draw["lost_value"].mean()) if len(per_draw) else 0.0,
        "p_stop_car_bev": float(bev["time_to_survive_days"].notna().mean()) if len(bev) else 0.0,
        "products": sorted(rows["product"].unique().tolist()),
        **eu_losses(results, net),
    }


def eu_losses(results, net) -> dict[str, float]:
    """EU-27 lost value over every priced commodity (families left out, as above) and the
    share of EU-27 NdFeB magnet deliveries lost: where the losses go when no car line stops."""
    stats = results.stats
    eu = stats[(stats["region"] == "EU27") & stats["product"].isin(set(net.commodities["id"]))]
    magnets = eu[eu["product"] == "ndfeb_magnet"]
    return {
        "eu_lost_value_eur": float(eu["lost_value_mean"].fillna(0).sum()),
        "magnets_lost_share": float(magnets["lost_output_share_mean"].iloc[0])
        if len(magnets)
        else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=None, help="default: each preset's own")
    args = parser.parse_args()
    import chokepoint

    net = chokepoint.load_default()
    out = {}
    for name in PRESETS:
        results = chokepoint.simulate(chokepoint.load_scenario(name), net, draws=args.draws)
        out[name] = {"draws": int(results.summary["draw"].nunique()), **cars(results, net)}
        print(json.dumps({name: out[name]}))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
