"""Splitting draws over threads: one rule for every compiled loop that releases the GIL
(the engine kernel, the licensing kernel, the ARIO kernel).

Draws are independent and every random number is keyed by its draw, so how draws are split
never changes a result; it only sets how many cores work.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def split_range(total: int, parts: int) -> list[tuple[int, int]]:
    """``range(total)`` as at most ``parts`` contiguous, non-empty ``(lo, hi)`` pieces of
    near-equal size; empty when ``total`` is 0."""
    parts = max(1, min(parts, total))
    edges = np.linspace(0, total, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def map_in_threads(work: Callable[[int, int], T], total: int, threads: int = 2) -> list[T]:
    """``work(lo, hi)`` for each piece of ``split_range(total, threads)``, on threads when
    there is more than one piece; the results in piece order."""
    pieces = split_range(total, threads)
    if len(pieces) <= 1:
        return [work(lo, hi) for lo, hi in pieces]
    with ThreadPoolExecutor(max_workers=len(pieces)) as pool:
        return list(pool.map(lambda piece: work(*piece), pieces))
