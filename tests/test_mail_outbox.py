"""The outbox: written with its cause, sent after commit, retried, never lost, never doubled."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from forum.app import create_app
from forum.mail.outbox import MAX_ATTEMPTS, Deliverer, backlog, claim, enqueue, waiting
from forum.mail.transport import FileTransport, SmtpTransport, make_transport
from forum.models import EmailToken, OutboxMessage, Thread
from forum.services import channels, posting
from forum.settings import Settings
from tests.conftest import free_port, make_member, signed_in
from tests.mail import SilentServer, SmtpSink, folder_messages

pytestmark = pytest.mark.usefixtures("app")


async def _queue(subject: str = "Hello", to: str = "amara@example.org") -> OutboxMessage:
    async with in_transaction() as conn:
        return await enqueue(
            conn,
            kind="test",
            to=to,
            subject=subject,
            text="Plain words.",
            html="<p>Plain words.</p>",
            headers={"In-Reply-To": "<thread-1@forum.test>"},
            domain="forum.test",
        )


async def test_a_message_goes_out_over_smtp_with_both_parts(sink: SmtpSink) -> None:
    row = await _queue()
    deliverer = Deliverer(SmtpTransport(sink.url), "forum@forum.test", "The forum")
    assert await deliverer.drain() == 1
    [message] = sink.messages
    assert message["Subject"] == "Hello"
    assert message["To"] == "amara@example.org"
    assert message["From"] == "The forum <forum@forum.test>"
    assert message["In-Reply-To"] == "<thread-1@forum.test>"
    assert message["Message-ID"].endswith("@forum.test>")
    assert message.get_body(("plain",)).get_content().strip() == "Plain words."
    assert "<p>Plain words.</p>" in message.get_body(("html",)).get_content()
    row = await OutboxMessage.get(id=row.id)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    assert await deliverer.drain() == 0  # nothing sent twice


async def test_a_rolled_back_change_sends_nothing(sink: SmtpSink) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await enqueue(conn, kind="test", to="a@example.org", subject="x", text="x")
            raise RuntimeError("the change failed")
    assert await OutboxMessage.all().count() == 0
    assert await Deliverer(SmtpTransport(sink.url), "f@forum.test").drain() == 0
    assert sink.messages == []


async def test_a_refused_connection_is_tried_again_later_and_then_sent() -> None:
    server = SmtpSink()  # its port is chosen, but nothing listens there yet
    row = await _queue()
    deliverer = Deliverer(SmtpTransport(server.url), "forum@forum.test")
    assert await deliverer.drain() == 1
    row = await OutboxMessage.get(id=row.id)
    assert row.status == "queued" and row.attempts == 1
    assert "Connect" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=25)
    assert await deliverer.drain() == 0  # not due yet
    server.start()
    try:
        await OutboxMessage.filter(id=row.id).update(next_attempt_at=datetime.now(UTC))
        assert await deliverer.drain() == 1
        assert [m["Subject"] for m in server.messages] == ["Hello"]
    finally:
        server.stop()
    row = await OutboxMessage.get(id=row.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


async def test_a_permanent_refusal_is_recorded_and_not_tried_again(sink: SmtpSink) -> None:
    sink.answer = "550 5.1.1 mailbox unavailable"
    row = await _queue()
    deliverer = Deliverer(SmtpTransport(sink.url), "forum@forum.test")
    await deliverer.drain()
    row = await OutboxMessage.get(id=row.id)
    assert row.status == "failed"
    assert "550" in row.last_error
    sink.answer = "250 OK"
    await OutboxMessage.filter(id=row.id).update(next_attempt_at=datetime.now(UTC))
    assert await deliverer.drain() == 0
    assert sink.messages == []


async def test_a_temporary_refusal_is_tried_again(sink: SmtpSink) -> None:
    sink.answer = "451 4.3.0 try again later"
    row = await _queue()
    deliverer = Deliverer(SmtpTransport(sink.url), "forum@forum.test")
    await deliverer.drain()
    assert (await OutboxMessage.get(id=row.id)).status == "queued"


async def test_a_claim_left_by_a_dead_process_is_taken_again_after_its_lease(
    sink: SmtpSink,
) -> None:
    row = await _queue()
    # A deliverer claims the row and dies before sending (nothing records the result).
    [claimed] = await claim(lease=60)
    assert claimed.id == row.id and claimed.status == "sending"
    deliverer = Deliverer(SmtpTransport(sink.url), "forum@forum.test")
    assert await deliverer.drain() == 0  # the lease still holds: nobody else sends it
    await OutboxMessage.filter(id=row.id).update(
        claimed_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await deliverer.drain() == 1
    assert len(sink.messages) == 1
    assert (await OutboxMessage.get(id=row.id)).attempts == 2


async def test_the_file_transport_writes_whole_eml_files(tmp_path: Path) -> None:
    await _queue(subject="One")
    await _queue(subject="Two")
    folder = tmp_path / "mail"
    await Deliverer(FileTransport(folder), "forum@forum.test").drain()
    assert sorted(m["Subject"] for m in folder_messages(folder)) == ["One", "Two"]
    assert not list(folder.glob(".sending-*"))


def test_transport_urls() -> None:
    assert make_transport("smtps://u:p%40ss@mail.example.org").description == (
        "smtps://mail.example.org:465"
    )
    assert make_transport("smtp://mail.example.org:587").description.endswith(":587")
    assert make_transport("console").description == "console"
    with pytest.raises(ValueError):
        make_transport("http://example.org")


# ---- faults, bounds and housekeeping -----------------------------------------------------------


async def _wait(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_running_deliverer_backs_off_from_a_refused_connection_then_sends() -> None:
    server = SmtpSink()  # its port is chosen, but nothing listens there yet
    deliverer = Deliverer(
        SmtpTransport(server.url), "forum@forum.test", interval=0.05, backoff_first=0.3
    )
    row = await _queue()
    started = asyncio.get_running_loop().time()
    deliverer.start()
    try:

        async def tried_thrice() -> bool:
            return (await OutboxMessage.get(id=row.id)).attempts >= 3

        await _wait(tried_thrice)
        # Waits of 0.3 s then 0.6 s (doubling), not a retry on every 0.05 s look.
        assert asyncio.get_running_loop().time() - started >= 0.85
        failed = await OutboxMessage.get(id=row.id)
        assert failed.status in ("queued", "sending") and failed.sent_at is None
        assert "refused" in failed.last_error.lower() or "connect" in failed.last_error.lower()
        server.start()
        await asyncio.to_thread(server.wait_for, 1)
    finally:
        await deliverer.stop()
        server.stop()
    row = await OutboxMessage.get(id=row.id)
    assert (row.status, row.last_error) == ("sent", "")
    assert row.attempts >= 3  # (the third try may be the one that found the server up)


async def test_a_server_that_stalls_is_given_up_on_within_the_lease(sink: SmtpSink) -> None:
    sink.answer = "stall"
    rows = [await _queue(subject=f"S{n}") for n in range(3)]
    # One send at a time, each allowed half the 2 s lease: the first stalls for 1 s, and by then
    # the other two could no longer finish inside the lease, so they are handed back unsent.
    deliverer = Deliverer(SmtpTransport(sink.url), "f@forum.test", concurrency=1, lease=2)
    assert await deliverer.run_once() == 3
    await deliverer.transport.close()
    after = {row.id: row for row in await OutboxMessage.all()}
    first = after[rows[0].id]
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.last_error == "no answer from the mail server within 1 s"
    for row in rows[1:]:
        assert (after[row.id].status, after[row.id].attempts) == ("queued", 0)
        assert after[row.id].claimed_until is None
    assert sink.messages == []


async def test_a_message_that_cannot_be_built_fails_at_once(sink: SmtpSink) -> None:
    async with in_transaction() as conn:
        row = await enqueue(
            conn, kind="test", to="a@example.org", subject="x", text="x", headers={"X-A": "a\nb"}
        )
    await Deliverer(SmtpTransport(sink.url), "f@forum.test").drain()
    row = await OutboxMessage.get(id=row.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("not sendable:")
    assert sink.messages == []


async def test_one_connection_carries_many_messages_and_a_stale_one_is_replaced() -> None:
    first = SmtpSink().start()
    port = first.controller.port
    transport = SmtpTransport(first.url)
    try:
        for n in range(10):
            await _queue(subject=f"M{n}")
        assert await Deliverer(transport, "f@forum.test", concurrency=1).run_once() == 10
        assert (len(first.messages), first.sessions) == (10, 1)
    finally:
        first.stop()  # the connection kept open for the next message dies with the server
    second = SmtpSink(port=port).start()
    try:
        await _queue(subject="After a restart")
        assert await Deliverer(transport, "f@forum.test").drain() == 1
        assert [m["Subject"] for m in second.messages] == ["After a restart"]
    finally:
        second.stop()
    assert (await OutboxMessage.filter(status="sent").count()) == 11


async def test_old_rows_are_pruned_by_the_deliverers_periodic_pass() -> None:
    now = datetime.now(UTC)
    ages = {"sent 31 days": ("sent", 31), "sent 29 days": ("sent", 29)}
    ages |= {"failed 91 days": ("failed", 91), "failed 60 days": ("failed", 60)}
    ages |= {"queued 40 days": ("queued", 40)}  # never pruned: it is still to be sent
    for subject, (status, days) in ages.items():
        row = await _queue(subject=subject)
        then = now - timedelta(days=days)
        await OutboxMessage.filter(id=row.id).update(
            status=status,
            created_at=then,
            next_attempt_at=then,
            sent_at=then if status == "sent" else None,
        )
    # Emailed links: one expired 31 days ago goes, one expired 29 days ago and an admin's
    # reset (the admins' record of who sent it) stay.
    member = await make_member("linked")
    admin = await make_member("admin", role="admin")
    for n, (days, by) in enumerate(((31, None), (29, None), (400, admin.id))):
        await EmailToken.create(
            token_hash=f"{n}" * 64,
            member_id=member.id,
            purpose="reset",
            address="linked@forum.test",
            created_at=now - timedelta(days=days + 1),
            expires_at=now - timedelta(days=days),
            sent_by_id=by,
        )
    deliverer = Deliverer(FileTransport(Path("/nonexistent")), "f@forum.test", prune_every=0.05)
    deliverer.start()
    try:

        async def pruned() -> bool:
            return await OutboxMessage.all().count() == 3 and await EmailToken.all().count() == 2

        await _wait(pruned)
    finally:
        await deliverer.stop()
    left = await OutboxMessage.all().values_list("subject", flat=True)
    assert sorted(left) == ["failed 60 days", "queued 40 days", "sent 29 days"]
    kept = await EmailToken.all().order_by("expires_at").values_list("sent_by_id", flat=True)
    assert kept == [admin.id, None]


async def test_the_backlog_counts_each_status_and_the_oldest_waiting_message() -> None:
    assert await backlog() == {
        "queued": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "oldest_queued_seconds": 0,
    }
    rows = [await _queue(subject=f"B{n}") for n in range(4)]
    await OutboxMessage.filter(id=rows[0].id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    await OutboxMessage.filter(id=rows[1].id).update(status="sent")
    await OutboxMessage.filter(id=rows[2].id).update(status="failed")
    counts = await backlog()
    assert {k: v for k, v in counts.items() if k != "oldest_queued_seconds"} == {
        "queued": 2,
        "sending": 0,
        "sent": 1,
        "failed": 1,
    }
    assert 600 <= counts["oldest_queued_seconds"] < 660


async def test_the_metrics_reading_counts_only_messages_still_to_send() -> None:
    assert await waiting() == (0, 0)
    rows = [await _queue(subject=f"W{n}") for n in range(4)]
    await OutboxMessage.filter(id=rows[0].id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=10), status="sending"
    )
    await OutboxMessage.filter(id=rows[1].id).update(
        status="sent", created_at=datetime.now(UTC) - timedelta(days=2)
    )
    await OutboxMessage.filter(id=rows[2].id).update(status="failed")
    n, oldest = await waiting()
    assert n == 2 and 600 <= oldest < 660


async def test_posting_never_waits_for_a_mail_server_that_hangs(settings: Settings) -> None:
    """A request that writes a post and a message answers at once and its post is committed,
    while the deliverer sits waiting on a server that accepted TCP and never spoke."""
    silent = SilentServer()
    app = create_app(settings.with_(email_url=silent.url))

    async def post_and_mail(request: Request) -> Response:
        ctx = request.state.ctx
        thread = await posting.start_thread(ctx, "general", "Hello", "A post that sends mail.")
        async with in_transaction() as conn:
            await enqueue(
                conn, kind="test", to="a@example.org", subject="New thread", text="See it."
            )
        ctx.services.wake_mail()
        return PlainTextResponse(str(thread.id))

    app.router.routes.insert(0, Route("/test/post-and-mail", post_and_mail, methods=["POST"]))
    try:
        async with app.router.lifespan_context(app):
            await channels.create_channel(None, "General", "general")
            client = await signed_in(app, "amara")
            for _ in range(2):
                started = time.monotonic()
                response = await client.post("/test/post-and-mail")
                assert response.status_code == 200, response.text
                # The mail server would keep it 30 s: this is not waiting for it.
                assert time.monotonic() - started < 5
                assert await Thread.exists(id=int(response.text))

            async def talking() -> bool:  # the deliverer did try: it holds a claim
                return await OutboxMessage.filter(status="sending").exists()

            await _wait(talking)
            assert len(silent.accepted) >= 1
            await client.aclose()
    finally:
        silent.stop()


def test_mail_test_sends_through_the_configured_transport_and_says_so(tmp_path: Path) -> None:
    env = {"FORUM_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}

    def forum(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "forum", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert forum("migrate").returncode == 0
    sink = SmtpSink().start()
    try:
        env["FORUM_EMAIL_URL"] = sink.url
        done = forum("mail-test", "ops@example.org")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"sent to ops@example.org through {sink.url}"
        [message] = sink.messages
        assert message["To"] == "ops@example.org"
        assert "forum mail-test" in message.get_content()
        bad = forum("mail-test", "not an address")
        assert bad.returncode == 1
        assert "'not an address' is not an email address" in bad.stderr
    finally:
        sink.stop()
    # Nothing listens there now: a clear failure, and the test message is not tried again.
    refused = forum("mail-test", "ops@example.org")
    assert refused.returncode == 1
    assert f"not sent through {sink.url}:" in refused.stderr
    assert "Traceback" not in refused.stderr + bad.stderr


async def test_non_ascii_subjects_names_and_texts_arrive_intact(sink: SmtpSink) -> None:
    async with in_transaction() as conn:
        await enqueue(
            conn,
            kind="test",
            to="zoe@example.org",
            subject="Réponse à « Ça va ? » — 続き",
            text="Grüße, Zoë.\nSecond line ✓",
            html="<p>Grüße, Zoë.</p>",
            headers={"X-Thread-Title": "Ünïcode"},
            domain="forum.test",
        )
    await Deliverer(SmtpTransport(sink.url), "forum@forum.test", "Forum Ünion").drain()
    [message] = sink.messages
    assert message["Subject"] == "Réponse à « Ça va ? » — 続き"
    assert message["From"] == "Forum Ünion <forum@forum.test>"
    assert message["X-Thread-Title"] == "Ünïcode"
    assert message.get_body(("plain",)).get_content() == "Grüße, Zoë.\nSecond line ✓"
    assert "<p>Grüße, Zoë.</p>" in message.get_body(("html",)).get_content()


async def test_a_message_is_given_up_after_its_last_attempt() -> None:
    nowhere = f"smtp://127.0.0.1:{free_port()}"  # nothing listens
    row = await _queue()
    await OutboxMessage.filter(id=row.id).update(attempts=MAX_ATTEMPTS - 1)
    assert await Deliverer(SmtpTransport(nowhere), "f@forum.test").drain() == 1
    row = await OutboxMessage.get(id=row.id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts: ")


async def test_a_stopping_deliverer_hands_back_what_it_had_not_begun(sink: SmtpSink) -> None:
    sink.answer = "stall"
    rows = [await _queue(subject=f"R{n}") for n in range(3)]
    deliverer = Deliverer(SmtpTransport(sink.url), "f@forum.test", concurrency=1)
    deliverer.start()

    async def stalled() -> bool:
        return sink.stalled == 1

    await _wait(stalled)
    await deliverer.stop()  # as at a deploy: the process stops cleanly
    after = {row.subject: row for row in await OutboxMessage.all()}
    # The one in the server's hands stays claimed (the server may have it); the other two
    # are free for any process at once, as if never claimed.
    in_flight = [row for row in after.values() if row.status == "sending"]
    assert len(in_flight) == 1 and in_flight[0].attempts == 1
    back = [row for row in after.values() if row.status == "queued"]
    assert len(back) == 2 and all(r.attempts == 0 and r.claimed_until is None for r in back)
    assert len(rows) == 3
