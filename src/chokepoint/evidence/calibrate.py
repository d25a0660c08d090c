"""Calibration: the posterior of scenario parameters given observed monthly series.

Method (docs/evidence.md, "Calibration"): approximate Bayesian computation over the
engine's own Monte Carlo draws (:mod:`chokepoint.evidence.abc`, rejection then SMC).

* **Parameters.** A parameter sampled once per draw (``approval_probability``, a quota's
  ``fraction``...) is a *draw-level* parameter: one engine run of N draws gives N particles,
  each with the value the engine drew for it (the counter-based stream, recomputed exactly).
  A parameter drawn per application (``processing_days``, ``reapply_days``) is fitted through
  its distribution's *location* (the median of a log-normal): a *run-level* parameter, one
  value per run. A generation is M runs × N draws = M·N particles.
* **Prior.** A draw-level parameter's prior is its distribution in the scenario; a run-level
  parameter's prior is uniform between the 5th and 95th percentiles of its distribution. A
  uniform prior ``(low, high)`` may be given for any parameter instead.
* **Distance.** Every mapped series is made dimensionless: ``compare: ratio`` divides the
  model's months by the model's no-shock months and the observed months by the observed
  pre-shock ``reference``; ``compare: level`` divides both by the model's no-shock monthly
  mean; ``compare: share`` (the ``stopped`` measure) compares the model's share with the
  observed one (observed counts divided by ``reference``, e.g. the number of plants). The
  distance is the root mean square of the differences over every compared month
  of every series (months inside the run's horizon that have an observation).
* **Outputs.** The weighted final population is the posterior; its particles' simulated
  series are posterior-predictive draws (the band against the observations). The
  calibrated scenario replaces each fitted distribution by the posterior (a draw-level
  parameter by a normal with the posterior's mean and standard deviation, clipped to the
  prior's support; a run-level log-normal's median by the posterior median and its sigma
  widened by the posterior spread of the log-median, so that one application's delay keeps
  the posterior's uncertainty), with provenance.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from chokepoint.compile.context import per_draw
from chokepoint.errors import ChokepointError, OptionError
from chokepoint.evidence import abc
from chokepoint.evidence.observed import Mapped, file_hash, monthly_observed, read_observed
from chokepoint.evidence.series import model_series, monthly
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.scenario.distributions import Fixed, LogNormal, Normal, Triangular, Uniform
from chokepoint.scenario.distributions import quantile as dist_quantile
from chokepoint.simulation.check import network_for, network_path
from chokepoint.simulation.run import BALANCE_TOLERANCE, prepare, run_chunk
from chokepoint.simulation.sensitivity import PER_APPLICATION, Parameter, with_value

CHUNK = 250
"""Draws per engine chunk while the series are extracted (bounds memory)."""


@dataclass(frozen=True)
class FitParameter:
    """A parameter to fit: where it sits, its level (draw or run) and its prior."""

    parameter: Parameter
    level: str
    prior: Any  # a distribution of chokepoint.scenario.distributions
    support: tuple[float, float]

    @property
    def label(self) -> str:
        return self.parameter.label

    def density(self, values: np.ndarray) -> np.ndarray:
        return _density(self.prior, values)


def _density(prior: Any, x: np.ndarray) -> np.ndarray:
    if isinstance(prior, Uniform):
        width = prior.high - prior.low
        inside = (x >= prior.low) & (x <= prior.high)
        return np.where(inside, 1.0 / width if width > 0 else np.inf, 0.0)
    if isinstance(prior, Normal):
        a = (prior.low - prior.mean) / prior.sd
        b = (prior.high - prior.mean) / prior.sd
        return stats.truncnorm.pdf(x, a, b, loc=prior.mean, scale=prior.sd)
    if isinstance(prior, LogNormal):
        return stats.lognorm.pdf(x, prior.sigma, scale=prior.median_)
    if isinstance(prior, Triangular):
        span = prior.high - prior.low
        return stats.triang.pdf(x, (prior.mode - prior.low) / span, loc=prior.low, scale=span)
    raise ChokepointError(f"cannot fit a parameter with prior {prior!r}")


def _support(prior: Any) -> tuple[float, float]:
    if isinstance(prior, Uniform | Triangular):
        return float(prior.low), float(prior.high)
    return float(dist_quantile(prior, 0.0005)), float(dist_quantile(prior, 0.9995))


def _candidates(scenario: Scenario) -> list[Parameter]:
    found = []
    for index, event in enumerate(scenario.events):
        for name in type(event).model_fields:
            value = getattr(event, name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if numeric or hasattr(value, "dist"):
                found.append(Parameter(index, name, None, value))
    return found


def fit_parameters(
    scenario: Scenario, names: Sequence[str], priors: dict[str, tuple[float, float]] | None = None
) -> list[FitParameter]:
    """The parameters named (``events[0].approval_probability`` or, when only one event has
    it, ``approval_probability``) with their priors (see the module docstring)."""
    priors = priors or {}
    candidates = _candidates(scenario)
    chosen = []
    for name in names:
        matches = [p for p in candidates if name in (p.label, p.field)]
        if len(matches) != 1:
            known = ", ".join(p.label for p in candidates) or "none"
            problem = "is ambiguous" if matches else "is not a numeric scenario parameter"
            raise OptionError("fit", f"'{name}' {problem} (parameters: {known})")
        parameter = matches[0]
        level = "run" if parameter.field in PER_APPLICATION else "draw"
        given = priors.get(name) or priors.get(parameter.label)
        if given is not None:
            low, high = (float(v) for v in given)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise OptionError("prior", f"{name}: need low < high, got {low}, {high}")
            prior: Any = Uniform(dist="uniform", low=low, high=high)
        elif not hasattr(parameter.value, "dist") or isinstance(parameter.value, Fixed):
            raise OptionError("prior", f"'{name}' is a fixed number: give it a prior range")
        elif level == "run":
            prior = Uniform(
                dist="uniform",
                low=dist_quantile(parameter.value, 0.05),
                high=dist_quantile(parameter.value, 0.95),
            )
        else:
            prior = parameter.value
        chosen.append(FitParameter(parameter, level, prior, _support(prior)))
    return chosen


def _located(value: Any, location: float) -> Any:
    """The distribution moved so that its median (or value) is ``location``."""
    if isinstance(value, LogNormal):
        return {"dist": "lognormal", "median": location, "sigma": value.sigma}
    if isinstance(value, Uniform):
        half = (value.high - value.low) / 2
        return {"dist": "uniform", "low": location - half, "high": location + half}
    if isinstance(value, Normal):
        return {"dist": "normal", "mean": location, "sd": value.sd}
    if isinstance(value, Triangular):
        shift = location - value.median()
        return {
            "dist": "triangular",
            "low": value.low + shift,
            "mode": value.mode + shift,
            "high": value.high + shift,
        }
    return location


@dataclass
class Target:
    """The observations in the form the distance compares: by series, the months and the
    dimensionless observed values, with the model's no-shock months."""

    mapped: list[Mapped]
    months: list[pd.PeriodIndex]
    observed: list[np.ndarray]
    baseline: list[np.ndarray]

    def compared(self, index: int, model: np.ndarray) -> np.ndarray:
        """Model months (draws × months) in the dimensionless form of series ``index``."""
        base = self.baseline[index]
        if self.mapped[index].compare == "share":  # a share is dimensionless already
            return model
        if self.mapped[index].compare == "ratio":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(base > 0, model / base, 0.0)
        return model / float(np.mean(base))

    def distance(self, models: list[np.ndarray]) -> np.ndarray:
        """Root mean square over every compared month of every series, per draw."""
        total = sum(
            np.sum((self.compared(i, m) - self.observed[i]) ** 2, axis=1)
            for i, m in enumerate(models)
        )
        count = sum(len(o) for o in self.observed)
        return np.sqrt(total / count)


