"""Serve the app with uvicorn: in the foreground (``chokepoint serve``) or on a background
thread (tests, notebooks) with :class:`BackgroundServer`. No proxy needed: the protocol
limits header time and open connections (:mod:`chokepoint.web.protocol`), the app limits
request bodies (:mod:`chokepoint.web.limits`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from chokepoint.web.access import LOOPBACK_NAMES
from chokepoint.web.protocol import HEADER_TIMEOUT, MAX_CONNECTIONS, guarded_protocol

LOOPBACK = set(LOOPBACK_NAMES)


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits: seconds for the request headers, seconds a keep-alive connection
    may idle, open connections at most, and the listen backlog."""

    header_timeout: float = HEADER_TIMEOUT
    keep_alive: float = 5.0
    max_connections: int = MAX_CONNECTIONS
    backlog: int = 1024


def uvicorn_config(
    app: Any,
    host: str,
    port: int,
    log_level: str = "info",
    limits: ServerLimits | None = None,
):
    """A uvicorn configuration with the guarded h11 protocol and without websockets."""
    import uvicorn

    limits = limits or ServerLimits()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws="none",
        lifespan="on",
        http=guarded_protocol(limits.header_timeout, limits.max_connections),
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
        backlog=limits.backlog,
        server_header=False,
    )


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    limits: ServerLimits | None = None,
) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, host, port, log_level, limits)).run()


class BackgroundServer:
    """``with BackgroundServer(app) as server:`` serves on ``server.url`` (a free port on
    127.0.0.1 unless told otherwise) until the block ends."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerLimits | None = None,
    ) -> None:
        import uvicorn

        config = uvicorn_config(app, host, port, log_level="warning", limits=limits)
        self.server = uvicorn.Server(config)
        self.host = host
        self.port = port
        self.thread = threading.Thread(target=self.server.run, name="chokepoint-server")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 60
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
        self.thread.join(timeout=30)
