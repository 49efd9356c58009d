"""The outbox across real processes, on SQLite and PostgreSQL: two deliverers send each message
exactly once; a deliverer or an app process killed mid-send (SIGKILL) loses nothing, and its
claims pass to another after their lease; rows queued while no process runs go out on start."""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from forum.db import tortoise_config
from forum.mail.outbox import enqueue
from forum.models import OutboxMessage
from tests.conftest import free_port, postgres_copy
from tests.mail import SmtpSink
from tests.servers import AppProcess

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outbox_url(request: pytest.FixtureRequest, database_url: str) -> Iterator[str]:
    """A migrated database of this test's own: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        yield database_url
        return
    with postgres_copy(request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.fixture
async def outbox_db(outbox_url: str) -> AsyncIterator[str]:
    """That database, open in this process too."""
    await Tortoise.init(config=tortoise_config(outbox_url))
    try:
        yield outbox_url
    finally:
        await Tortoise.close_connections()


@pytest.fixture
def stalling_sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    server.answer = "stall"
    try:
        yield server
    finally:
        server.stop()


async def queue(count: int, first: int = 0) -> list[str]:
    """`count` messages in one transaction; their Message-IDs."""
    ids = []
    async with in_transaction() as conn:
        for n in range(first, first + count):
            row = await enqueue(
                conn,
                kind="test",
                to=f"member{n}@example.org",
                subject=f"Message {n}",
                text=f"Body {n}.",
                domain="forum.test",
            )
            ids.append(row.headers["Message-ID"])
    return ids


def worker(url: str, smtp: str, lease: float, go: Path | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.mail_worker", url, smtp, str(lease)]
    if go is not None:
        args.append(str(go))
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> int:
    """Wait for a worker to run dry; how many rows it handled."""
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return int(out.strip().rsplit(" ", 1)[1])


def received_once(sink: SmtpSink, expected: list[str]) -> None:
    counts = collections.Counter(str(m["Message-ID"]).strip() for m in sink.messages)
    doubled = {mid: n for mid, n in counts.items() if n > 1}
    assert not doubled, f"sent more than once: {doubled}"
    assert set(counts) == set(expected)


async def test_two_deliverer_processes_send_each_message_exactly_once(
    outbox_db: str, sink: SmtpSink, tmp_path: Path
) -> None:
    expected = await queue(500)
    go = tmp_path / "go"
    first = worker(outbox_db, sink.url, 60, go)
    second = worker(outbox_db, sink.url, 60, go)
    go.touch()  # both start claiming at the same moment
    handled = [finish(first), finish(second)]
    received_once(sink, expected)
    assert len(sink.messages) == 500
    statuses = collections.Counter(await OutboxMessage.all().values_list("status", flat=True))
    assert statuses == {"sent": 500}
    # Both took part (else this would prove nothing about concurrent claims), and no row was
    # claimed twice: every row was sent on its first attempt.
    assert all(n > 0 for n in handled) and sum(handled) == 500, handled
    assert set(await OutboxMessage.all().values_list("attempts", flat=True)) == {1}


async def test_a_deliverer_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    outbox_db: str, sink: SmtpSink, stalling_sink: SmtpSink
) -> None:
    expected = await queue(20)
    lease = 8.0
    # The first deliverer claims a batch of 10 and stalls in DATA with 8 of them (its
    # concurrency); killed then, it never records a result.
    doomed = worker(outbox_db, stalling_sink.url, lease)
    deadline = time.monotonic() + 10
    while stalling_sink.stalled < 8 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert stalling_sink.stalled == 8
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=10)
    claimed = await OutboxMessage.filter(status="sending").values_list("id", flat=True)
    assert len(claimed) == 10
    killed_at = time.monotonic()
    # Another deliverer sends the 10 unclaimed rows at once, and the dead one's claims only
    # after their lease has run out.
    survivor = worker(outbox_db, sink.url, lease)
    assert finish(survivor) == 20
    assert time.monotonic() - killed_at >= lease - 1
    received_once(sink, expected)
    rows = await OutboxMessage.all()
    assert {row.status for row in rows} == {"sent"}
    # The dead process's claims were attempted twice (once by each), the rest once.
    assert {row.id for row in rows if row.attempts == 2} == set(claimed)


async def test_an_app_process_killed_mid_send_and_rows_queued_meanwhile_go_out_on_restart(
    outbox_db: str, sink: SmtpSink, stalling_sink: SmtpSink, tmp_path: Path
) -> None:
    before = await queue(12)
    env = {
        "FORUM_DATABASE_URL": outbox_db,
        "FORUM_EMAIL_URL": stalling_sink.url,
        "FORUM_EMAIL_LEASE_SECONDS": "8",
        "FORUM_SECRET_KEY": "test",
    }
    app = AppProcess(free_port(), env, tmp_path / "app.log")
    app.start()
    try:
        deadline = time.monotonic() + 15
        while stalling_sink.stalled < 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert stalling_sink.stalled == 8, (tmp_path / "app.log").read_text()
    finally:
        app.kill()
    assert await OutboxMessage.filter(status="sending").count() == 12
    during = await queue(5, first=100)  # written while no process runs
    app.env = {**env, "FORUM_EMAIL_URL": sink.url}
    app.start()
    try:
        sink.wait_for(17, timeout=40)
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
    finally:
        app.stop()
    received_once(sink, before + during)
    assert await OutboxMessage.filter(status="sent").count() == 17