class EngineSimulator:
    """Particles from engine runs: M runs (run-level values) × N draws (draw-level values
    realised by the engine)."""

    def __init__(
        self,
        scenario: Scenario,
        net: SupplyNetwork,
        parameters: list[FitParameter],
        target: Target,
        runs: int,
        draws: int,
        seed: int,
    ) -> None:
        self.scenario, self.net, self.parameters, self.target = scenario, net, parameters, target
        self.runs, self.draws = runs, draws
        self.random = np.random.default_rng(seed)

    def series(self, scenario: Scenario, draws: int) -> list[np.ndarray]:
        """The mapped series' compared months, per draw, of one run."""
        prepared = prepare(scenario, self.net, keep=True)
        parts: list[list[np.ndarray]] = [[] for _ in self.target.mapped]
        for begin in range(0, draws, CHUNK):
            chunk = run_chunk(prepared, np.arange(begin, min(begin + CHUNK, draws)))
            if max(chunk.balance, prepared.baseline_balance) > BALANCE_TOLERANCE:
                raise RuntimeError(f"mass balance violated: residual {chunk.balance:.3g}")
            assert chunk.dataset is not None
            for i, mapped in enumerate(self.target.mapped):
                months = monthly(
                    model_series(chunk.dataset, mapped.spec, self.net), mapped.spec.month
                )
                parts[i].append(months.reindex(columns=self.target.months[i]).to_numpy(float))
        return [np.concatenate(p, axis=0) for p in parts]

    def __call__(self, box: abc.Box | None, generation: int) -> abc.Particles:
        thetas, distances, extras = [], [], []
        for run in range(self.runs):
            scenario, theta = self._scenario(box, generation, run)
            models = self.series(scenario, self.draws)
            drawn = np.arange(self.draws)
            for j, item in enumerate(self.parameters):
                if item.level == "draw":
                    value = getattr(scenario.events[item.parameter.event], item.parameter.field)
                    theta[:, j] = per_draw(
                        value, scenario.seed, drawn, item.parameter.event, item.parameter.field
                    )
            thetas.append(theta)
            distances.append(self.target.distance(models))
            extras.append(np.concatenate(models, axis=1))
        return abc.Particles(
            np.concatenate(thetas), np.concatenate(distances), np.concatenate(extras)
        )

    def _scenario(
        self, box: abc.Box | None, generation: int, run: int
    ) -> tuple[Scenario, np.ndarray]:
        scenario = self.scenario.with_overrides(
            seed=(self.scenario.seed + 7919 * generation + 104729 * run) % (2**63)
        )
        theta = np.zeros((self.draws, len(self.parameters)))
        for j, item in enumerate(self.parameters):
            low, high = item.support if box is None else (box[0][j], box[1][j])
            if item.level == "run":
                if box is None:
                    value = float(_sample(item.prior, self.random))
                else:
                    value = float(self.random.uniform(low, high))
                theta[:, j] = value
                scenario = with_value(
                    scenario, item.parameter, _located(item.parameter.value, value)
                )
            elif box is not None or item.prior != item.parameter.value:
                proposal: Any = {"dist": "uniform", "low": float(low), "high": float(high)}
                if box is None:
                    proposal = item.prior.model_dump(by_alias=True)
                scenario = with_value(scenario, item.parameter, proposal)
        return scenario, theta


