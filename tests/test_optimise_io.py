"""Targets, the catalogue, write-back and the CLI's bad-input handling."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chokepoint.errors import DataError
from chokepoint.optimise import TargetError, load_catalogue, parse_target, parse_targets
from chokepoint.scenario import Scenario


def test_targets_parse():
    target = parse_target("pstop:car_bev@EU<=0.05")
    assert (target.kind, target.product, target.region, target.bound) == (
        "pstop",
        "car_bev",
        "EU27",
        0.05,
    )
    assert parse_target("elv<=2e9").group is None
    assert [t.kind for t in parse_targets("elv<=1,cvar95:x@DEU<=3")] == ["elv", "cvar95"]


@pytest.mark.parametrize(
    "text", ["pstop<=0.1", "pstop:a@EU27<=1.5", "risk:a@EU<=1", "elv<=nan", "elv<=-1", "elv"]
)
def test_bad_targets_are_refused(text):
    with pytest.raises(TargetError):
        parse_target(text)


def test_shipped_catalogue_reads_and_every_row_is_sourced():
    candidates = load_catalogue()
    assert {c.type for c in candidates} >= {
        "stockpile",
        "new_capacity",
        "recycling",
        "substitution",
        "qualification",
    }
    assert all(c.source or c.assumption for c in candidates)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("a,stockpile,ore,,,,,,,,,abc,,,,,,,,s,,", "unit_cost"),
        ("a,teleport,ore,,,,,,,,,1,,,,,,,,s,,", "type"),
        ("a,stockpile,ore,,,,,,,,,-1,,,,,,,,s,,", "unit_cost"),
        ("a,stockpile,ore,,,,,,,,,1,,,,,,,,,,", "source"),
        ("a,new_capacity,ore,,,,,,,,,1,,,,,,,,s,,", "country"),
    ],
)
def test_bad_catalogue_rows_name_row_and_field(tmp_path, row, field):
    from chokepoint.optimise.catalogue import COLUMNS

    path = tmp_path / "m.csv"
    path.write_text(",".join(COLUMNS) + "\n" + row + "\n")
    with pytest.raises(DataError) as raised:
        load_catalogue(path)
    assert raised.value.row == 1 and raised.value.field == field


def test_written_scenario_reads_back(tmp_path):
    from chokepoint.optimise.writeback import scenario_yaml

    scenario = Scenario.model_validate(
        {"name": "x", "events": [{"type": "stockpile", "commodity": "ore", "quantity": 5}]}
    )
    again = Scenario.from_text(scenario_yaml(scenario))
    assert again.events[0].quantity == 5


@pytest.mark.parametrize(
    "args",
    [
        ["optimise", "ree-2025-04", "--target", "pstop<=0.1", "--out", "OUT"],
        ["optimise", "ree-2025-04", "--target", "pstop:nothing@EU27<=0.1", "--out", "OUT"],
        ["tts", "--by", "planet"],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args):
    args = [str(tmp_path / "o") if a == "OUT" else a for a in args]
    done = subprocess.run(
        [sys.executable, "-c", "from chokepoint.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error:") and done.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()
