"""chokepoint: stress-test critical supply chains against economic coercion.

The public Python API::

    import chokepoint
    net = chokepoint.load_default()                 # the shipped network of public figures
    chokepoint.dependency_table(net, region="EU")   # supplier shares, HHI, CRMA flags
    chokepoint.product_origins(net, "ev_traction_motor", region="EU")
"""

from chokepoint.analysis.metrics import dependency_table, hhi, supplier_shares
from chokepoint.analysis.origins import material_origins_by_stage, origin_shares, product_origins
from chokepoint.errors import ChokepointError, DataError, ScenarioError
from chokepoint.network.container import SupplyNetwork, load_default

__version__ = "0.1.0"

__all__ = [
    "ChokepointError",
    "DataError",
    "ScenarioError",
    "SupplyNetwork",
    "__version__",
    "dependency_table",
    "hhi",
    "load_default",
    "material_origins_by_stage",
    "origin_shares",
    "product_origins",
    "supplier_shares",
]
