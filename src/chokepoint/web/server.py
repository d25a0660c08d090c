"""Serve the app with uvicorn: in the foreground (``chokepoint serve``) or on a background
thread (tests, notebooks) with :class:`BackgroundServer`."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "info"):
    """A uvicorn configuration without websockets (the app has none)."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, ws="none", lifespan="on", http="h11"
    )


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()


class BackgroundServer:
    """``with BackgroundServer(app) as server:`` serves on ``server.url`` (a free port on
    127.0.0.1 unless told otherwise) until the block ends."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn_config(app, host, port, log_level="warning"))
        self.host = host
        self.port = port
        self.thread = threading.Thread(target=self.server.run, name="chokepoint-server")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        sockets = [s for server in self.server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
