"""The engine stage: the daily shortage kernel (numba) and the runner that feeds it."""
