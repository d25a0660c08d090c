"""Validation episodes: the shipped folders as written, and the judging on a toy episode.

The toy: a Chinese mine ships ore to a German buyer that holds no stock; China bans ore
exports for all of February 2025. January is at baseline, February at zero, March back.
Checks with known answers: the baseline level passes against itself, February's ratio is
0, March's is 1, a window past the horizon is "not evaluated", never passed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from netbuild import mine_and_buyer
from typer.testing import CliRunner

from chokepoint.cli.main import app
from chokepoint.evidence.episodes import _recomputed, load_episode, run_episode

ROOT = Path(__file__).resolve().parents[1] / "validation"

# The accepted intervals as written on 2026-12-01, before any model run (validation/README.md:
# "Tolerances and the model quantity are not changed after a model run"). A change here is a
# change of a check: give it a new id and date instead.
WRITTEN = {
    "gallium-germanium-2023": {
        "gg-01": ["0.5", "2.0"], "gg-02": ["0.5", "2.0"], "gg-03": ["0.0", "0.05"],
        "gg-04": ["0.0", "0.05"], "gg-05": ["0.0", "0.1"], "gg-06": ["0.0", "0.1"],
        "gg-07": ["0.27", "0.67"], "gg-08": ["0.2", "0.53"], "gg-09": ["0.3", "0.6"],
        "gg-10": ["2023-10", "2024-01"], "gg-11": ["2023-11", "2024-01"],
        "gg-12": ["0.0", "0.05"],
    },
    "graphite-2023-12": {
        "gr-01": ["0.5", "2.0"], "gr-02": ["0.5", "2.0"], "gr-03": ["0.11", "0.36"],
        "gr-04": ["0.1", "0.33"], "gr-05": ["0.2", "0.5"], "gr-06": ["0.08", "0.38"],
        "gr-07": ["0.62", "0.82"], "gr-08": ["0.65", "0.85"], "gr-09": ["0.71", "0.91"],
        "gr-10": ["0.86", "1.06"], "gr-11": ["0.7", "1.3"],
    },
}  # fmt: skip


@pytest.mark.parametrize("episode", sorted(WRITTEN))
def test_tolerances_are_as_written_before_the_first_run(episode) -> None:
    checks = yaml.safe_load((ROOT / episode / "checks.yaml").read_text(encoding="utf-8"))
    assert checks["written"].isoformat() == "2026-12-01"
    found = {c["id"]: [str(a) for a in c["accept"]] for c in checks["checks"]}
    assert found == WRITTEN[episode]


@pytest.mark.parametrize("episode", sorted(WRITTEN))
def test_observed_values_follow_from_observed_csv(episode) -> None:
    loaded = load_episode(ROOT / episode)
    for check in loaded.checks["checks"]:
        again = _recomputed(loaded, check)
        written = check["observed"]["value"]
        if math.isnan(again):
            continue
        assert again == pytest.approx(float(written), rel=0.01, abs=0.0015), check["id"]


NET = mine_and_buyer()


def _episode(folder: Path) -> Path:
    folder.mkdir()
    (folder / "observed.csv").write_text(
        "date,period,series,value,unit,source,note\n"
        "2025-01-01,month,exports:CHN>WORLD:ore,310,t,test,\n"
        "2025-02-01,month,exports:CHN>WORLD:ore,0,t,test,\n",
        encoding="utf-8",
    )
    ratio = {"comparison": "model_in_interval", "observed": {"value": 0.0}}
    checks = [
        {"id": "t-01", "title": "level", "comparison": "model_over_observed",
         "observed": {"value": 304.2, "unit": "t"}, "accept": [0.9, 1.1]},
        {"id": "t-02", "title": "February", **ratio, "accept": [0.0, 0.05]},
        {"id": "t-03", "title": "March", **ratio, "accept": [0.0, 0.05]},
        {"id": "t-04", "title": "first month", "comparison": "month_in_interval",
         "observed": {"value": "2025-03"}, "accept": ["2025-03", "2025-03"]},
        {"id": "t-05", "title": "past the horizon", **ratio, "accept": [0.0, 1.0]},
    ]  # fmt: skip
    (folder / "checks.yaml").write_text(
        yaml.safe_dump({"episode": "toy", "written": "2026-12-01", "checks": checks}),
        encoding="utf-8",
    )
    model = {
        "groups": {"ore": {"exporter": "CHN", "destination": "WORLD", "commodities": ["ore"]}},
        "checks": {
            "t-01": {"kind": "level", "group": "ore"},
            "t-02": {"kind": "ratio", "group": "ore", "window": ["2025-02", "2025-02"]},
            "t-03": {"kind": "ratio", "group": "ore", "window": ["2025-03", "2025-03"]},
            "t-04": {"kind": "first_month", "group": "ore", "window": ["2025-02", "2025-04"],
                     "threshold": 0.5},
            "t-05": {"kind": "ratio", "group": "ore", "window": ["2026-01", "2026-01"]},
        },
    }  # fmt: skip
    (folder / "model.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
    scenario = {
        "name": "toy ban",
        "start": "2025-01-01",
        "horizon_days": 120,
        "seed": 3,
        "draws": 2,
        "events": [
            {"type": "export_ban", "exporter": "CHN", "commodity": "ore", "start": 31, "end": 59}
        ],
    }
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    return _episode(tmp_path_factory.mktemp("episodes") / "toy")


@pytest.mark.slow
def test_checks_with_known_answers(toy) -> None:
    table = run_episode(load_episode(toy), NET).set_index("check")
    assert table.at["t-01", "result"] == "pass"
    assert table.at["t-01", "model"] == pytest.approx(304.17, rel=1e-3)
    assert table.at["t-02", "value"] == pytest.approx(0.0, abs=1e-9)
    assert table.at["t-02", "result"] == "pass"
    assert table.at["t-03", "value"] == pytest.approx(1.0, rel=1e-6)
    assert table.at["t-03", "result"] == "fail"
    assert table.at["t-04", "value"] == "2025-03"
    assert table.at["t-04", "result"] == "pass"
    assert table.at["t-05", "result"] == "not evaluated"
    assert "horizon" in table.at["t-05", "reason"]


@pytest.mark.slow
def test_cli_prints_every_check_and_writes_the_report(toy, tmp_path) -> None:
    folder = tmp_path / "net"
    NET.to_folder(folder)
    report = tmp_path / "episodes.html"
    args = ["validate-episodes", str(toy.parent), "--network", str(folder)]
    result = CliRunner().invoke(app, [*args, "--format", "json", "--report", str(report)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["result"] for r in rows] == ["pass", "pass", "fail", "pass", "not evaluated"]
    assert "How well does it do?" in report.read_text(encoding="utf-8")
    strict = CliRunner().invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1
    assert "t-05 not evaluated" in strict.stdout
