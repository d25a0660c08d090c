"""The HTTP protocol the server speaks: uvicorn's h11 protocol with a time limit on request
headers and a cap on open connections, so that slow or idle clients cannot hold it.

uvicorn itself closes idle keep-alive connections but gives a client all the time it wants
to send its request headers (a "slowloris" holds connections so), and accepts connections
without limit. :func:`guarded_protocol` makes a protocol class that closes a connection
whose headers are not complete within ``header_timeout`` (408), refuses connections past
``max_connections`` (503), and does not wait for a request body the app did not read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
"""Seconds a client has, from connecting or from the first byte of a request, to send the
request line and all its headers."""

MAX_CONNECTIONS = 512
"""Open connections at most; more are answered 503 and closed at once."""


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header time limit and a connection cap."""

    header_timeout: float = HEADER_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # answer, stop writing, and close a moment later: closing at once with the
            # request unread would reset the connection before the client reads the 503
            self._refused = True
            transport.write(
                _raw_response(503, "Service Unavailable", "too many connections; try again")
            )
            if transport.can_write_eof():
                transport.write_eof()
            self.loop.call_later(1.0, transport.close)
            return
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused connection's request is read and dropped
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_header_timer()  # part of a request line or headers: the clock runs
        else:
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self.transport.close()  # the app answered without the body: do not wait for it

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        message = f"the request headers did not arrive within {self.header_timeout:g} s"
        self.transport.write(_raw_response(408, "Request Timeout", message))
        self.transport.close()


def guarded_protocol(
    header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS
) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with these limits (uvicorn takes a class)."""
    if header_timeout <= 0 or max_connections < 1:
        raise ValueError("header_timeout must be positive and max_connections at least 1")
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": float(header_timeout), "max_connections": int(max_connections)},
    )
