"""The network stage: tables and their schema, validation at the boundary, I/O, country codes
and the structure maths (bill of materials, requirements, link flows)."""

from chokepoint.network.container import SupplyNetwork, default_folder, load_default

__all__ = ["SupplyNetwork", "default_folder", "load_default"]