def _sample(prior: Any, random: np.random.Generator) -> float:
    return float(dist_quantile(prior, float(random.uniform(0.0005, 0.9995))))


def build_target(
    scenario: Scenario, net: SupplyNetwork, observed: pd.DataFrame, mapped: list[Mapped]
) -> Target:
    """The observations inside the run's horizon, with the model's no-shock months."""
    quiet = scenario.model_copy(update={"events": []})
    days = pd.date_range(scenario.start, periods=scenario.horizon_days, freq="D").to_period("M")
    counts = pd.Series(1, index=days).groupby(days).sum()
    inside = {m for m in counts.index if counts[m] == m.days_in_month}
    months, values = [], []
    for item in mapped:
        series = monthly_observed(observed, item.series, item.unit)
        series = series[[m in inside for m in series.index]]
        if series.empty:
            raise ChokepointError(
                f"series '{item.series}': no monthly observation inside the run "
                f"({scenario.start} + {scenario.horizon_days} days)"
            )
        months.append(pd.PeriodIndex(series.index, freq="M"))
        scale = item.reference if item.compare in ("ratio", "share") else None  # share: counts
        values.append(series.to_numpy(float) / scale if scale else series.to_numpy(float))
    target = Target(mapped, months, values, [np.zeros(len(m)) for m in months])
    simulator = EngineSimulator(quiet, net, [], target, 1, 1, 0)
    target.baseline = [b[0] for b in simulator.series(quiet, 1)]
    for i, item in enumerate(mapped):
        if item.compare == "share":  # no firm is stopped without the shock
            continue
        if not np.any(target.baseline[i] > 0):
            raise ChokepointError(
                f"series '{item.series}': the model has no such flow without the shock"
            )
        if item.compare == "level":
            target.observed[i] = target.observed[i] / float(np.mean(target.baseline[i]))
    return target


