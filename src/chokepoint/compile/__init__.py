"""The compile stage: a network and a scenario become arrays (the model) and exogenous inputs
per day and draw (gates, capacities, injections), with all randomness drawn here."""
