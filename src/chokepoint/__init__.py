"""chokepoint."""
