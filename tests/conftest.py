"""Shared fixtures: the bundled toy network and a way to write broken copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from chokepoint import examples
from chokepoint.network.container import SupplyNetwork


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
