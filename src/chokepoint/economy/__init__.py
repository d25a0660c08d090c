"""The economy-wide layer: MRIO tables, static exposure, an ARIO dynamic model, the hybrid link.

::

    from chokepoint.economy import load_mrio, run_economy, total_output
    mrio = load_mrio("test")                      # pymrio's test system; or an EXIOBASE/ICIO path
    x = total_output(mrio.A, mrio.final_demand)   # sparse solve, equals pymrio's x
    result = run_economy("licences-3m", mrio)     # value added lost by country and sector
    result.regions, result.eu_sectors, result.daily

See ``docs/economy.md``.
"""

from chokepoint.economy.ario import ARIOModel, ARIOParameters, ARIOResult, build_ario, run_ario
from chokepoint.economy.events import (
    RECOVERY_FUNCTIONS,
    CapacityLoss,
    CapitalDestruction,
    capital_loss,
)
from chokepoint.economy.hybrid import producer_links, shortfall_capacity_loss
from chokepoint.economy.mapping import (
    load_region_mapping,
    load_sector_mapping,
    mappings_folder,
)
from chokepoint.economy.mrio import (
    MRIO,
    LeontiefSolver,
    exposure_table,
    extraction_loss,
    from_pymrio,
    leontief_columns,
    load_mrio,
    mrio_from_arrays,
    supplier_dependence,
    technical_coefficients,
    total_output,
    value_added_multipliers,
)
from chokepoint.economy.run import EconomyResults, run_economy
from chokepoint.economy.synthetic import synthetic_mrio, to_pymrio

__all__ = [
    "MRIO",
    "RECOVERY_FUNCTIONS",
    "ARIOModel",
    "ARIOParameters",
    "ARIOResult",
    "CapacityLoss",
    "CapitalDestruction",
    "EconomyResults",
    "LeontiefSolver",
    "build_ario",
    "capital_loss",
    "exposure_table",
    "extraction_loss",
    "from_pymrio",
    "load_mrio",
    "load_region_mapping",
    "load_sector_mapping",
    "mappings_folder",
    "mrio_from_arrays",
    "producer_links",
    "run_ario",
    "run_economy",
    "shortfall_capacity_loss",
    "supplier_dependence",
    "synthetic_mrio",
    "technical_coefficients",
    "to_pymrio",
    "total_output",
    "leontief_columns",
    "value_added_multipliers",
]
