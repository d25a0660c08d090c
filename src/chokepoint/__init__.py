"""chokepoint: stress-test critical supply chains against economic coercion.

The public Python API::

    import chokepoint
    net = chokepoint.load_default()                 # the shipped network of public figures
    chokepoint.dependency_table(net, region="EU")   # supplier shares, HHI, CRMA flags
    chokepoint.product_origins(net, "ev_traction_motor", region="EU")
    scenario = chokepoint.load_scenario("ree-2025-04")   # or chokepoint.Scenario.from_yaml(path)
    results = chokepoint.simulate(scenario, net, draws=200, seed=1)
    results.stats                                   # risk figures per product and region

The pipeline's stages are subpackages: ``network`` → ``analysis`` → ``scenario`` →
``compile`` → ``engine`` → ``results``, run by ``simulation``; ``economy``, ``importers``,
``reporting``, ``cli`` and ``web`` sit around them. Names that need the engine (numba) are
imported on first use, so ``import chokepoint`` stays light.
"""

from typing import TYPE_CHECKING

from chokepoint.analysis.metrics import dependency_table, hhi, supplier_shares
from chokepoint.analysis.origins import material_origins_by_stage, origin_shares, product_origins
from chokepoint.errors import ChokepointError, DataError, ScenarioError
from chokepoint.lazy import lazy_getattr
from chokepoint.network.container import SupplyNetwork, load_default

__version__ = "0.1.0"

_LAZY = {
    "Scenario": "chokepoint.scenario",
    "load_scenario": "chokepoint.scenario",
    "preset_names": "chokepoint.scenario",
    "simulate": "chokepoint.simulation.run",
    "Results": "chokepoint.results.results",
    "audit": "chokepoint.evidence.audit",
    "calibrate": "chokepoint.evidence.calibrate",
    "validate_episodes": "chokepoint.evidence.episodes",
}

if TYPE_CHECKING:
    from chokepoint.evidence.audit import audit
    from chokepoint.evidence.calibrate import calibrate
    from chokepoint.evidence.episodes import validate_episodes
    from chokepoint.results.results import Results
    from chokepoint.scenario import Scenario, load_scenario, preset_names
    from chokepoint.simulation.run import simulate


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "ChokepointError",
    "DataError",
    "Results",
    "Scenario",
    "ScenarioError",
    "SupplyNetwork",
    "__version__",
    "audit",
    "calibrate",
    "dependency_table",
    "hhi",
    "load_default",
    "load_scenario",
    "material_origins_by_stage",
    "origin_shares",
    "preset_names",
    "product_origins",
    "simulate",
    "supplier_shares",
    "validate_episodes",
]
