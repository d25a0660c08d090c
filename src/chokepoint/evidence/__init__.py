"""The evidence loop: what a number rests on and whether the model has been right.

* :mod:`chokepoint.evidence.audit`: swing every assumed input over its range, rank the
  inputs by their effect on a headline metric, screen the top ones for interactions
  (Morris elementary effects, SALib) and say how much of the headline's variance is owed
  to unsourced inputs.
* :mod:`chokepoint.evidence.calibrate`: approximate Bayesian computation (rejection, then
  sequential Monte Carlo) of scenario parameters against observed monthly series.
* :mod:`chokepoint.evidence.episodes`: the public validation episodes in ``validation/``,
  model against observed, pass or fail per check with tolerances fixed before any run.
* :mod:`chokepoint.evidence.series`: the one adapter from engine trajectories to the model
  series that observations are compared with.

The public names (``audit``, ``calibrate``, ``read_mapping``, ``validate_episodes``,
``run_episode``, ``load_episode``) are imported on first use, so that importing this package
does not load the engine.
"""

from typing import TYPE_CHECKING

from chokepoint.lazy import lazy_getattr

_LAZY = {
    "audit": "chokepoint.evidence.audit",
    "Audit": "chokepoint.evidence.audit",
    "calibrate": "chokepoint.evidence.calibrate",
    "Calibration": "chokepoint.evidence.calibrate",
    "read_mapping": "chokepoint.evidence.observed",
    "read_observed": "chokepoint.evidence.observed",
    "validate_episodes": "chokepoint.evidence.episodes",
    "run_episode": "chokepoint.evidence.episodes",
    "load_episode": "chokepoint.evidence.episodes",
}

if TYPE_CHECKING:
    from chokepoint.evidence.audit import Audit, audit
    from chokepoint.evidence.calibrate import Calibration, calibrate
    from chokepoint.evidence.episodes import load_episode, run_episode, validate_episodes
    from chokepoint.evidence.observed import read_mapping, read_observed


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "Audit",
    "Calibration",
    "audit",
    "calibrate",
    "load_episode",
    "read_mapping",
    "read_observed",
    "run_episode",
    "validate_episodes",
]
