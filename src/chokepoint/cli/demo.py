"""``chokepoint demo``: the main job on the default data, for a newcomer.

The negotiation of 2025 in one comparison: approvals valid three months against year-long
permits. The demo runs the presets ``licences-3m`` and ``licences-12m`` on the default
network (China's April 2025 rare-earth licensing, identical except for licence validity),
prints days to stoppage and lost output and value per product side by side, and explains
the difference by the days each contract spends waiting for a licence. It says which
validity each side uses and why (three months: the short end of the negotiation, no source
gives it; six months were reported for some licences, the ``ree-2025-04`` preset; a year:
general licences and the rules' maximum for individual ones). It closes with the dependency
figures behind it: how much of the EU's supply comes from China, stage by stage.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from chokepoint.analysis.metrics import dependency_table
from chokepoint.analysis.origins import material_origins_by_stage
from chokepoint.network.container import load_default
from chokepoint.reporting.tables import comparison_rich_table, percent
from chokepoint.results.groups import family_aggregates
from chokepoint.scenario import load_scenario
from chokepoint.simulation.run import simulate

PAIR = ("licences-3m", "licences-12m")


HEADLINE_ASSUMPTIONS = Path(__file__).resolve().parents[1] / "data" / "evidence" / "headline.json"
"""The five inputs the demo's headline rests on, from ``chokepoint audit licences-3m``
(written by ``bench/audit.py --save``; an audit takes minutes, the demo seconds)."""


def print_headline_assumptions(console: Console, data_version: str) -> None:
    """The five inputs with the largest swings in the recorded audit of the headline."""
    import json

    if not HEADLINE_ASSUMPTIONS.is_file():
        return
    audit = json.loads(HEADLINE_ASSUMPTIONS.read_text(encoding="utf-8"))
    console.print(
        f"\nWhat the 3-month headline ({audit['metric']}) rests on: the five inputs that move "
        f"it most, each swung alone over its range (chokepoint audit {audit['scenario']}, "
        f"{audit['date']}; unsourced inputs carry {audit['unsourced_variance_share']:.0%} of "
        "its variance):",
        highlight=False,
    )
    for number, row in enumerate(audit["top5"], start=1):
        kind = "source" if row["sourced"] else "ASSUMPTION"
        console.print(
            f"  {number}. {row['input']} ({kind}), {_figure(row['low'])} to "
            f"{_figure(row['high'])}: "
            f"{_euros(row['metric_low'])} to {_euros(row['metric_high'])}",
            highlight=False,
            markup=False,
        )
    if audit.get("data_version") != data_version:
        console.print(
            f"  (recorded on data version {audit.get('data_version')}, the data are now "
            f"{data_version}: rerun chokepoint audit {audit['scenario']} for current figures)",
            highlight=False,
        )


def _figure(value: float) -> str:
    """A number for people: thousands separated, three significant digits below 1000."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _euros(value: float) -> str:
    """A sum of euros in bn or m."""
    return f"€{value / 1e9:,.1f} bn" if abs(value) >= 1e9 else f"€{value / 1e6:,.1f} m"


