"""The ``chokepoint`` command line: a thin layer over the public Python API."""

from chokepoint.cli.main import app, main

__all__ = ["app", "main"]
