"""Scale-out on Dask: chunks of draws as tasks on a cluster.

``scheduler="local"`` starts a ``LocalCluster`` for the run (one single-threaded worker per
core); any other value is the address of a running scheduler (``tcp://host:8786``). The
prepared run is sent to every worker once; each task is
:func:`chokepoint.simulation.chunks.run_chunk` on one chunk, whose numbers depend only on
the draw indices — so the results are identical to a local run, whatever the number of
workers or the order tasks finish in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from chokepoint.errors import OptionError
from chokepoint.simulation.chunks import ChunkResult, Prepared, run_chunk


def _client(scheduler: str):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the cluster extra is installed by make
        raise OptionError("scheduler", "needs Dask: pip install 'chokepoint[cluster]'") from None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=max(1, min(os.cpu_count() or 1, 4)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except OSError as exc:
        raise OptionError("scheduler", f"cannot reach {scheduler}: {exc}") from None


def map_chunks(
    prepared: Prepared,
    chunks: Sequence[np.ndarray],
    scheduler: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[ChunkResult]:
    """Run every chunk as a Dask task; return the chunk results in chunk order."""
    from dask.distributed import as_completed

    client, cluster = _client(scheduler)
    try:
        shared = client.scatter(prepared, broadcast=True)
        futures = [client.submit(run_chunk, shared, chunk, 1, pure=False) for chunk in chunks]
        position = {future.key: index for index, future in enumerate(futures)}
        results: list[ChunkResult | None] = [None] * len(futures)
        total = int(sum(len(chunk) for chunk in chunks))
        done = 0
        for future in as_completed(futures):
            index = position[future.key]
            results[index] = future.result()
            done += len(chunks[index])
            if progress is not None:
                progress(done, total)
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