def run_demo(console: Console, draws: int = 100, report_path: Path | None = None) -> None:
    net = load_default()
    console.rule("[bold]chokepoint demo: three-month approvals or year-long permits?")
    short, long = (load_scenario(name) for name in PAIR)
    console.print(
        "Simulated: China's licensing of Sm, Gd, Tb, Dy, Lu, Sc, Y and Dy/Tb magnets from "
        f"{short.start:%d %B %Y}, {short.horizon_days} days, {draws} Monte Carlo draws, on the "
        f"default network ({len(net.producers)} producers, {len(net.links)} links, "
        f"{len(net.sources)} sources; data {net.data_version}). Each licensed flow is 10 "
        "contracts: apply, wait ~63 days (45 working days, long tail), approved 90-99% of "
        "the time, valid [bold]90 days[/bold] (3m) or [bold]365 days[/bold] (12m), renewal "
        "applied 30 days before expiry.",
        highlight=False,
    )
    console.print(
        "The comparison is the negotiation: approvals valid three months against the "
        "year-long permits the EU asked for. 12m is what a general licence gives (valid one "
        "year, Reuters, Dec 2025; the rules allow individual licences up to a year). 3m is "
        "the short end as the negotiation frames it: no source found gives a three-month "
        "validity, and six-month licences were also reported (Reuters, Jun 2025; the "
        "[bold]ree-2025-04[/bold] preset). [bold]ree-2025-11[/bold] runs the regime in force "
        "after 7 November 2025.",
        highlight=False,
    )
    results = {
        name: simulate(s, net, draws=draws) for name, s in zip(PAIR, (short, long), strict=True)
    }
    eu = {name: r.stats[r.stats["region"] == "EU27"] for name, r in results.items()}
    console.print(
        comparison_rich_table(
            eu[PAIR[0]],
            eu[PAIR[1]],
            ("3m", "12m"),
            title="EU-27 products hit, 3-month vs 12-month licences",
        )
    )
    console.print(
        "* deliveries to EU final demand (mostly imported); otherwise EU production. "
        "Products with no loss in either regime are left out.",
        highlight=False,
    )
    gated = {
        name: r.licence_summary()["gated_days_per_contract"].mean() for name, r in results.items()
    }
    families = set(family_aggregates(net))
    lost = {
        name: r.stats[(r.stats["region"] == "EU27") & ~r.stats["product"].isin(families)][
            "lost_value_mean"
        ].sum()
        for name, r in results.items()
    }
    console.print(
        f"\nWhy: a contract spends on average [bold]{gated[PAIR[0]]:.0f}[/bold] of 365 days "
        f"without a valid licence under 3-month licences and [bold]{gated[PAIR[1]]:.0f}"
        f"[/bold] under 12-month licences: the first wait is the same, but short licences "
        f"expire before a renewal taking ~63 days can be decided 30 days ahead, again and "
        f"again. Mean lost value of EU-27 output: {_euros(lost[PAIR[0]])} (3m) vs "
        f"{_euros(lost[PAIR[1]])} (12m) over the year.",
        highlight=False,
    )

    table = dependency_table(net, "EU")
    used = table[table["consumption"] > 0]
    strategic = used[used["strategic"]]
    breaches = strategic[strategic["crma_65_breach"]]
    console.print(
        f"\nBehind it: {len(breaches)} of the {len(strategic)} strategic raw materials the EU "
        "uses come more than 65% from one third country (the CRMA benchmark*), e.g. "
        + ", ".join(
            f"{r.commodity} ({r.top_third_country} {percent(r.top_third_country_share)})"
            for r in breaches.sort_values("top_third_country_share", ascending=False)
            .head(5)
            .itertuples()
        ),
        highlight=False,
    )
    console.print(
        "* Reg. (EU) 2024/1252, Art. 5(1)(d): the benchmark covers the 17 strategic raw "
        f"materials of Annex I only; {len(used) - len(strategic)} other commodities the EU uses "
        "(e.g. Y, Lu, Tm, Sc, Sb and all magnets, parts and products) are outside it.",
        highlight=False,
    )
    stages = material_origins_by_stage(net, "ev_traction_motor", "rare_earths", "EU")
    china = stages[stages["country"] == "CHN"].set_index("stage")["share"]
    console.print(
        "China's share of the rare-earth content of EU-made EV traction motors, by stage: "
        + ", ".join(
            f"{stage} {percent(china.get(stage, 0.0))}" for stage in stages["stage"].unique()
        ),
        highlight=False,
    )
    print_headline_assumptions(console, net.data_version)
    if report_path is not None:
        from chokepoint.cli.show import write_demo_report

        path = write_demo_report([results[name] for name in PAIR], report_path, network=net)
        console.print(f"\nReport with charts: [bold]{path.resolve()}[/bold]", highlight=False)
    console.print(
        "\nNext: [bold]chokepoint presets[/bold] lists the scenarios; "
        "[bold]chokepoint run nexperia-2025-10[/bold] runs one; "
        "[bold]chokepoint metrics[/bold] and [bold]chokepoint origins ev_traction_motor"
        "[/bold] show the dependency figures; [bold]chokepoint data export my-net/[/bold] "
        "starts your own data.",
        highlight=False,
    )
