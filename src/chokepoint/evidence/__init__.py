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
"""
