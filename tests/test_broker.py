"""Tests for the live-update broker: in-memory, shared Redis, and a Redis that dies mid-test."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

import pytest
from redis.asyncio import Redis

from forum.realtime.broker import MemoryBroker, Message, RedisBroker, make_broker

WAIT = 10.0  # upper bound for anything that crosses a network or a restart


def _services_required() -> bool:
    return os.environ.get("FORUM_REQUIRE_SERVICES") == "1"


def _unavailable(reason: str) -> NoReturn:
    # In CI (FORUM_REQUIRE_SERVICES=1) a missing service is a failure, not a silent skip.
    if _services_required():
        pytest.fail(f"FORUM_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(f"SKIPPED, REDIS TESTS NOT RUN: {reason}")


@pytest.fixture
async def redis_url() -> str:
    """URL of the shared test Redis; skips (or fails, if services are required) when down."""
    url = os.environ.get("FORUM_TEST_REDIS", "redis://127.0.0.1:6379/0")
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        _unavailable(f"Redis at {url} is unreachable ({type(exc).__name__}: {exc})")
    finally:
        await client.aclose()
    return url


@dataclass
class Recorder:
    """Collects what a broker delivers, with awaitable conditions for bounded waits."""

    messages: list[Message] = field(default_factory=list)
    resyncs: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, message: Message) -> None:
        self.messages.append(message)
        self.changed.set()

    async def on_resync(self) -> None:
        self.resyncs += 1
        self.changed.set()

    async def wait_for(self, predicate: object, timeout: float = WAIT) -> None:
        assert callable(predicate)
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def _channel() -> str:
    # A private channel per test, so parallel runs and the app never see each other's messages.
    return f"forum:test:{uuid.uuid4().hex}"


# --- in-memory -----------------------------------------------------------------------------


async def test_memory_broker_delivers_in_order_and_resyncs_once() -> None:
    broker = MemoryBroker()
    rec = Recorder()
    await broker.start(rec.on_message, rec.on_resync)
    try:
        assert broker.connected
        assert rec.resyncs == 1
        for seq in range(1, 51):
            await broker.publish({"topic": "thread:42", "seq": seq})
        await rec.wait_for(lambda: len(rec.messages) == 50, timeout=2)
        assert [m["seq"] for m in rec.messages] == list(range(1, 51))
        assert rec.resyncs == 1
    finally:
        await broker.stop()
    assert not broker.connected


async def test_memory_broker_publish_does_not_wait_for_slow_handler() -> None:
    broker = MemoryBroker()
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(message: Message) -> None:
        await release.wait()
        seen.append(message["seq"])

    async def noop() -> None:
        pass

    await broker.start(slow, noop)
    try:
        started = time.monotonic()
        for seq in range(5):
            await broker.publish({"topic": "t", "seq": seq})
        assert time.monotonic() - started < 0.1
        await asyncio.sleep(0.05)
        assert seen == []  # the handler is stuck, yet publishing went through
        release.set()
        async with asyncio.timeout(2):
            while len(seen) < 5:
                await asyncio.sleep(0.01)
        assert seen == [0, 1, 2, 3, 4]
    finally:
        await broker.stop()


async def test_memory_broker_survives_a_failing_handler() -> None:
    broker = MemoryBroker()
    rec = Recorder()

    async def flaky(message: Message) -> None:
        if message["seq"] == 1:
            raise RuntimeError("boom")
        await rec.on_message(message)

    await broker.start(flaky, rec.on_resync)
    try:
        for seq in range(3):
            await broker.publish({"seq": seq})
        await rec.wait_for(lambda: len(rec.messages) == 2, timeout=2)
        assert [m["seq"] for m in rec.messages] == [0, 2]
    finally:
        await broker.stop()


async def test_memory_broker_rejects_non_json_payload() -> None:
    broker = MemoryBroker()
    with pytest.raises(TypeError):
        await broker.publish({"seq": object()})


def test_make_broker_picks_implementation() -> None:
    assert isinstance(make_broker(None), MemoryBroker)
    assert isinstance(make_broker(""), MemoryBroker)
    # Constructing does not connect, but the publisher client still has to be closed.
    broker = make_broker("redis://127.0.0.1:1/0")
    assert isinstance(broker, RedisBroker)
    asyncio.run(broker.stop())


# --- shared Redis --------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_broker_delivers_between_two_processes(redis_url: str) -> None:
    channel = _channel()
    a, b = RedisBroker(redis_url, channel), RedisBroker(redis_url, channel)
    rec_a, rec_b = Recorder(), Recorder()
    await a.start(rec_a.on_message, rec_a.on_resync)
    await b.start(rec_b.on_message, rec_b.on_resync)
    try:
        await rec_a.wait_for(lambda: rec_a.resyncs == 1)
        await rec_b.wait_for(lambda: rec_b.resyncs == 1)
        assert a.connected and b.connected

        for seq in range(1, 21):
            await a.publish({"topic": "thread:42", "seq": seq})
        await b.publish({"topic": "thread:7", "seq": 1, "kind": "post.created"})

        expected = [{"topic": "thread:42", "seq": s} for s in range(1, 21)]
        expected.append({"topic": "thread:7", "seq": 1, "kind": "post.created"})
        for rec in (rec_a, rec_b):
            await rec.wait_for(lambda rec=rec: len(rec.messages) == len(expected))
            assert rec.messages == expected
            assert rec.resyncs == 1
    finally:
        await a.stop()
        await b.stop()
    assert not a.connected and not b.connected


@pytest.mark.redis
async def test_redis_broker_survives_failing_handler(redis_url: str) -> None:
    channel = _channel()
    broker = RedisBroker(redis_url, channel)
    rec = Recorder()

    async def flaky(message: Message) -> None:
        if message["seq"] == 1:
            raise RuntimeError("boom")
        await rec.on_message(message)

    await broker.start(flaky, rec.on_resync)
    try:
        await rec.wait_for(lambda: rec.resyncs == 1)
        for seq in range(3):
            await broker.publish({"seq": seq})
        await rec.wait_for(lambda: len(rec.messages) == 2)
        assert [m["seq"] for m in rec.messages] == [0, 2]
        assert rec.resyncs == 1  # a handler error is not a reconnection
    finally:
        await broker.stop()


@pytest.mark.redis
async def test_redis_broker_ignores_garbage_on_channel(redis_url: str) -> None:
    channel = _channel()
    broker = RedisBroker(redis_url, channel)
    rec = Recorder()
    await broker.start(rec.on_message, rec.on_resync)
    raw = Redis.from_url(redis_url)
    try:
        await rec.wait_for(lambda: rec.resyncs == 1)
        await raw.publish(channel, b"\xff not json")
        await raw.publish(channel, "[1, 2]")
        await broker.publish({"seq": 1})
        await rec.wait_for(lambda: len(rec.messages) == 1)
        assert rec.messages == [{"seq": 1}]
    finally:
        await raw.aclose()
        await broker.stop()


async def test_redis_broker_with_redis_down_neither_raises_nor_leaks() -> None:
    # No server at all: start, publish and stop must all stay quiet (app boot during an outage).
    broker = RedisBroker(f"redis://127.0.0.1:{_free_port()}/0", _channel())
    rec = Recorder()
    await broker.start(rec.on_message, rec.on_resync)
    await broker.publish({"seq": 1})
    await asyncio.sleep(0.3)  # let the reconnect loop fail and back off a few times
    assert not broker.connected
    await broker.stop()
    assert rec.resyncs == 0 and rec.messages == []
    await broker.stop()  # idempotent


# --- a private Redis that we kill ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server subprocess on a fixed port, so it can be killed and restarted."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not come up")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # SIGKILL: no goodbye to clients, like a crash
            self.proc.wait(timeout=WAIT)
            self.proc = None


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("no redis-server binary on PATH for the outage test")
    server = RedisServer(binary, _free_port())
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
async def outage_broker(private_redis: RedisServer) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(private_redis.url, _channel())
    try:
        yield broker
    finally:
        await broker.stop()


@pytest.mark.redis
async def test_redis_broker_reconnects_and_resyncs_after_server_crash(
    private_redis: RedisServer, outage_broker: RedisBroker
) -> None:
    rec = Recorder()
    await outage_broker.start(rec.on_message, rec.on_resync)
    await rec.wait_for(lambda: rec.resyncs == 1)
    await outage_broker.publish({"seq": 1})
    await rec.wait_for(lambda: len(rec.messages) == 1)

    private_redis.kill()
    async with asyncio.timeout(WAIT):
        while outage_broker.connected:
            await asyncio.sleep(0.02)

    # During the outage publishing must neither raise nor hang: the event is safe in the table.
    started = time.monotonic()
    await outage_broker.publish({"seq": 2})
    assert time.monotonic() - started < 3

    private_redis.start()
    await rec.wait_for(lambda: rec.resyncs == 2)
    assert outage_broker.connected

    await outage_broker.publish({"seq": 3})
    await rec.wait_for(lambda: any(m["seq"] == 3 for m in rec.messages))
    # seq 2 was lost with the server; the resync above is what lets the hub refill it.
    assert [m["seq"] for m in rec.messages] == [1, 3]


@pytest.mark.redis
async def test_redis_broker_notices_a_server_that_stops_answering(
    private_redis: RedisServer,
) -> None:
    # SIGSTOP keeps the TCP connection open but silent, like a half-open connection after a
    # network partition: only the broker's own PING deadline can notice it.
    broker = RedisBroker(private_redis.url, _channel(), ping_interval=0.2, dead_after=0.6)
    rec = Recorder()
    await broker.start(rec.on_message, rec.on_resync)
    try:
        await rec.wait_for(lambda: rec.resyncs == 1)
        assert private_redis.proc is not None
        private_redis.proc.send_signal(signal.SIGSTOP)
        try:
            async with asyncio.timeout(WAIT):
                while broker.connected:
                    await asyncio.sleep(0.02)
        finally:
            private_redis.proc.send_signal(signal.SIGCONT)
        await rec.wait_for(lambda: rec.resyncs == 2)
        await broker.publish({"seq": 1})
        await rec.wait_for(lambda: len(rec.messages) == 1)
    finally:
        await broker.stop()
