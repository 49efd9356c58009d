"""`forum serve` as a real uvicorn process: client addresses behind a trusted proxy only, and
connections that send their request too slowly are closed, so they cannot crowd others out."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from forum.settings import Settings, SettingsError
from tests.conftest import free_port
from tests.servers import AppProcess

CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')


@contextmanager
def serving(database_url: str, log: Path, **env: str) -> Iterator[AppProcess]:
    app = AppProcess(free_port(), {"FORUM_DATABASE_URL": database_url, **env}, log)
    app.start()
    try:
        yield app
    finally:
        app.stop()


def signup_from(client: httpx.Client, forwarded_for: str) -> int:
    """One sign-up attempt (no invite: refused) said to come from `forwarded_for`; sign-ups
    are throttled per client address (10 an hour), which shows which address counted."""
    token = CSRF_RE.search(client.get("/login").text)
    assert token
    form = {"handle": "newcomer", "password": "x" * 12, "display_name": "", "invite": ""}
    form["email"] = "newcomer@example.org"
    response = client.post(
        "/signup",
        data={**form, "csrf": token.group(1)},
        headers={"x-forwarded-for": forwarded_for},
    )
    return response.status_code


_open: list[socket.socket] = []


@pytest.fixture(autouse=True)
def close_sockets() -> Iterator[None]:
    """Every socket a test opened is closed, even when the test failed half-way."""
    yield
    while _open:
        _open.pop().close()


def half_request(port: int, data: bytes = b"GET / HTTP/1.1\r\nHost: x\r\n") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    _open.append(sock)
    sock.sendall(data)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (reading to EOF), or None if it did not."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_forwarded_for_counts_only_from_a_trusted_proxy(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path / "plain.log") as app, httpx.Client(base_url=app.url) as c:
        # Nothing is trusted by default: every attempt counts against 127.0.0.1.
        assert [signup_from(c, f"203.0.113.{n}") for n in range(10)] == [400] * 10
        assert signup_from(c, "198.51.100.7") == 429
    proxied = serving(database_url, tmp_path / "proxied.log", FORUM_TRUSTED_PROXIES="127.0.0.1")
    with proxied as app, httpx.Client(base_url=app.url) as c:
        assert [signup_from(c, "203.0.113.9") for _ in range(10)] == [400] * 10
        assert signup_from(c, "203.0.113.9") == 429
        # Another client behind the same proxy is not held back by the first one.
        assert signup_from(c, "198.51.100.7") == 400


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    env = {"FORUM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1"}
    assert Settings.from_env(env).trusted_proxies == "10.0.0.0/8,127.0.0.1,::1"
    assert Settings.from_env({}).trusted_proxies == ""
    with pytest.raises(SettingsError, match="FORUM_TRUSTED_PROXIES"):
        Settings.from_env({"FORUM_TRUSTED_PROXIES": "proxy.example.org"})
    with pytest.raises(SettingsError, match="FORUM_HEADER_TIMEOUT"):
        Settings.from_env({"FORUM_HEADER_TIMEOUT": "never"})


def test_requests_sent_too_slowly_are_closed(database_url: str, tmp_path: Path) -> None:
    env = {"FORUM_HEADER_TIMEOUT": "1", "FORUM_BODY_TIMEOUT": "1"}
    with serving(database_url, tmp_path / "app.log", **env) as app:
        silent = half_request(app.port, b"")
        half_headers = half_request(app.port)
        half_body = half_request(
            app.port,
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: 100\r\n\r\nhandle=a",
        )
        for sock in (silent, half_headers, half_body):
            took = closed_within(sock, 6)
            assert took is not None and took < 4
        # After a response, bytes that never make a request (uvicorn's keep-alive timer is
        # reset by any byte) do not hold the connection either.
        trickle = half_request(app.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert trickle.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() - started < 6:
                trickle.sendall(b"\r\n")
                time.sleep(0.2)
        assert time.monotonic() - started < 4
        # Headers without end are refused long before the deadline (httptools has no limit).
        endless = half_request(app.port, b"GET / HTTP/1.1\r\nX: " + b"a" * 100_000)
        assert endless.recv(4096).startswith(b"HTTP/1.1 400")
        # A websocket is not a slow request: it stays open past the deadlines.
        with connect(f"ws://127.0.0.1:{app.port}/ws", origin=app.url) as ws:  # type: ignore[arg-type]
            time.sleep(2.5)
            assert ws.ping().wait(5)
        # A request that arrives in time is answered as before, a large body included.
        assert httpx.get(f"{app.url}/healthz").text == "ok"
        large = httpx.post(f"{app.url}/login", data={"handle": "a" * 200_000})
        # The app itself answers (it refuses the form), not the header limit.
        assert large.headers["content-type"].startswith("text/html")
        assert "headers too large" not in large.text


def test_many_half_open_connections_do_not_stop_a_normal_request(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path / "app.log", FORUM_HEADER_TIMEOUT="2") as app:
        crowd = [half_request(app.port) for _ in range(200)]
        started = time.monotonic()
        assert httpx.get(f"{app.url}/healthz", timeout=5).text == "ok"
        assert time.monotonic() - started < 1
        # ...and the crowd does not stay: each is closed once its headers are late.
        assert all(closed_within(sock, 8) is not None for sock in crowd)


def test_past_the_connection_limit_requests_get_503_until_slow_ones_are_closed(
    database_url: str, tmp_path: Path
) -> None:
    env = {"FORUM_MAX_CONNECTIONS": "20", "FORUM_HEADER_TIMEOUT": "1"}
    with serving(database_url, tmp_path / "app.log", **env) as app:
        crowd = [half_request(app.port) for _ in range(25)]
        time.sleep(0.2)  # let the server accept them all
        assert httpx.get(f"{app.url}/healthz").status_code == 503
        assert all(closed_within(sock, 6) is not None for sock in crowd)
        assert httpx.get(f"{app.url}/healthz").text == "ok"
