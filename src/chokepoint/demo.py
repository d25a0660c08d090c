"""``chokepoint demo``: the main job on the default data, for a newcomer.

Until the scenario engine lands, the demo is the EU dependency report: which commodities
the EU depends on, how concentrated the supply is, where the rare-earth content of EU-made
EV traction motors and wind generators comes from.
"""

from __future__ import annotations

from rich.console import Console

from chokepoint.metrics import dependency_table
from chokepoint.network import load_default
from chokepoint.origins import material_origins_by_stage
from chokepoint.report import dependency_rich_table, percent

TRACED_PRODUCTS = ("ev_traction_motor", "wind_generator_dd")


def run_demo(console: Console) -> None:
    net = load_default()
    console.rule("[bold]chokepoint demo: EU dependency report on the default dataset")
    console.print(
        f"Network [bold]{net.name}[/bold] (data version {net.data_version}): "
        f"{len(net.commodities)} commodities, {len(net.producers)} producers, "
        f"{len(net.links)} links, {len(net.sources)} cited sources.",
        highlight=False,
    )
    table = dependency_table(net, "EU")
    used = table[table["consumption"] > 0]
    console.print(dependency_rich_table(used, title="What the EU-27 uses, and from whom"))
    breaches = used[used["crma_65_breach"]]
    console.print(
        f"{len(breaches)} of {len(used)} commodities the EU uses come more than 65% from one "
        f"third country (the CRMA benchmark): "
        + ", ".join(f"{r.commodity} ({r.top_third_country} {percent(r.top_third_country_share)})"
                    for r in breaches.itertuples()),
        highlight=False,
    )
    known = set(net.commodities["id"])
    for product in TRACED_PRODUCTS:
        if product not in known:
            continue
        stages = material_origins_by_stage(net, product, "rare_earths", "EU")
        if stages.empty:
            continue
        china = stages[stages["country"] == "CHN"].set_index("stage")["share"]
        parts = [f"{stage} {percent(china.get(stage, 0.0))}" for stage in stages["stage"].unique()]
        console.print(
            f"China's share of the rare-earth content of EU-made [bold]{product}[/bold], "
            f"by stage: " + ", ".join(parts),
            highlight=False,
        )
    console.print(
        "\nNext: [bold]chokepoint metrics --format json[/bold] for every figure, "
        "[bold]chokepoint origins ev_traction_motor[/bold] for the origin trace, "
        "[bold]chokepoint data export my-network/[/bold] to start your own data.",
        highlight=False,
    )
