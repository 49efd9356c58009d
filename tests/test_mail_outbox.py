"""The outbox: written with its cause, sent after commit, retried, never lost, never doubled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from forum.mail.outbox import Deliverer, claim, enqueue
from forum.mail.transport import FileTransport, SmtpTransport, make_transport
from forum.models import OutboxMessage
from tests.mail import SmtpSink, folder_messages

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


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
