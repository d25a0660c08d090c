"""Uncertain parameters: a number or a distribution, sampled once per draw.

In a scenario file any numeric parameter may be written as a plain number or as a mapping
``{dist: lognormal, median: 63, sigma: 0.3}``. Sampling takes one value per draw from that
draw's own generator, so a draw's numbers do not depend on how draws are chunked.
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

    def sample(self, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def median(self) -> float:
        raise NotImplementedError


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: float

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

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

    def sample(self, rng: np.random.Generator) -> float:
        return float(np.clip(rng.normal(self.mean, self.sd), self.low, self.high))

    def median(self) -> float:
        return float(np.clip(self.mean, self.low, self.high))


class LogNormal(_Dist):
    """Log-normal given by its median and the standard deviation of its logarithm."""

    dist: Literal["lognormal"]
    median_: float = Field(alias="median", gt=0)
    sigma: float = Field(ge=0)

    def support(self) -> tuple[float, float]:
        return (0.0, np.inf)

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.median_ * np.exp(self.sigma * rng.standard_normal()))

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

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

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

    def sample(self, rng: np.random.Generator) -> float:
        if self.low == self.high:
            return self.low
        return float(rng.triangular(self.low, self.mode, self.high))

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


def sample(value: Number, rng: np.random.Generator) -> float:
    """One draw of ``value`` (a plain number is returned as it is, using no randomness)."""
    if isinstance(value, int | float):
        return float(value)
    return value.sample(rng)


def median(value: Number) -> float:
    return float(value) if isinstance(value, int | float) else value.median()


def is_uncertain(value: Number) -> bool:
    return not isinstance(value, int | float | Fixed)


def sample_many(value: Number, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` independent values of ``value`` (a plain number is repeated)."""
    if isinstance(value, int | float):
        return np.full(size, float(value))
    if isinstance(value, Fixed):
        return np.full(size, value.value)
    return np.array([value.sample(rng) for _ in range(size)])
