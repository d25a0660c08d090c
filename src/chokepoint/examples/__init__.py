"""Small bundled networks that load with one call, for tests, docs and experiments.

``toy`` is a six-commodity rare-earth chain (ore → oxides → magnet → motor → car) with
round numbers, so every metric can be checked by hand (docs/worked-example.md does).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from chokepoint.network.container import SupplyNetwork

NAMES = ("toy",)


def folder(name: str) -> Path:
    """Folder of the bundled example ``name``."""
    if name not in NAMES:
        raise KeyError(f"unknown example {name!r}; choose from {', '.join(NAMES)}")
    return Path(str(resources.files("chokepoint") / "data" / "examples" / name))


def load(name: str = "toy") -> SupplyNetwork:
    """Load a bundled example network."""
    return SupplyNetwork.from_folder(folder(name))
