"""The server under load, on 127.0.0.1 only, bounded in count and time: 20 runs at once on
two workers while 200 slow connections hold on (reopened as the server drops them); the
server runs in a process of its own.
``/api/health`` answers in under 1 s throughout, the slow connections are closed by the
server after its header time limit, and every run's result is the one it asked for."""

from __future__ import annotations

import json
import math

import pytest
from webload import ServerProcess, load

from chokepoint.scenario import load_scenario
from chokepoint.simulation.run import simulate

pytestmark = pytest.mark.slow

DRAWS = 2
HEADER_TIMEOUT = 3.0
CONFIGS = {
    "3m seed 1": {"preset": "licences-3m", "draws": DRAWS, "seed": 1},
    "3m seed 2": {"preset": "licences-3m", "draws": DRAWS, "seed": 2},
    "12m seed 1": {"preset": "licences-12m", "draws": DRAWS, "seed": 1},
    "3m as 12m seed 1": {
        "preset": "licences-3m",
        "draws": DRAWS,
        "seed": 1,
        "knobs": {"validity_days": 365},
    },
}


def lost(result: dict) -> dict[tuple[str, str], float]:
    return {
        (row["product"], row["region"]): row["lost_output_mean"]
        for row in result["summary"]["products"]
    }


def test_health_stays_fast_and_results_unmixed_under_load(tmp_path):
    keys = [key for _ in range(5) for key in CONFIGS]  # 20 runs, the configs interleaved
    app = {"store": str(tmp_path), "workers": 2, "max_pending": len(keys), "max_draws": 50}
    limits = {"header_timeout": HEADER_TIMEOUT, "max_connections": 400}
    with ServerProcess(app, limits) as server:
        outcome = load(server.url, server.port, [CONFIGS[k] for k in keys], slow=200, timeout=240)
    figures = outcome["figures"]
    print(json.dumps({"web_load": figures}))  # shown with pytest -s

    assert not figures["health_failures"], figures
    assert figures["health_requests"] > 50
    assert figures["health_max_s"] < 1.0, figures
    assert not figures["slow_errors"], figures
    assert figures["slow_opened"] >= 200 and figures["slow_closed_by_server"] >= 200
    assert figures["slow_answers"] == ["HTTP/1.1 408"]  # dropped by the header time limit
    assert figures["slow_held_s_max"] < HEADER_TIMEOUT + 2

    results = dict.fromkeys(CONFIGS, None)
    for key, result in zip(keys, outcome["results"], strict=True):
        assert result.get("status") == "done", result
        meta = result["summary"]["metadata"]
        order = CONFIGS[key]
        assert (meta["scenario"], meta["seed"], meta["draws"]) == (
            order["preset"],
            order["seed"],
            DRAWS,
        )
        if results[key] is None:
            results[key] = result
        else:  # the same order gives the same numbers, whatever ran beside it
            assert lost(result) == lost(results[key])
            assert result["key_numbers"] == results[key]["key_numbers"]
    alone = simulate(load_scenario("licences-3m"), draws=DRAWS, seed=1).stats
    expected = {
        (p, r): v
        for p, r, v in zip(
            alone["product"], alone["region"], alone["lost_output_mean"], strict=True
        )
    }
    assert lost(results["3m seed 1"]) == pytest.approx(expected)
    assert lost(results["3m as 12m seed 1"]) == pytest.approx(lost(results["12m seed 1"]))
    assert lost(results["3m seed 1"]) != pytest.approx(lost(results["3m seed 2"]))
    assert all(math.isfinite(v) for v in lost(results["3m seed 2"]).values())
