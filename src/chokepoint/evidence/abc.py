"""Approximate Bayesian computation over batches of simulated particles.

The sampler sees a *simulator*: given a proposal box (low, high per parameter, or None for
the prior), it returns particles: parameter values ``theta`` (n, p) and their distances to
the observations (n). Two steps:

1. **Rejection.** Particles from the prior; the ``keep`` fraction with the smallest
   distances is accepted (tolerance ε₀ = the largest accepted distance), all with weight 1.
2. **Sequential Monte Carlo** (ABC population Monte Carlo, Beaumont et al. 2009, with an
   independent-uniform proposal): each generation proposes from a box around the last
   accepted population (weighted mean ± ``spread`` weighted standard deviations, clipped to
   the prior's support), shrinks the tolerance to the ``quantile`` of the last accepted
   distances, accepts the particles within it and weights them by prior density over
   proposal density. A box is a product of uniforms, so its density is exact and the engine
   can draw from it itself (a ``uniform`` distribution in the scenario).

The distance function and the simulator live with the caller
(:mod:`chokepoint.evidence.calibrate`); everything here is plain numpy and has no engine in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Box = tuple[np.ndarray, np.ndarray]


@dataclass
class Particles:
    """Simulated particles: parameter values, distances, and what the caller keeps with
    them (e.g. the simulated series, rows aligned with ``theta``)."""

    theta: np.ndarray
    distance: np.ndarray
    extra: np.ndarray


@dataclass
class Population:
    """An accepted population: particles, normalised weights and the tolerance."""

    theta: np.ndarray
    weight: np.ndarray
    distance: np.ndarray
    extra: np.ndarray
    tolerance: float
    simulated: int

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size of the weights."""
        return float(1.0 / np.sum(self.weight**2))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of weighted samples (linear between the weighted midpoints)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / np.sum(weights)
    return np.interp(q, cumulative, values)


def proposal_box(population: Population, support: Box, spread: float) -> Box:
    """Weighted mean ± ``spread`` weighted standard deviations, within the prior's support."""
    mean = np.average(population.theta, axis=0, weights=population.weight)
    variance = np.average((population.theta - mean) ** 2, axis=0, weights=population.weight)
    width = spread * np.sqrt(variance)
    floor = 1e-6 * np.maximum(support[1] - support[0], 1e-12)
    low = np.maximum(mean - np.maximum(width, floor), support[0])
    high = np.minimum(mean + np.maximum(width, floor), support[1])
    return low, high


def rejection(particles: Particles, keep: float) -> Population:
    """Accept the ``keep`` fraction of prior particles closest to the observations."""
    count = max(1, int(round(keep * len(particles.distance))))
    order = np.argsort(particles.distance, kind="stable")[:count]
    return Population(
        theta=particles.theta[order],
        weight=np.full(count, 1.0 / count),
        distance=particles.distance[order],
        extra=particles.extra[order],
        tolerance=float(particles.distance[order[-1]]),
        simulated=len(particles.distance),
    )


def smc_step(
    previous: Population,
    simulate: Callable[[Box | None, int], Particles],
    prior_density: Callable[[np.ndarray], np.ndarray],
    support: Box,
    generation: int,
    quantile: float = 0.5,
    spread: float = 3.0,
) -> Population:
    """One generation of ABC-PMC with a uniform box proposal."""
    box = proposal_box(previous, support, spread)
    particles = simulate(box, generation)
    tolerance = float(np.quantile(previous.distance, quantile))
    accepted = particles.distance <= tolerance
    if not accepted.any():
        return previous
    theta = particles.theta[accepted]
    volume = float(np.prod(np.maximum(box[1] - box[0], 1e-300)))
    weight = prior_density(theta) * volume
    if weight.sum() <= 0:
        return previous
    return Population(
        theta=theta,
        weight=weight / weight.sum(),
        distance=particles.distance[accepted],
        extra=particles.extra[accepted],
        tolerance=tolerance,
        simulated=previous.simulated + len(particles.distance),
    )


def abc_smc(
    simulate: Callable[[Box | None, int], Particles],
    prior_density: Callable[[np.ndarray], np.ndarray],
    support: Box,
    *,
    keep: float = 0.05,
    generations: int = 3,
    quantile: float = 0.5,
    spread: float = 3.0,
    progress: Callable[[str], None] | None = None,
) -> list[Population]:
    """Rejection from the prior, then ``generations`` SMC steps; every population."""
    populations = [rejection(simulate(None, 0), keep)]
    if progress is not None:
        progress(
            f"rejection: ε = {populations[0].tolerance:.4g}, {len(populations[0].weight)} kept"
        )
    for generation in range(1, generations + 1):
        step = smc_step(
            populations[-1], simulate, prior_density, support, generation, quantile, spread
        )
        if step is populations[-1]:
            break
        populations.append(step)
        if progress is not None:
            progress(
                f"generation {generation}: ε = {step.tolerance:.4g}, {len(step.weight)} "
                f"accepted, effective size {step.effective_size:.0f}"
            )
    return populations
