"""Counter-based random numbers: every number is a hash of where it is used.

``uniform(seed, event, part, draw, index)`` is SplitMix64 applied along the key, so the
number a draw gets does not depend on which other draws run beside it, in which chunk, on
which worker — the property that makes a chunked, threaded or Dask run give the same
numbers as a single-process one — and it needs no generator state, so the hot licensing
loop can draw numbers inside compiled code. Distributions are sampled by transforming
uniforms (inverse CDF; Box-Muller for the normal family).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

FIXED, UNIFORM, NORMAL, LOGNORMAL, TRIANGULAR = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def splitmix64(value: np.uint64) -> np.uint64:
    z = value + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def uniform(seed: int, event: int, part: int, draw: int, index: int) -> float:
    """A number in (0, 1), fixed by its five coordinates."""
    h = splitmix64(np.uint64(seed))
    h = splitmix64(h ^ np.uint64(event))
    h = splitmix64(h ^ np.uint64(part))
    h = splitmix64(h ^ np.uint64(draw))
    h = splitmix64(h ^ np.uint64(index))
    return ((h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def from_uniforms(code: int, params: np.ndarray, u1: float, u2: float) -> float:
    """A value of a distribution from two uniforms (``params`` as in ``Distribution.code``)."""
    if code == FIXED:
        return params[0]
    if code == UNIFORM:
        return params[0] + u1 * (params[1] - params[0])
    if code == TRIANGULAR:
        low, mode, high = params[0], params[1], params[2]
        if high <= low:
            return low
        cut = (mode - low) / (high - low)
        if u1 < cut:
            return low + np.sqrt(u1 * (high - low) * (mode - low))
        return high - np.sqrt((1.0 - u1) * (high - low) * (high - mode))
    gauss = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    if code == NORMAL:
        return min(max(params[0] + params[1] * gauss, params[2]), params[3])
    return params[0] * np.exp(params[1] * gauss)  # LOGNORMAL: median, sigma


@njit(cache=True, nogil=True)
def sample(
    code: int, params: np.ndarray, seed: int, event: int, part: int, draw: int, index: int
) -> float:
    """One value: uses the uniforms at ``2 * index`` and ``2 * index + 1``."""
    u1 = uniform(seed, event, part, draw, 2 * index)
    u2 = uniform(seed, event, part, draw, 2 * index + 1)
    return from_uniforms(code, params, u1, u2)


@njit(cache=True, nogil=True)
def sample_draws(
    code: int, params: np.ndarray, seed: int, event: int, part: int, draws: np.ndarray
) -> np.ndarray:
    """One value per draw (index 0 of each draw's stream for this event and part)."""
    out = np.empty(draws.shape[0])
    for i in range(draws.shape[0]):
        out[i] = sample(code, params, seed, event, part, draws[i], 0)
    return out


def stream(name: str) -> int:
    """The random-stream number (the key's ``part``) of a named parameter, e.g.
    ``"capacity_loss"`` or ``"exemptions[0].share"``: 64-bit FNV-1a of the name with bit 62
    set and bit 63 clear. Named, not numbered by position, so adding a parameter to an event
    changes no other parameter's draws; bit 62 keeps it apart from the licensing kernel's
    small per-flow numbers."""
    value = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return (value & ((1 << 62) - 1)) | (1 << 62)
