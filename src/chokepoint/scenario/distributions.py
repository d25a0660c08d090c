"""Uncertain parameters: a number or a distribution, sampled once per draw.

In a scenario file any numeric parameter may be written as a plain number or as a mapping
``{dist: lognormal, median: 63, sigma: 0.3}``. The models here validate and describe the
distributions; sampling happens in compiled code (:mod:`chokepoint.compile.rng`) from counter-based
uniforms, so a draw's numbers do not depend on how draws are chunked.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

MAX_SIGMA = 5.0
"""Largest log-normal sigma accepted: beyond it draws span more than 10^17 between the
1-in-a-million quantiles, and the extreme draws overflow."""


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take (after clipping)."""
        raise NotImplementedError

    def median(self) -> float:
        raise NotImplementedError


def _check_ordered(dist: str, low: float, high: float) -> None:
    if low > high:
        raise ValueError(f"{dist}: low ({low:g}) must not exceed high ({high:g})")


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
    sd: float
    low: float = -np.inf
    high: float = np.inf

    @model_validator(mode="after")
    def _valid(self) -> Normal:
        if self.sd < 0:
            raise ValueError(f"normal: sd must be at least 0 (got {self.sd:g})")
        _check_ordered("normal", self.low, self.high)
        return self

    def support(self) -> tuple[float, float]:
        if self.sd == 0:
            return (self.median(), self.median())
        return (self.low, self.high)

    def median(self) -> float:
        return float(np.clip(self.mean, self.low, self.high))


class LogNormal(_Dist):
    """Log-normal given by its median and the standard deviation of its logarithm."""

    dist: Literal["lognormal"]
    median_: float = Field(alias="median")
    sigma: float

    @model_validator(mode="after")
    def _valid(self) -> LogNormal:
        if self.median_ <= 0:
            raise ValueError(f"lognormal: median must be greater than 0 (got {self.median_:g})")
        if not 0 < self.sigma <= MAX_SIGMA:
            raise ValueError(
                f"lognormal: sigma must be greater than 0 and at most {MAX_SIGMA:g} "
                f"(got {self.sigma:g}; use dist: fixed for a constant)"
            )
        return self

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
        _check_ordered("uniform", self.low, self.high)
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
            raise ValueError(
                f"triangular: need low <= mode <= high (got {self.low:g}, {self.mode:g}, "
                f"{self.high:g})"
            )
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


DISTRIBUTIONS: dict[str, type[_Dist]] = {
    cls.model_fields["dist"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (Fixed, Normal, LogNormal, Uniform, Triangular)
}
"""The registry: ``dist:`` name → distribution class."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {value})")
    return value


def parse_number(value: Any) -> Any:
    """A plain finite number or a distribution; errors say what is wrong in words."""
    if isinstance(value, _Dist):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number")
    if isinstance(value, int | float):
        return _finite(float(value))
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a number") from None
        return _finite(number)
    if isinstance(value, dict):
        return _distribution(value)
    raise ValueError("expected a number or a distribution such as {dist: uniform, ...}")


def _distribution(value: dict[str, Any]) -> _Dist:
    known = ", ".join(DISTRIBUTIONS)
    if "dist" not in value:
        raise ValueError(f"a distribution needs 'dist' (one of: {known})")
    name = value["dist"]
    cls = DISTRIBUTIONS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown dist '{name}' (known: {known})")
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        text = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            text = "required key is missing"
        elif error["type"] == "extra_forbidden":
            text = f"unknown key (a {name} takes: {', '.join(_keys(cls))})"
        raise ValueError(f"{name}: {where}: {text}" if where else text) from None


def _keys(cls: type[_Dist]) -> list[str]:
    return [f.alias or n for n, f in cls.model_fields.items() if n != "dist"]


Distribution = Annotated[
    Fixed | Normal | LogNormal | Uniform | Triangular, Field(discriminator="dist")
]
Number = Annotated[float | Distribution, BeforeValidator(parse_number)]
"""A parameter: a plain finite number or a distribution."""


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
        if value.sd == 0:
            return value.median()
        return float(np.clip(stats.norm.ppf(q, value.mean, value.sd), value.low, value.high))
    if isinstance(value, LogNormal):
        return float(value.median_ * np.exp(value.sigma * stats.norm.ppf(q)))
    a, c, b = value.low, value.mode, value.high
    if b <= a:
        return a
    return float(stats.triang.ppf(q, (c - a) / (b - a), loc=a, scale=b - a))
