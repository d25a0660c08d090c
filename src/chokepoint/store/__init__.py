"""The run store: every dashboard run and every ``chokepoint run --out`` run, recorded in an
SQLite database in a data directory, with where its files are.

``RunStore(store_path(option))`` opens (and creates or upgrades) the store; records are
:class:`RunRecord` rows. The location comes from ``--store``, then ``CHOKEPOINT_STORE``,
then ``$XDG_DATA_HOME/chokepoint`` (``~/.local/share/chokepoint`` by default).
"""

from chokepoint.store.db import SCHEMA_VERSION, RunRecord, RunStore, new_run_id
from chokepoint.store.location import STORE_ENV, store_path

__all__ = ["SCHEMA_VERSION", "STORE_ENV", "RunRecord", "RunStore", "new_run_id", "store_path"]
