"""The server against hostile clients: slow or idle connections, too many of them, slow or
unread bodies, foreign Host names and origins, missing tokens, and scenario files made to
hurt (slow, deeply nested, malformed in every way): 4xx with one line, never a 500."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chokepoint.web import create_app
from chokepoint.web.limits import safe_name
from chokepoint.web.server import BackgroundServer, ServerLimits

HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[BackgroundServer]:
    app = create_app(
        store=tmp_path_factory.mktemp("guard-store"),
        hosts=["dash.example"],
        body_idle_timeout=0.5,
        body_timeout=2.0,
    )
    limits = ServerLimits(header_timeout=HEADER_TIMEOUT)
    with BackgroundServer(app, limits=limits) as running:
        yield running


def raw(port: int, data: bytes = b"", wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``data`` on a new connection; what came back until the server closed it (or
    ``wait`` passed), and after how many seconds."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def one_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message


# ------------------------------------------------------------------------ connections


def test_headers_must_arrive_in_time(server):
    partial = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    answer, took = raw(server.port, partial)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive" in answer
    assert HEADER_TIMEOUT * 0.8 < took < HEADER_TIMEOUT + 2
    idle, took = raw(server.port)  # connects and says nothing
    assert idle.startswith(b"HTTP/1.1 408") and took < HEADER_TIMEOUT + 2


def test_a_trickle_of_header_bytes_does_not_reset_the_clock(server):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        for _ in range(20):
            try:
                connection.sendall(b"X")
            except OSError:
                closed = True
                break
            connection.settimeout(0.2)
            try:
                if connection.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
    assert closed and time.monotonic() - started < HEADER_TIMEOUT + 2


def test_keep_alive_requests_still_work(server):
    with httpx.Client(base_url=server.url) as http:
        for _ in range(3):
            assert http.get("/api/health").json()["status"] == "ok"


def test_an_unread_body_is_not_waited_for(server):
    head = (
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
        b"only a little"
    )
    answer, took = raw(server.port, head)
    assert answer.startswith(b"HTTP/1.1 200") and took < 2


def test_slow_and_stalled_bodies_get_408(server):
    head = (
        b"POST /api/scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 5000\r\n\r\n"
    )
    answer, took = raw(server.port, head + b"--x\r\n")
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive in time" in answer
    assert took < 2
    part = b"--x\r\nContent-Disposition: form-data; name=file; filename=a.yaml\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=6) as connection:
        connection.sendall(head + part)
        started, received = time.monotonic(), b""
        connection.settimeout(0.3)
        while time.monotonic() - started < 5 and not received:
            try:
                connection.sendall(b"#")  # a byte every 0.3 s: never idle, never done
                received = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert 1.5 < time.monotonic() - started < 4


def test_connections_are_capped(tmp_path):
    app = create_app(store=tmp_path)
    limits = ServerLimits(max_connections=3, header_timeout=5)
    with BackgroundServer(app, limits=limits) as running:
        held = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(3)]
        try:
            answer, took = raw(running.port, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503") and took < 1
        finally:
            for connection in held:
                connection.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the server notices the closed connections
            answer, _ = raw(running.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", 1)
            if b"503" not in answer[:20]:
                break
        assert httpx.get(f"{running.url}/api/health").status_code == 200


# -------------------------------------------------------------------- host and token


def test_host_names_are_checked(server):
    url = f"{server.url}/api/presets"
    one_error(httpx.get(url, headers={"Host": "evil.example"}), 400, "evil.example", "--allow-host")
    one_error(httpx.get(url, headers={"Host": "evil.example:80"}), 400, "DNS rebinding")
    for host in (f"127.0.0.1:{server.port}", "localhost", "dash.example", "192.0.2.7", "[::1]:1"):
        assert httpx.get(url, headers={"Host": host}).status_code == 200, host


def test_posts_from_other_sites_are_refused(server):
    order = {"preset": "nope"}
    foreign = httpx.post(
        f"{server.url}/api/runs", json=order, headers={"Origin": "http://evil.example"}
    )
    one_error(foreign, 403, "other sites")
    own = httpx.post(f"{server.url}/api/runs", json=order, headers={"Origin": server.url})
    one_error(own, 404, "no preset")


def test_a_token_guards_everything_but_health(tmp_path):
    token = "a-long-enough-token"
    with BackgroundServer(create_app(store=tmp_path, token=token)) as running:
        with httpx.Client(base_url=running.url) as http:
            assert http.get("/api/health").status_code == 200
            one_error(http.get("/api/presets"), 401, "access token")
            one_error(http.get("/", params={"token": "wrong-token"}), 401)
            bearer = {"Authorization": f"Bearer {token}"}
            assert http.get("/api/presets", headers=bearer).status_code == 200
            visit = http.get("/", params={"token": token, "preset": "licences-3m"})
            assert visit.status_code == 303
            assert visit.headers["location"] == "/?preset=licences-3m"
            assert "HttpOnly" in visit.headers["set-cookie"]
            cookie = visit.headers["set-cookie"].split(";")[0]
            assert http.get("/api/presets", headers={"Cookie": cookie}).status_code == 200
            assert http.get("/static/app.js", headers={"Cookie": cookie}).status_code == 200


# ---------------------------------------------------------------- scenario content


def test_a_slow_check_is_stopped_and_the_checker_recovers(server):
    from chokepoint.errors import ScenarioError
    from chokepoint.web.checker import ScenarioChecker

    checker = ScenarioChecker(timeout=0.3)
    try:
        slow = "name: x\nnotes:\n" + "- {a: 1, b: [1, 2, 3]}\n" * 8000
        with pytest.raises(ScenarioError, match=r"took more than 0.3 s"):
            checker.check(slow, "upload:slow.yaml", 100)
        checker.timeout = 30
        good = "name: fine\nevents:\n  - type: export_ban\n    exporter: CHN\n"
        assert checker.check(good, "upload:fine.yaml", 100).name == "fine"
    finally:
        checker.close()


NASTY = {
    "deep.yaml": b"a: " + b"[" * 60000 + b"]" * 60000,
    "laughs.yaml": b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode()
        for i in range(8)
    )
    + b"events: *i\n",
    "nan.yaml": b"name: x\ndraws: .nan\nevents:\n  - type: export_ban\n    exporter: CHN\n",
    "inf.yaml": b"name: x\nevents:\n  - type: outage\n    producer: p\n    factor: .inf\n",
    "float.yaml": b"name: x\nhorizon_days: 1e400\n",
    "tags.yaml": b"name: !!python/object/apply:os.system [echo hi]\n",
    "python.yaml": b"name: !!python/name:os.system\n",
    "keys.yaml": b"? [a, b]\n: 1\nname: x\n",
    "dates.yaml": b"name: x\nstart: 99999-01-01\n",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_files_get_one_line_4xx(server, name):
    response = httpx.post(
        f"{server.url}/api/scenarios", files={"file": (name, NASTY[name])}, timeout=60
    )
    assert 400 <= response.status_code < 500, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    assert f"upload:{name}" in message or "the file" in message, message


def test_an_accepted_upload_runs_even_with_the_largest_seed(server):
    """Seeds past 64 bits are refused at upload (scenario validation); the largest seed
    accepted must then run: no upload is accepted that cannot run."""
    past = b"name: big-seed\nseed: 99999999999999999999999999999\ndraws: 2\n"
    refused = httpx.post(f"{server.url}/api/scenarios", files={"file": ("s.yaml", past)})
    assert refused.status_code == 422, refused.text
    text = b"name: big-seed\nseed: 18446744073709551615\ndraws: 2\n"
    uploaded = httpx.post(f"{server.url}/api/scenarios", files={"file": ("s.yaml", text)})
    assert uploaded.status_code == 201, uploaded.text
    started = httpx.post(f"{server.url}/api/runs", json={"upload": uploaded.json()["token"]})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while (state := httpx.get(f"{server.url}/api/runs/{run_id}").json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state["status"] == "done", state
    listed = httpx.get(f"{server.url}/api/runs").json()["runs"]
    assert next(r for r in listed if r["id"] == run_id)["seed"] == 18446744073709551615


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["CHN", "EU27", "ndfeb_magnet", "2025-01-01", "lognormal", "export_ban"]),
)
KEYS = [
    "name",
    "description",
    "network",
    "start",
    "horizon_days",
    "draws",
    "seed",
    "settings",
    "events",
    "type",
    "exporter",
    "commodity",
    "producer",
    "regions",
    "factor",
    "cut",
    "start",
    "end",
    "validity_days",
    "processing_days",
    "approval_probability",
    "days_of_cover",
    "capacity",
    "dist",
    "median",
    "low",
    "high",
]
EVENT_TYPES = ["export_ban", "export_licensing", "export_quota", "outage", "stockpile"]
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES)},
    optional={key: values for key in KEYS if key not in ("type", "events")},
)
documents = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=10)},
    optional={
        "events": st.lists(events, max_size=3),
        **{k: values for k in ("horizon_days", "draws", "seed", "start", "settings")},
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.one_of(documents, values))
def test_any_content_is_accepted_or_refused_never_a_crash(document):
    """Whatever a file holds, checking it gives a scenario or a one-line error naming the
    upload: never an unexpected exception (which the server would report as a 500)."""
    from chokepoint.web.checker import _answer

    text = yaml.safe_dump(document, allow_unicode=True)
    kind, value = _answer(text, "upload:fuzz.yaml", 200)
    assert kind in ("ok", "invalid"), value
    if kind == "invalid":
        assert "\n" not in value and value.startswith("upload:fuzz.yaml"), value


@given(st.text(max_size=200))
def test_safe_names_cannot_escape(text):
    name = safe_name(text)
    assert name and len(name) <= 61
    assert "/" not in name and "\\" not in name and ".." not in name
    assert not name.startswith((".", "-")) and name.isascii()
    assert all(c.isalnum() or c in "._-" for c in name)


def test_safe_names_examples():
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("..") == "run"
    assert safe_name("my scenario.yaml") == "my-scenario.yaml"
    assert safe_name("CON.yaml") == "_CON.yaml"
    assert safe_name("Ünïcödé") == "Unicode"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux only")
def test_the_checker_memory_limit_holds():
    code = (
        "from chokepoint.web.checker import _limit_memory\n"
        "_limit_memory(64 * 1024**2)\n"
        "try:\n    bytearray(512 * 1024**2)\nexcept MemoryError:\n    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "refused", done.stderr
