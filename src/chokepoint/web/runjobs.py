"""What a run worker process does: simulate a scenario, write the run's files into the
store's folder, and make its record and the dashboard's payload (as JSON bytes).

The server sends ``("run", job)``; the worker answers ``("progress", done, total)`` as
chunks of draws finish, then ``("done", record, payload_json)``, ``("failed", message)``
(bad input, one line) or ``("bug", traceback)``.
"""

from __future__ import annotations

import json
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError
from chokepoint.web.workers import one_line, serve_requests

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.reporting.data import RunData
    from chokepoint.simulation.run import Results
    from chokepoint.store import RunRecord


def build_payload(
    run: RunData, network: SupplyNetwork | None, summary: dict[str, Any]
) -> dict[str, Any]:
    """What the dashboard shows for a finished run: key numbers, charts and the summary."""
    from chokepoint.reporting.charts import Catalog
    from chokepoint.reporting.data import key_numbers
    from chokepoint.reporting.figures import dashboard_figures

    catalog = Catalog.of(network)
    return {
        "key_numbers": key_numbers(run, catalog.names, catalog.aggregates),
        "figures": dashboard_figures(run, network),
        "summary": summary,
    }


def payload_json(payload: dict[str, Any]) -> bytes:
    """A payload as JSON bytes (NaN and infinities as null)."""
    from chokepoint.web.limits import clean_json

    return json.dumps(clean_json(payload), ensure_ascii=False, allow_nan=False).encode("utf-8")


def keep_run(
    results: Results, network: SupplyNetwork, job: dict[str, Any]
) -> tuple[RunRecord, bytes]:
    """Write a finished run's files into ``job["folder"]``; its record and payload."""
    from chokepoint.reporting.charts import Catalog
    from chokepoint.reporting.data import RunData
    from chokepoint.store.record import record_of
    from chokepoint.web.knobs import scenario_yaml

    folder = Path(job["folder"])
    results.write(folder)
    (folder / "scenario.yaml").write_text(scenario_yaml(results.scenario), encoding="utf-8")
    data = RunData.from_results(results, job["label"])
    record = record_of(
        data,
        run_id=job["id"],
        source="dashboard",
        folder=folder,
        owned=True,
        settings=job["settings"],
        names=Catalog.of(network).names,
        aggregates=Catalog.of(network).aggregates,
        created=job["created"],
    )
    return record, payload_json(build_payload(data, network, results.to_dict()))


def run_job(connection: Connection, network: SupplyNetwork, job: dict[str, Any]) -> tuple:
    """Run one job, reporting progress on ``connection``; the final answer."""
    from chokepoint.simulation.run import simulate

    def progress(done: int, total: int) -> None:
        connection.send(("progress", done, total))

    try:
        scenario = job["scenario"]
        results = simulate(
            scenario, network, progress=progress, chunk_size=max(16, -(-scenario.draws // 8))
        )
        record, payload = keep_run(results, network, job)
    except ChokepointError as exc:
        return "failed", one_line(str(exc))
    except OSError as exc:
        return "failed", f"the run could not be saved in the run store ({exc.strerror or exc})"
    except Exception:
        return "bug", traceback.format_exc()
    return "done", record, payload


def serve_runs(connection: Connection) -> None:
    """A run worker process: load the default network and what a run needs, then run jobs
    until told to stop."""
    from chokepoint.network.container import load_default

    network = load_default()
    import chokepoint.reporting.figures  # noqa: F401  (imported once, before the first run)
    import chokepoint.simulation.run  # noqa: F401

    serve_requests(connection, lambda request: run_job(connection, network, request))
