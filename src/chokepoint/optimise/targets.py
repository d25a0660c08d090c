"""Resilience targets: what the optimiser must achieve, parsed from short strings.

``pstop:car_bev@EU27<=0.05``  probability that the group's output stops (below the
                              scenario's survive threshold on some day) at most 5%;
``elv<=2e9``                  expected lost value (EUR) of every product group at most X;
``elv:car_bev@EU27<=2e9``     ... of one group;
``cvar95:car_bev@EU27<=1e5``  mean lost output of the worst 5% of draws at most Y.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from chokepoint.errors import ChokepointError

KINDS = {
    "pstop": "probability of a stoppage",
    "elv": "expected lost value (EUR)",
    "cvar95": "CVaR95 of lost output (mean of the worst 5% of draws)",
}

_PATTERN = re.compile(
    r"^\s*(?P<kind>[a-z0-9]+)\s*(?::\s*(?P<product>[A-Za-z0-9_.\-]+)\s*@\s*(?P<region>[A-Za-z0-9_]+))?"
    r"\s*<=\s*(?P<bound>[^\s]+)\s*$"
)


class TargetError(ChokepointError):
    """A target string that cannot be read."""


@dataclass(frozen=True)
class Target:
    """A bound on one risk measure of one product group (or of all, for ``elv``)."""

    kind: str
    bound: float
    product: str | None = None
    region: str | None = None

    @property
    def group(self) -> str | None:
        return None if self.product is None else f"{self.product}@{self.region}"

    def __str__(self) -> str:
        where = f":{self.group}" if self.group else ""
        return f"{self.kind}{where}<={self.bound:g}"


def parse_target(text: str) -> Target:
    """Read ``KIND[:PRODUCT@REGION]<=BOUND``; raise TargetError naming what is wrong."""
    match = _PATTERN.match(text or "")
    if not match:
        raise TargetError(
            f"target '{text}': expected KIND[:PRODUCT@REGION]<=BOUND, "
            "e.g. 'pstop:car_bev@EU27<=0.05'"
        )
    kind = match["kind"]
    if kind not in KINDS:
        raise TargetError(f"target '{text}': unknown kind '{kind}' (known: {', '.join(KINDS)})")
    try:
        bound = float(match["bound"])
    except ValueError:
        raise TargetError(f"target '{text}': bound '{match['bound']}' is not a number") from None
    if not math.isfinite(bound) or bound < 0:
        raise TargetError(f"target '{text}': the bound must be a finite number >= 0")
    if kind == "pstop" and bound > 1:
        raise TargetError(f"target '{text}': a probability must be at most 1")
    product = match["product"]
    if kind != "elv" and product is None:
        raise TargetError(f"target '{text}': '{kind}' needs a product group, e.g. car_bev@EU27")
    region = match["region"].upper() if match["region"] else None
    if region == "EU":
        region = "EU27"
    return Target(kind, bound, product, region)


def parse_targets(texts: list[str] | str) -> list[Target]:
    """Several targets, given as a list or one comma-separated string."""
    if isinstance(texts, str):
        texts = [t for t in texts.split(",") if t.strip()]
    if not texts:
        raise TargetError("give at least one target, e.g. 'pstop:car_bev@EU27<=0.05'")
    return [parse_target(t) for t in texts]
