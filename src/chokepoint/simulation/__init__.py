"""Simulation: prepare a run, split draws into chunks, run them locally or on Dask; sweeps and
sensitivity on top."""
