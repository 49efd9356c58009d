"""The outbox: `enqueue` writes a message in the caller's transaction; `Deliverer` sends.

A message exists only if the change that caused it committed, and is sent only after that
commit. Every app process runs one deliverer. It claims due rows in one statement (on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so two processes never claim the same row; SQLite has one
writer at a time, so the same UPDATE is atomic there), marks them `sending` with a lease, sends
them, and records the result. A process killed mid-send leaves rows `sending` whose lease runs
out; another deliverer (or the same process restarted) claims them again. So a message can be
sent twice only when a process dies between the server's acceptance and the row's update (or
the server answers its acceptance too late for our timeout); it then goes out with the same
Message-ID, which mail clients use to show it once.

A deliverer never starts a send that could outlive its lease: each send is bounded by
`send_timeout` (half the lease by default), and rows of a batch still waiting for a free slot
when the lease nears its end are handed back unsent. So a live process never loses its claim
while it talks to the server (clocks of the hosts assumed to agree within seconds).

Temporary failures (no connection, 4xx) are tried again with exponential backoff; a permanent
refusal (5xx), a message that cannot be built, or running out of attempts marks the row
`failed` with the reason. The deliverer's periodic pass also prunes: sent rows after
`sent_retention_days`, failed ones after `failed_retention_days`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from forum.db import sql_for
from forum.mail.transport import PermanentFailure, Transport, make_transport
from forum.models import EmailToken, OutboxMessage
from forum.models.mail import STATUSES
from forum.settings import Settings

log = logging.getLogger("forum.mail")

# First retry after 30 s, doubling to at most 6 hours: 14 attempts span about a day (8, as
# first written, gave up after an hour: a mail relay down over lunch lost every message).
MAX_ATTEMPTS = 14
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


def build_message(row: OutboxMessage, sender: str, sender_name: str = "") -> Message:
    """The MIME message for an outbox row: plain text, with an HTML alternative when given.

    Built with the email package's compat32 classes: the modern `EmailMessage` parses every
    header it is given into objects and costs five times as much to build and flatten, which
    is most of what sending a message costs. Header values are checked here instead: no line
    breaks (a header injection), non-ASCII encoded as RFC 2047 words."""
    parts = [_text_part(row.body_text, "plain")]
    if row.body_html:
        parts.append(_text_part(row.body_html, "html"))
    alternatives = MIMEMultipart("alternative", _subparts=parts) if len(parts) > 1 else None
    message: Message = alternatives or parts[0]
    fixed = {
        "From": formataddr((sender_name, sender), charset="utf-8") if sender_name else sender,
        "To": row.to_address,
        "Subject": row.subject,
        "Date": formatdate(row.created_at.timestamp(), localtime=False, usegmt=True),
    }
    for name, value in [*fixed.items(), *(row.headers or {}).items()]:
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"the {name} header is not one line of text")
        message[name] = value if value.isascii() else Header(value, "utf-8", header_name=name)  # type: ignore[assignment]
    return message


def _text_part(text: str, subtype: str) -> MIMEText:
    # ASCII stays readable 7-bit text; anything else is UTF-8 (base64, which any client reads).
    return MIMEText(text, subtype, "us-ascii" if text.isascii() else "utf-8")


def backoff(attempts: int, first: float = BACKOFF_FIRST) -> float:
    """Seconds to wait after the `attempts`-th failed try, with up to 10% jitter."""
    delay = min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
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


async def _finish(row: OutboxMessage, **changes: Any) -> bool:
    # Only while our claim holds (`attempts` is the claim's fencing token): a row re-claimed by
    # another process after our lease ran out is theirs to finish.
    done = await OutboxMessage.filter(id=row.id, status="sending", attempts=row.attempts).update(
        **changes
    )
    return bool(done)


async def _mark_sent(row: OutboxMessage) -> None:
    # `_finish` for the common case, written out: building the ORM's query for each message
    # cost a fifth of the deliverer's time per message.
    conn = connections.get("default")
    sql = (
        "UPDATE email_outbox SET status = 'sent', sent_at = ?, claimed_until = NULL, "
        "last_error = '' WHERE id = ? AND status = 'sending' AND attempts = ?"
    )
    await conn.execute_query(sql_for(conn, sql), [datetime.now(UTC), row.id, row.attempts])


async def release(row: OutboxMessage) -> None:
    """Hand a claimed row back unsent, as if it had never been claimed."""
    await _finish(row, status="queued", attempts=row.attempts - 1, claimed_until=None)


async def deliver(
    row: OutboxMessage,
    transport: Transport,
    sender: str,
    name: str = "",
    within: float | None = None,
    backoff_first: float = BACKOFF_FIRST,
) -> str:
    """Send one claimed row and record the result: "sent", "retry" or "failed". `within`
    (seconds) bounds the whole talk with the server (a stalled one is a temporary failure)."""
    try:
        message = build_message(row, sender, name)
    except (ValueError, TypeError) as exc:  # e.g. a header with a line break: never sendable
        await _finish(
            row, status="failed", last_error=f"not sendable: {exc}"[:500], claimed_until=None
        )
        log.warning("email %s could not be built: %s", row.id, exc)
        return "failed"
    try:
        async with asyncio.timeout(within):
            await transport.send(message)
    except PermanentFailure as exc:
        await _finish(row, status="failed", last_error=str(exc)[:500], claimed_until=None)
        log.warning("email %s to member %s refused for good: %s", row.id, row.member_id, exc)
        return "failed"
    except Exception as exc:  # TemporaryFailure, a timeout, anything unforeseen: try again
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = f"no answer from the mail server within {within:g} s"
        if row.attempts >= MAX_ATTEMPTS:
            await _finish(
                row,
                status="failed",
                last_error=f"gave up after {row.attempts} attempts: {reason}"[:500],
                claimed_until=None,
            )
            log.warning("email %s: gave up after %d attempts", row.id, row.attempts)
            return "failed"
        await _finish(
            row,
            status="queued",
            last_error=reason[:500],
            claimed_until=None,
            next_attempt_at=datetime.now(UTC)
            + timedelta(seconds=backoff(row.attempts, backoff_first)),
        )
        return "retry"
    await _mark_sent(row)
    return "sent"


async def prune(sent_days: float, failed_days: float) -> int:
    """Delete sent messages older than `sent_days`, failed ones whose last try is older than
    `failed_days`, and emailed links expired `sent_days` ago; the number deleted. (The
    message filters start with the status and next-attempt index; a sent row's last try is
    never later than its sending.)"""
    now = datetime.now(UTC)
    sent_cut = now - timedelta(days=sent_days)
    failed_cut = now - timedelta(days=failed_days)
    sent = await OutboxMessage.filter(
        status="sent", next_attempt_at__lt=sent_cut, sent_at__lt=sent_cut
    ).delete()
    failed = await OutboxMessage.filter(status="failed", next_attempt_at__lt=failed_cut).delete()
    # The links those emails carried: once expired as long as a sent message is kept, a link
    # no longer needs to say "used" or "expired". A reset an admin sent stays: it is the
    # admins' record of who sent it.
    links = await EmailToken.filter(expires_at__lt=sent_cut, sent_by_id=None).delete()
    return sent + failed + links


async def backlog() -> dict[str, int]:
    """How the outbox stands, for metrics: the number of messages in each status, and
    `oldest_queued_seconds`, the age of the oldest message not yet sent (0 when none)."""
    conn = connections.get("default")
    counts = {status: 0 for status in STATUSES}
    rows = await conn.execute_query_dict(
        "SELECT status, COUNT(*) AS n FROM email_outbox GROUP BY status"
    )
    for row in rows:
        counts[str(row["status"])] = int(row["n"])
    _, oldest = await waiting()
    return {**counts, "oldest_queued_seconds": oldest}


async def waiting() -> tuple[int, int]:
    """For metrics: the messages not yet sent (queued or sending) and the age in seconds of
    the oldest of them, in one query that reads only those rows (through the status index),
    however many sent ones are kept."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM email_outbox "
        "WHERE status IN ('queued', 'sending')"
    )
    n = int(rows[0]["n"]) if rows else 0
    oldest = rows[0]["oldest"] if rows else None
    if isinstance(oldest, str):  # SQLite keeps the moment as text
        oldest = datetime.fromisoformat(oldest)
    if not isinstance(oldest, datetime):
        return n, 0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return n, max(int((datetime.now(UTC) - oldest).total_seconds()), 0)


