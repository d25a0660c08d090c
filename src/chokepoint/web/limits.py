"""Guards for the web app: request bodies limited in size and in time, safe file names for
downloads, and JSON without NaN."""

from __future__ import annotations

import asyncio
import json
import math
import re
import unicodedata
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_IDLE_TIMEOUT = 15.0
"""Seconds a request body may go without a byte arriving."""

BODY_TIMEOUT = 60.0
"""Seconds a whole request body may take to arrive."""


class BodyTooLarge(HTTPException):
    """The request body passed the limit while it was being read."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class BodyTooSlow(HTTPException):
    """The request body did not arrive in time."""

    def __init__(self, message: str) -> None:
        super().__init__(408, message)


class BodyGuard:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413, whether the
    size is announced (Content-Length) or only found out while reading, and bodies that
    stall (``idle_timeout``) or take too long in all (``timeout``) with 408."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        message: str = "",
        *,
        idle_timeout: float = BODY_IDLE_TIMEOUT,
        timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.limit = limit
        self.message = message or f"the request is larger than {limit // 1024} KiB"
        self.idle_timeout = idle_timeout
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = dict(scope.get("headers") or []).get(b"content-length", b"")
        if announced.isdigit() and int(announced) > self.limit:
            await refuse(send, 413, self.message)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        complete = False
        started = False

        async def guarded() -> Message:
            nonlocal received, complete
            if complete:  # after the body: disconnect notices, waited for as long as needed
                return await receive()
            remaining = min(self.idle_timeout, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except TimeoutError:
                raise BodyTooSlow(
                    f"the request body did not arrive in time (at most {self.timeout:g} s, "
                    f"and no pause over {self.idle_timeout:g} s)"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.message)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded, watched)
        except (BodyTooLarge, BodyTooSlow) as exc:
            if not started:
                await refuse(send, exc.status_code, str(exc.detail))


async def refuse(send: Send, status: int, message: str, headers: list | None = None) -> None:
    """Send a JSON error response ``{"error": message}`` that closes the connection."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10))}
_RESERVED |= {f"LPT{n}" for n in range(10)}


def safe_name(text: str, fallback: str = "run", limit: int = 60) -> str:
    """A file name made from ``text`` that is safe in a zip entry, a download and on any
    file system: ASCII letters, digits, ``-``, ``_`` and single dots inside; no path
    separator, no leading dot, no ``..``, no reserved device name; ``fallback`` if empty."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text)
    name = re.sub(r"\.{2,}", ".", name)[:limit].strip("-._")
    if not name:
        name = fallback
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


def clean_json(value: Any) -> Any:
    """The same data with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return clean_json(value.item())
    return value
