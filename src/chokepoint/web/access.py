"""Who may talk to the server: a ``Host`` (and ``Origin``) check against the names it serves,
against DNS rebinding and cross-site requests, and an optional access token.

With a token, a request needs ``Authorization: Bearer TOKEN``, or the cookie the server
sets when the dashboard is opened once with ``?token=TOKEN``; ``/api/health`` stays open.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from chokepoint.web.limits import refuse

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
OPEN_PATHS = frozenset({"/api/health"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(value: str) -> str | None:
    """The host name of a ``Host`` header or an origin's authority, lower case and without
    the port (``[::1]:8000`` is ``::1``); None if it is malformed."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/\\@ ?#"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        name, port = value[1:end], value[end + 2 :]
    elif value.count(":") == 1:
        name, port = value.split(":")
    elif ":" in value:
        return None
    else:
        name, port = value, ""
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def is_address(name: str | None) -> bool:
    """Whether a host name is an IP address literal (DNS rebinding needs a name)."""
    try:
        ipaddress.ip_address(name or "")
    except ValueError:
        return False
    return True


def served_names(host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a server bound to ``host`` answers to: loopback names, the bound
    address when it is not a wildcard, and ``extra`` (``*`` accepts any name)."""
    names = set(LOOPBACK_NAMES)
    if host not in WILDCARD_BINDS:
        names.add(host.strip("[]").lower())
    names.update(name.strip().lower().rstrip(".") for name in extra if name.strip())
    return frozenset(names)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


class HostCheck:
    """ASGI middleware: 400 for a ``Host`` name the server does not serve (DNS rebinding
    works through a name the attacker controls, so IP addresses are always accepted) and
    403 for a state-changing request from a page of another origin."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = frozenset(names)
        self.any = "*" in self.names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any:
            await self.app(scope, receive, send)
            return
        host = host_name(_header(scope, b"host") or "")
        if host not in self.names and not is_address(host):
            shown = (_header(scope, b"host") or "")[:80]
            await refuse(
                send,
                400,
                f"this server does not answer to the host name '{shown}' (a guard against DNS "
                "rebinding); start it with --allow-host NAME to accept that name",
            )
            return
        origin = _header(scope, b"origin")
        if origin and scope["method"] in UNSAFE_METHODS:
            if urlsplit(origin).netloc.lower() != (_header(scope, b"host") or "").lower():
                await refuse(send, 403, "requests from pages of other sites are refused")
                return
        await self.app(scope, receive, send)


def cookie_name(scope: Scope) -> str:
    port = (scope.get("server") or ("", 0))[1]
    return f"chokepoint_token_{port}"


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in (_header(scope, b"cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            found[name] = value
    return found


def _same(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


class TokenGate:
    """ASGI middleware: every request but ``/api/health`` needs the token, as a bearer
    header or as the cookie set on a visit with ``?token=``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if len(token) < 8:
            raise ValueError("the access token must have at least 8 characters")
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        bearer = (_header(scope, b"authorization") or "").removeprefix("Bearer ").strip()
        if _same(bearer, self.token) or _same(_cookies(scope).get(cookie_name(scope)), self.token):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = dict(query).get("token")
        if scope["method"] == "GET" and _same(given, self.token):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = quote(scope["path"]) + (f"?{rest}" if rest else "")
            cookie = f"{cookie_name(scope)}={self.token}; Path=/; HttpOnly; SameSite=Lax"
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode()),
                        (b"set-cookie", cookie.encode()),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await refuse(
            send,
            401,
            "this server needs its access token: open the link it printed when it started, "
            "or send the header 'Authorization: Bearer TOKEN'",
            [(b"www-authenticate", b"Bearer")],
        )
