"""Choose countermeasures: the cheapest portfolio that meets a resilience target.

``optimise(scenario, targets)`` compiles the scenario's draws into a two-stage stochastic
program (first stage: stockpiles, new capacity, recycling, substitution, supplier
qualification from a priced catalogue; second stage: flows, stocks and shortfalls per draw
on a linear model of the network), solves it with HiGHS, writes the portfolio back as
scenario events and checks it with the engine on fresh draws. ``time_to_survive`` gives
each node's time to survive (Simchi-Levi et al., 2015).
"""

from chokepoint.optimise.adapter import Case, compile_case
from chokepoint.optimise.catalogue import Candidate, default_catalogue_path, load_catalogue
from chokepoint.optimise.targets import Target, TargetError, parse_target, parse_targets

__all__ = [
    "Candidate",
    "Case",
    "Target",
    "TargetError",
    "compile_case",
    "default_catalogue_path",
    "load_catalogue",
    "parse_target",
    "parse_targets",
]
