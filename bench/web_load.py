"""Web server under load: runs at once plus slow connections, ``/api/health`` timed.

Run: ``python bench/web_load.py [--runs 20] [--slow 200] [--draws 2] [--workers 2]``. The
server runs in its own process on 127.0.0.1 (a free port, a temporary run store); the load
is the one tests/test_web_load.py applies (tests/webload.py). Prints one JSON object:
``health_max_s``, ``health_p50_s``, ``health_p99_s`` (``/api/health`` on a new connection
every 50 ms, from before the runs start until they are all done), ``health_requests``,
the slow connections opened and closed by the server, ``wall_s``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from webload import ServerProcess, load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--header-timeout", type=float, default=3.0)
    args = parser.parse_args()
    presets = ["licences-3m", "licences-12m"]
    orders = [
        {"preset": presets[i % 2], "draws": args.draws, "seed": i // 2} for i in range(args.runs)
    ]
    with tempfile.TemporaryDirectory() as store:
        app = {"store": store, "workers": args.workers, "max_pending": args.runs}
        limits = {"header_timeout": args.header_timeout, "max_connections": args.slow + 200}
        with ServerProcess(app, limits) as server:
            outcome = load(server.url, server.port, orders, slow=args.slow)
    failed = [r for r in outcome["results"] if r.get("status") != "done"]
    print(json.dumps({**outcome["figures"], "runs_failed": len(failed), **vars(args)}))


if __name__ == "__main__":
    main()
