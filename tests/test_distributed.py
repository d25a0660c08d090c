"""Scale-out: the same draws on a Dask LocalCluster give bit-identical results."""

from __future__ import annotations

import pandas as pd
import pytest

from chokepoint.scenario import load_scenario
from chokepoint.simulation.run import simulate


@pytest.mark.slow
def test_local_cluster_matches_local_run() -> None:
    from dask.distributed import Client, LocalCluster

    scenario = load_scenario("licences-3m").with_overrides(draws=24)
    local = simulate(scenario, chunk_size=24)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        address = cluster.scheduler_address
        with Client(address):
            done = []
            spread = simulate(
                scenario, chunk_size=5, scheduler=address, progress=lambda d, t: done.append((d, t))
            )
    finally:
        cluster.close()
    pd.testing.assert_frame_equal(local.summary, spread.summary, check_exact=True)
    pd.testing.assert_frame_equal(local.stats, spread.stats, check_exact=True)
    pd.testing.assert_frame_equal(local.licences, spread.licences, check_exact=True)
    pd.testing.assert_frame_equal(local.bands, spread.bands, check_exact=True)
    assert done[-1] == (24, 24) and len(done) == 5
    assert local.stats["lost_output_mean"].max() > 0