async def counts_since(since: datetime) -> dict[str, int]:
    """The number of messages in each status among those written since `since`."""
    counts = {status: 0 for status in STATUSES}
    for status in STATUSES:
        counts[status] = await OutboxMessage.filter(status=status, created_at__gte=since).count()
    return counts


async def recent(limit: int = 50) -> list[OutboxMessage]:
    """The last messages written to the outbox, newest first (the development page)."""
    return list(await OutboxMessage.all().order_by("-id").limit(limit))


@dataclass
class Deliverer:
    """One per app process: sends what the outbox holds, woken at once by this process's
    writes (`poke`) and looking every `interval` seconds for the rest (other processes' writes,
    retries, leases run out). Claims `batch` rows at a time, leased for `lease` seconds, and
    sends up to `concurrency` at once, each within `send_timeout` (default: half the lease)."""

    transport: Transport
    sender: str
    sender_name: str = ""
    interval: float = 5.0
    concurrency: int = 8
    lease: float = LEASE_SECONDS
    batch: int = BATCH
    send_timeout: float | None = None
    # The wait after a first failed try (doubling after each further one).
    backoff_first: float = BACKOFF_FIRST
    sent_retention_days: float = 30
    failed_retention_days: float = 90
    prune_every: float = 3600.0

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # A send may take at most this long, and never as long as the lease.
        limit = self.lease / 2
        self._send_timeout = min(self.send_timeout or limit, limit)
        # The first prune waits a while: start-up is busy, and short-lived processes (tests,
        # the CLI) should not stop with a delete in flight.
        self._next_prune = time.monotonic() + min(self.prune_every, 60.0)

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
        """Claim and send one batch; the number of rows handled (sent, put off or failed)."""
        claimed_at = time.monotonic()
        rows = await claim(self.batch, self.lease)
        if not rows:
            return 0
        # A send started after this moment could still be running when the lease runs out
        # and another process claims the row: such rows are handed back instead.
        last_start = claimed_at + self.lease - self._send_timeout
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxMessage) -> None:
            try:
                await gate.acquire()
            except asyncio.CancelledError:
                # The process is stopping (a deploy, a restart): a row not yet begun goes back
                # at once, rather than waiting out its lease. One being sent stays claimed: the
                # server may have taken it.
                await asyncio.shield(release(row))
                raise
            try:
                if time.monotonic() > last_start:
                    await release(row)
                    return
                await deliver(
                    row,
                    self.transport,
                    self.sender,
                    self.sender_name,
                    within=self._send_timeout,
                    backoff_first=self.backoff_first,
                )
            finally:
                gate.release()

        results = await asyncio.gather(*(one(row) for row in rows), return_exceptions=True)
        for result in results:
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):  # its row is claimed again after the lease
                log.error("sending an email failed unexpectedly", exc_info=result)
        return len(rows)

    async def drain(self) -> int:
        """Send batches until nothing is due (tests, the CLI), then close idle connections."""
        total = 0
        try:
            while handled := await self.run_once():
                total += handled
        finally:
            await self.transport.close()
        return total

    async def prune(self) -> int:
        return await prune(self.sent_retention_days, self.failed_retention_days)

    async def _run(self) -> None:
        while True:
            # Cleared before looking, so a poke during the pass makes another pass at once.
            self._wake.clear()
            try:
                sent = 0
                while handled := await self.run_once():
                    sent += handled
                if sent:  # dry again: no connection stays open while there is nothing to send
                    await self.transport.close()
                if time.monotonic() >= self._next_prune:
                    self._next_prune = time.monotonic() + self.prune_every
                    if gone := await self.prune():
                        log.info("pruned %d old messages and links from the outbox", gone)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: look again later
                log.exception("the email deliverer failed a pass; it will look again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)


def make_deliverer(settings: Settings, **options: Any) -> Deliverer:
    """The deliverer for these settings (the app's; the CLI's and benchmarks' with `options`)."""
    return Deliverer(
        make_transport(settings.email_url, local_hostname=domain_of(settings.base_url)),
        settings.sender,
        settings.email_from_name,
        lease=settings.email_lease_seconds,
        sent_retention_days=settings.email_sent_retention_days,
        failed_retention_days=settings.email_failed_retention_days,
        **options,
    )
