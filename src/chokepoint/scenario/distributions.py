"""Uncertain parameters: a number or a distribution, sampled once per draw.

In a scenario file any numeric parameter may be written as a plain number or as a mapping
``{dist: lognormal, median: 63, sigma: 0.3}``. The models here validate and describe the
distributions; sampling happens in compiled code (:mod:`chokepoint.compile.rng`) from counter-based
uniforms, so a draw's numbers do not depend on how draws are chunked.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take (after clipping)."""
        raise NotImplementedError

    def median(self) -> float:
        raise NotImplementedError


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: float

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def median(self) -> float:
        return self.value


class Normal(_Dist):
    """Normal, optionally truncated by clipping to ``[low, high]``."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    low: float = -np.inf
    high: float = np.inf

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def median(self) -> float:
        return float(np.clip(self.mean, self.low, self.high))


class LogNormal(_Dist):
    """Log-normal given by its median and the standard deviation of its logarithm."""

    dist: Literal["lognormal"]
    median_: float = Field(alias="median", gt=0)
    sigma: float = Field(ge=0)

    def support(self) -> tuple[float, float]:
        return (0.0, np.inf)

    def median(self) -> float:
        return self.median_


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def median(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("need low <= mode <= high")
        return self

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def median(self) -> float:
        a, c, b = self.low, self.mode, self.high
        if a == b:
            return a
        if c >= (a + b) / 2:
            return a + np.sqrt((b - a) * (c - a) / 2)
        return b - np.sqrt((b - a) * (b - c) / 2)


Distribution = Annotated[
    Fixed | Normal | LogNormal | Uniform | Triangular, Field(discriminator="dist")
]
Number = float | Distribution
"""A parameter: a plain number or a distribution."""


def support(value: Number) -> tuple[float, float]:
    if isinstance(value, int | float):
        return (float(value), float(value))
    return value.support()


def median(value: Number) -> float:
    return float(value) if isinstance(value, int | float) else value.median()


def is_uncertain(value: Number) -> bool:
    return not isinstance(value, int | float | Fixed)


def code(value: Number) -> tuple[int, np.ndarray]:
    """The distribution as a code and parameter array for compiled sampling (rng.py)."""
    from chokepoint.compile import rng

    if isinstance(value, int | float):
        return rng.FIXED, np.array([float(value), 0.0, 0.0, 0.0])
    if isinstance(value, Fixed):
        return rng.FIXED, np.array([value.value, 0.0, 0.0, 0.0])
    if isinstance(value, Uniform):
        return rng.UNIFORM, np.array([value.low, value.high, 0.0, 0.0])
    if isinstance(value, Normal):
        return rng.NORMAL, np.array([value.mean, value.sd, value.low, value.high])
    if isinstance(value, LogNormal):
        return rng.LOGNORMAL, np.array([value.median_, value.sigma, 0.0, 0.0])
    if isinstance(value, Triangular):
        return rng.TRIANGULAR, np.array([value.low, value.mode, value.high, 0.0])
    raise TypeError(f"not a distribution: {value!r}")


def quantile(value: Number, q: float) -> float:
    """The ``q`` quantile of a parameter (for one-at-a-time sensitivity)."""
    from scipy import stats

    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Fixed):
        return value.value
    if isinstance(value, Uniform):
        return value.low + q * (value.high - value.low)
    if isinstance(value, Normal):
        return float(np.clip(stats.norm.ppf(q, value.mean, value.sd), value.low, value.high))
    if isinstance(value, LogNormal):
        return float(value.median_ * np.exp(value.sigma * stats.norm.ppf(q)))
    a, c, b = value.low, value.mode, value.high
    if b <= a:
        return a
    return float(stats.triang.ppf(q, (c - a) / (b - a), loc=a, scale=b - a))
