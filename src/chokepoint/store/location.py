"""Where the run store lives: ``--store``, else ``$CHOKEPOINT_STORE``, else the user's data
directory after the XDG base-directory rules (``$XDG_DATA_HOME/chokepoint``, by default
``~/.local/share/chokepoint``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STORE_ENV = "CHOKEPOINT_STORE"
"""Environment variable naming the store folder when ``--store`` is not given."""


def store_path(option: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The store folder: ``option`` if given, else ``$CHOKEPOINT_STORE``, else XDG's data
    home (a relative ``XDG_DATA_HOME`` is ignored, as the XDG rules say)."""
    environ = os.environ if environ is None else environ
    if option is not None and str(option).strip():
        return Path(option).expanduser()
    named = environ.get(STORE_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    data_home = environ.get("XDG_DATA_HOME", "").strip()
    if not data_home or not Path(data_home).is_absolute():
        data_home = str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data_home) / "chokepoint"
