"""The outbox: `enqueue` writes a message in the caller's transaction; `Deliverer` sends.

A message exists only if the change that caused it committed, and is sent only after that
commit. Every app process runs one deliverer. It claims due rows in one statement (on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so two processes never claim the same row; SQLite has one
writer at a time, so the same UPDATE is atomic there), marks them `sending` with a lease, sends
them, and records the result. A process killed mid-send leaves rows `sending` whose lease runs
out; another deliverer (or the same process restarted) claims them again. So a message can be
sent twice only when a process dies between the server's acceptance and the row's update; it
then goes out with the same Message-ID, which mail clients use to show it once.

Temporary failures (no connection, 4xx) are tried again with exponential backoff; a permanent
refusal (5xx) or running out of attempts marks the row `failed` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from forum.db import sql_for
from forum.mail.transport import PermanentFailure, Transport
from forum.models import OutboxMessage

log = logging.getLogger("forum.mail")

MAX_ATTEMPTS = 8
# First retry after 30 s, doubling to at most 6 hours: 8 attempts span about a day.
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 6 * 3600.0
# A claimed message must be sent (or its failure written) within this long, or it is claimed
# again by whichever deliverer looks next.
LEASE_SECONDS = 120
BATCH = 50


def message_id(domain: str) -> str:
    """A new Message-ID in the forum's domain."""
    return make_msgid(idstring=secrets.token_hex(8), domain=domain)


def domain_of(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


async def enqueue(
    conn: BaseDBAsyncClient | None,
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    member_id: int | None = None,
    domain: str = "localhost",
) -> OutboxMessage:
    """Write one message to the outbox, in the caller's transaction (`conn`). It is sent after
    that transaction commits, by whichever process's deliverer claims it first."""
    now = datetime.now(UTC)
    fixed = dict(headers or {})
    fixed.setdefault("Message-ID", message_id(domain))
    return await OutboxMessage.create(
        kind=kind,
        to_address=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        headers=fixed,
        member_id=member_id,
        status="queued",
        next_attempt_at=now,
        created_at=now,
        using_db=conn,
    )


def build_message(row: OutboxMessage, sender: str, sender_name: str = "") -> EmailMessage:
    """The MIME message for an outbox row: plain text, with an HTML alternative when given."""
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender)) if sender_name else sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = formatdate(row.created_at.timestamp(), localtime=False, usegmt=True)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try, with up to 10% jitter."""
    delay = min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    return delay * (1 + random.random() / 10)


async def claim(limit: int = BATCH, lease: float = LEASE_SECONDS) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this process: `sending`, leased for `lease`
    seconds. Rows are locked with SKIP LOCKED on PostgreSQL, so concurrent deliverers claim
    disjoint sets."""
    conn = connections.get("default")
    now = datetime.now(UTC)
    postgres = conn.capabilities.dialect == "postgres"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    sql = (
        "UPDATE email_outbox SET status = 'sending', attempts = attempts + 1, "
        "claimed_until = ? "
        "WHERE id IN (SELECT id FROM email_outbox "
        "WHERE (status = 'queued' AND next_attempt_at <= ?) "
        "OR (status = 'sending' AND claimed_until < ?) "
        f"ORDER BY next_attempt_at LIMIT ?{lock}) "
        "RETURNING id"
    )
    rows = await conn.execute_query_dict(
        sql_for(conn, sql), [now + timedelta(seconds=lease), now, now, limit]
    )
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    return list(await OutboxMessage.filter(id__in=ids).order_by("next_attempt_at", "id"))


async def _finish(row: OutboxMessage, **changes: Any) -> None:
    # Only while our claim holds: a row re-claimed by another process after our lease ran out
    # is theirs to finish.
    await OutboxMessage.filter(id=row.id, status="sending", attempts=row.attempts).update(**changes)


async def deliver(row: OutboxMessage, transport: Transport, sender: str, name: str = "") -> str:
    """Send one claimed row and record the result: "sent", "retry" or "failed"."""
    try:
        await transport.send(build_message(row, sender, name))
    except PermanentFailure as exc:
        await _finish(row, status="failed", last_error=str(exc)[:500], claimed_until=None)
        log.warning("email %s to member %s refused for good: %s", row.id, row.member_id, exc)
        return "failed"
    except Exception as exc:  # TemporaryFailure, and anything unforeseen, is tried again
        if row.attempts >= MAX_ATTEMPTS:
            await _finish(
                row,
                status="failed",
                last_error=f"gave up after {row.attempts} attempts: {exc}"[:500],
                claimed_until=None,
            )
            log.warning("email %s: gave up after %d attempts", row.id, row.attempts)
            return "failed"
        await _finish(
            row,
            status="queued",
            last_error=str(exc)[:500],
            claimed_until=None,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=backoff(row.attempts)),
        )
        return "retry"
    await _finish(row, status="sent", sent_at=datetime.now(UTC), claimed_until=None, last_error="")
    return "sent"


@dataclass
class Deliverer:
    """One per app process: sends what the outbox holds, woken at once by this process's
    writes (`poke`) and looking every `interval` seconds for the rest (other processes' writes,
    retries, leases run out)."""

    transport: Transport
    sender: str
    sender_name: str = ""
    interval: float = 5.0
    concurrency: int = 8

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="forum-mail-deliverer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.transport.close()

    async def run_once(self) -> int:
        """Claim and send one batch; the number of rows handled."""
        rows = await claim()
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxMessage) -> None:
            async with gate:
                await deliver(row, self.transport, self.sender, self.sender_name)

        await asyncio.gather(*(one(row) for row in rows))
        return len(rows)

    async def drain(self) -> int:
        """Send batches until nothing is due (tests, the CLI)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: look again later
                log.exception("the email deliverer failed a pass; it will look again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