@dataclass
class Calibration:
    """What a calibration found: the populations (the last is the posterior) and their
    context."""

    scenario: Scenario
    parameters: list[FitParameter]
    target: Target
    populations: list[abc.Population]
    observed_file: str
    observed_hash: str
    seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def posterior(self) -> abc.Population:
        return self.populations[-1]

    def posterior_table(self) -> pd.DataFrame:
        """Per parameter: prior and posterior 90% intervals, posterior mean and median."""
        post = self.posterior
        rows = []
        for j, item in enumerate(self.parameters):
            low, median, high = abc.weighted_quantile(
                post.theta[:, j], post.weight, np.array([0.05, 0.5, 0.95])
            )
            prior_low = dist_quantile(item.prior, 0.05)
            prior_high = dist_quantile(item.prior, 0.95)
            rows.append(
                {
                    "parameter": item.label,
                    "level": item.level,
                    "prior_p5": prior_low,
                    "prior_p95": prior_high,
                    "posterior_mean": float(np.average(post.theta[:, j], weights=post.weight)),
                    "posterior_p5": float(low),
                    "posterior_p50": float(median),
                    "posterior_p95": float(high),
                    "width_ratio": float((high - low) / (prior_high - prior_low)),
                }
            )
        return pd.DataFrame(rows)

    def predictive_table(self) -> pd.DataFrame:
        """Per series and month: the posterior-predictive band beside the observation (both
        in the distance's dimensionless form)."""
        post, target = self.posterior, self.target
        rows, offset = [], 0
        for i, item in enumerate(target.mapped):
            width = len(target.months[i])
            block = post.extra[:, offset : offset + width]
            offset += width
            compared = target.compared(i, block)
            for k, month in enumerate(target.months[i]):
                p5, p50, p95 = abc.weighted_quantile(
                    compared[:, k], post.weight, np.array([0.05, 0.5, 0.95])
                )
                rows.append(
                    {
                        "series": item.series,
                        "month": str(month),
                        "observed": float(target.observed[i][k]),
                        "p5": float(p5),
                        "p50": float(p50),
                        "p95": float(p95),
                        "model_baseline": float(target.baseline[i][k]),
                        "compare": item.compare,
                    }
                )
        return pd.DataFrame(rows)

    def generations_table(self) -> pd.DataFrame:
        """Per population: tolerance, accepted particles, effective size, simulated so far."""
        return pd.DataFrame(
            [
                {
                    "generation": g,
                    "method": "rejection" if g == 0 else "smc",
                    "tolerance": p.tolerance,
                    "accepted": len(p.weight),
                    "effective_size": p.effective_size,
                    "simulated": p.simulated,
                }
                for g, p in enumerate(self.populations)
            ]
        )

    def calibrated_scenario(self) -> Scenario:
        """The scenario with each fitted distribution replaced by its posterior."""
        scenario = self.scenario
        post = self.posterior
        for j, item in enumerate(self.parameters):
            values = post.theta[:, j]
            mean = float(np.average(values, weights=post.weight))
            sd = float(np.sqrt(np.average((values - mean) ** 2, weights=post.weight)))
            if item.level == "draw":
                low, high = item.support
                new: Any = {"dist": "normal", "mean": mean, "sd": sd, "low": low, "high": high}
            else:
                median = float(abc.weighted_quantile(values, post.weight, 0.5))
                new = _located(item.parameter.value, median)
                if isinstance(new, dict) and new.get("dist") == "lognormal":
                    logs = np.log(np.maximum(values, 1e-12))
                    log_mean = np.average(logs, weights=post.weight)
                    spread = float(np.average((logs - log_mean) ** 2, weights=post.weight))
                    new["sigma"] = float(math.sqrt(new["sigma"] ** 2 + spread))
            scenario = with_value(scenario, item.parameter, new)
        return scenario

    def provenance(self) -> dict:
        """Where the calibration came from: file, hash, method, tolerance, date."""
        return {
            "observed_file": self.observed_file,
            "observed_sha256": self.observed_hash,
            "series": [m.series for m in self.target.mapped],
            "method": "ABC: rejection from the prior, then SMC (ABC-PMC with uniform box "
            "proposals); distance: RMS of dimensionless monthly differences",
            "final_tolerance": self.posterior.tolerance,
            "accepted": len(self.posterior.weight),
            "effective_size": round(self.posterior.effective_size, 1),
            "simulated_particles": self.posterior.simulated,
            "calibrated_on": dt.date.today().isoformat(),
            **self.settings,
        }

    def write_scenario(self, path: str | Path, network: SupplyNetwork | str | Path | None) -> Path:
        """The calibrated scenario as YAML, its provenance in comments and description."""
        scenario = self.calibrated_scenario()
        info = self.provenance()
        data = scenario.model_dump(
            by_alias=True, exclude_none=True, serialize_as_any=True, mode="json"
        )
        data["name"] = f"{scenario.name}-calibrated"
        data["description"] = (
            f"{scenario.description.strip()} Calibrated by chokepoint calibrate against "
            f"{Path(info['observed_file']).name} (sha256 {info['observed_sha256'][:12]}): "
            f"{', '.join(p.label for p in self.parameters)} are ABC posteriors (tolerance "
            f"{info['final_tolerance']:.4g})."
        ).strip()
        folder = network_path(self.scenario, network)
        if folder is not None:
            data["network"] = str(folder)
        header = "".join(f"# {key}: {value}\n" for key, value in info.items())
        text = (
            "# calibrated scenario (chokepoint calibrate)\n"
            + header
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )
        Scenario.from_text(text, label=str(path))  # it must load again
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def write(self, folder: str | Path, network: SupplyNetwork | str | Path | None) -> list[Path]:
        """The posterior, predictive band and generations (CSV), the calibrated scenario
        (``calibrated.yaml``) and the provenance (JSON) in ``folder``."""
        import json

        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in (
            ("posterior.csv", self.posterior_table()),
            ("predictive.csv", self.predictive_table()),
            ("generations.csv", self.generations_table()),
        ):
            frame.to_csv(target / name, index=False)
            written.append(target / name)
        written.append(self.write_scenario(target / "calibrated.yaml", network))
        info = {**self.provenance(), "seconds": round(self.seconds, 1)}
        (target / "provenance.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        written.append(target / "provenance.json")
        return written


def calibrate(
    scenario: Scenario,
    observed: str | Path,
    mapping: list[Mapped],
    fit: Sequence[str],
    network: SupplyNetwork | str | Path | None = None,
    *,
    priors: dict[str, tuple[float, float]] | None = None,
    runs: int = 40,
    draws: int = 250,
    keep: float = 0.02,
    generations: int = 3,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Fit ``fit`` to the observed series (see the module docstring): a generation is
    ``runs`` engine runs of ``draws`` draws; rejection keeps the ``keep`` fraction."""
    if runs < 1 or draws < 1:
        raise OptionError("runs", "runs and draws must be at least 1")
    if not 0 < keep <= 1:
        raise OptionError("keep", "a fraction between 0 and 1")
    started = time.perf_counter()
    net = network_for(scenario, network)
    parameters = fit_parameters(scenario, fit, priors)
    table = read_observed(observed)
    target = build_target(scenario, net, table, mapping)
    simulator = EngineSimulator(scenario, net, parameters, target, runs, draws, seed)
    support = (
        np.array([p.support[0] for p in parameters]),
        np.array([p.support[1] for p in parameters]),
    )

    def density(theta: np.ndarray) -> np.ndarray:
        return np.prod([p.density(theta[:, j]) for j, p in enumerate(parameters)], axis=0)

    populations = abc.abc_smc(
        simulator, density, support, keep=keep, generations=generations, progress=progress
    )
    return Calibration(
        scenario=scenario,
        parameters=parameters,
        target=target,
        populations=populations,
        observed_file=str(observed),
        observed_hash=file_hash(observed),
        seconds=time.perf_counter() - started,
        settings={"runs": runs, "draws": draws, "keep": keep, "generations": generations},
    )
