"""Shared fixtures: the bundled toy network, a way to write broken copies of it, and a run
store in a temporary folder for every test (never the user's data directory)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from chokepoint import examples
from chokepoint.network.container import SupplyNetwork


@pytest.fixture(scope="session", autouse=True)
def run_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point CHOKEPOINT_STORE (and XDG_DATA_HOME, in case) at temporary folders for the whole
    session, subprocesses included, so no test records runs in the user's data directory."""
    from chokepoint.store import STORE_ENV

    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORE_ENV, str(folder))
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield folder


@pytest.fixture(scope="session")
def toy() -> SupplyNetwork:
    return examples.load("toy")


@pytest.fixture
def toy_folder(tmp_path: Path) -> Path:
    """A writable copy of the toy network folder."""
    target = tmp_path / "toy"
    shutil.copytree(examples.folder("toy"), target)
    return target


@pytest.fixture
def edit_table(toy_folder: Path) -> Callable[..., Path]:
    """Edit one CSV of the toy copy: ``edit_table("links", lambda df: ...)``; returns the file."""

    def edit(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
        path = toy_folder / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(frame).to_csv(path, index=False)
        return path

    return edit
