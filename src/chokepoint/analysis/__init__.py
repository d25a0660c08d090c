"""The analysis stage: dependency metrics and origin attribution, pure functions of a network."""
