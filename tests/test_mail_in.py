"""Replies by email: a real listener (in the app process, on a free port) and a real SMTP client.
A reply is posted as its member with only the new text; every refusal answers with a bounce to
the member's confirmed address, or in the protocol; nothing escapes the handler."""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.mail.reply_tokens import reply_address
from forum.models import Member, OutboxMessage, Post, Thread
from forum.services import accounts, caucuses, channels, posting
from forum.services.context import Ctx
from forum.services.mail_in import CAUCUS_REFUSAL
from forum.settings import Settings
from tests.conftest import make_member
from tests.mail import folder_messages, text_of

QUOTED_GMAIL = """\
I agree with the budget, and I can help on Saturday.

On Wed, Dec 2, 2026 at 8:15 PM forum <forum@forum.test> wrote:

> @amara started “Rent strike budget”:
> We should spend less on printing and more on the legal fund.
>
"""
SIGNATURE = "\n-- \nBo Bell\nTenants' union, Block C\n"


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return settings.with_(mail_in="127.0.0.1:0")


@pytest.fixture
async def app(mail_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(mail_settings)
    async with application.router.lifespan_context(application):
        yield application


class World:
    def __init__(self, app: Starlette, mailbox: Path) -> None:
        self.app = app
        self.mailbox = mailbox
        self.settings: Settings = app.state.services.settings

    @property
    def port(self) -> int:
        return int(self.app.state.mail_listener.port)

    async def ctx(self, member: Member) -> Ctx:
        return Ctx(
            services=self.app.state.services,
            actor=await accounts.load_actor(member),
            member=member,
        )

    async def setup(self) -> None:
        now = datetime.now(UTC)
        self.amara = await make_member("amara")
        self.bo = await make_member("bo")
        for member in (self.amara, self.bo):
            member.email = f"{member.handle}@example.org"
            member.email_confirmed_at = now
            await member.save()
        await channels.create_channel(None, "General", "general")
        self.thread = await posting.start_thread(
            await self.ctx(self.amara), "general", "Rent strike budget", "Spend less on printing."
        )
        self.post = await Post.get(thread_id=self.thread.id)

    def address(self, post: Post | None = None, member: Member | None = None) -> str:
        return reply_address(self.settings, (post or self.post).id, (member or self.bo).id)

    def message(
        self,
        body: str = QUOTED_GMAIL + SIGNATURE,
        *,
        sender: str = "Bo Bell <BO@Example.org>",
        to: str | None = None,
        message_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to or self.address()
        message["Subject"] = "Re: Rent strike budget"
        message["Message-ID"] = message_id or make_msgid(domain="example.org")
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        return message

    async def send(self, message: EmailMessage, recipients: list[str] | None = None) -> Any:
        return await aiosmtplib.send(
            message,
            hostname="127.0.0.1",
            port=self.port,
            recipients=recipients,
            sender="bo@example.org",
            start_tls=False,
        )

    async def send_raw(self, data: bytes, to: str | None = None) -> tuple[int, bytes]:
        """Send bytes as they are (for malformed mail), without SIZE: the DATA answer."""

        def talk() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
                client.ehlo()
                client.mail("bo@example.org")
                code, _ = client.rcpt(to or self.address())
                assert code == 250
                return client.data(data)

        return await asyncio.to_thread(talk)

    async def bounces(self) -> list[EmailMessage]:
        """Bounces sent so far (waiting for the deliverer, which may be sending them now)."""
        for _ in range(200):
            await self.app.state.deliverer.drain()
            if not await OutboxMessage.filter(status__in=("queued", "sending")).exists():
                break
            await asyncio.sleep(0.02)
        return [m for m in folder_messages(self.mailbox) if "not posted" in str(m["Subject"])]

    async def replies(self) -> list[Post]:
        return list(
            await Post.filter(thread_id=self.thread.id, parent_id=self.post.id).order_by("seq")
        )


@pytest.fixture
async def world(app: Starlette, tmp_path: Path) -> World:
    w = World(app, tmp_path / "mail")
    await w.setup()
    return w


async def test_a_reply_is_posted_with_only_the_new_text(world: World) -> None:
    await world.send(world.message())
    [reply] = await world.replies()
    assert reply.author_id == world.bo.id
    assert reply.body == "I agree with the budget, and I can help on Saturday."
    assert "legal fund" not in reply.html and "Block C" not in reply.html
    assert await world.bounces() == []


async def test_an_html_only_reply_from_gmail_is_posted_as_text(world: World) -> None:
    message = world.message()
    message.set_content(
        '<div dir="ltr">Count me <b>in</b>.</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Wed, Dec 2, 2026, forum wrote:</div>'
        "<blockquote>We should spend less on printing.</blockquote></div>",
        subtype="html",
    )
    await world.send(message)
    [reply] = await world.replies()
    assert reply.body == "Count me **in**."


async def test_the_same_message_delivered_twice_posts_once(world: World) -> None:
    message = world.message(message_id="<same-1@example.org>")
    await world.send(message)
    await world.send(message)
    assert len(await world.replies()) == 1
    assert await world.bounces() == []


async def test_a_locked_thread_bounces_with_the_text(world: World) -> None:
    await Thread.filter(id=world.thread.id).update(locked=True)
    await world.send(world.message())
    assert await world.replies() == []
    [bounce] = await world.bounces()
    assert bounce["To"] == "bo@example.org"
    assert bounce["Auto-Submitted"] == "auto-replied"
    body = text_of(bounce)
    assert "locked" in body
    assert "I can help on Saturday" in body  # nothing lost
    assert "Rent strike budget" in body  # an open thread the member reads is named
    await Thread.filter(id=world.thread.id).update(locked=False)
    await world.send(world.message())  # the listener keeps working
    assert len(await world.replies()) == 1


async def test_a_suspended_member_is_refused(world: World) -> None:
    await Member.filter(id=world.bo.id).update(status="suspended")
    await world.send(world.message())
    assert await world.replies() == []
    [bounce] = await world.bounces()
    assert "suspended" in text_of(bounce)
    assert bounce["To"] == "bo@example.org"


async def test_a_caucus_thread_is_never_answered_by_email(world: World) -> None:
    caucus = await caucuses.found(await world.ctx(world.bo), "Secret Renters Caucus")
    thread = await posting.start_thread(
        await world.ctx(world.bo), f"{caucus.slug}-talk", "Hidden plan title", "Hidden plan text"
    )
    post = await Post.get(thread_id=thread.id)
    await world.send(world.message("My own words.\n", to=world.address(post)))
    assert await Post.filter(thread_id=thread.id).count() == 1
    [bounce] = await world.bounces()
    whole = bounce.as_string()
    assert CAUCUS_REFUSAL in text_of(bounce)
    for secret in ("Secret Renters", caucus.slug, "Hidden plan", str(thread.id)):
        assert secret not in whole
    assert "My own words." in text_of(bounce)  # their own text comes back


async def test_a_reply_from_another_address_is_refused_and_the_member_told(world: World) -> None:
    await world.send(world.message("I am not Bo.\n", sender="stranger@evil.example"))
    assert await world.replies() == []
    [bounce] = await world.bounces()
    assert bounce["To"] == "bo@example.org"  # never the stranger
    body = text_of(bounce)
    assert "not the one your account uses" in body
    assert "I am not Bo." not in body  # a stranger's text is not relayed to the member
    unsent = await OutboxMessage.filter(to_address="stranger@evil.example").count()
    assert unsent == 0


async def test_unknown_and_forged_tokens_are_refused_at_rcpt_and_never_answered(
    world: World,
) -> None:
    good = world.address()
    token = good.split("+", 1)[1].split("@", 1)[0]
    # A letter inside the signature (the last one carries padding bits as well).
    forged = good.replace(token, token[:-5] + ("a" if token[-5] != "a" else "b") + token[-4:])
    for to in (forged, "reply+notatoken@forum.test", "someone@forum.test"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await world.send(world.message(to=to))
        assert refused.value.recipients[0].code == 550
    assert await world.replies() == []
    assert await world.bounces() == []
    assert await OutboxMessage.all().count() == 0  # nothing sent to anyone
    await world.send(world.message())
    assert len(await world.replies()) == 1


async def test_malformed_mime_bounces_and_the_listener_goes_on(world: World) -> None:
    raw = (
        f"From: bo@example.org\r\nTo: {world.address()}\r\nSubject: Re: x\r\n"
        "Message-ID: <broken-1@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="nowhere"\r\n\r\n'
        "no parts at all, and \xff\xfe bytes\r\n"
    ).encode("latin-1")
    code, _ = await world.send_raw(raw)
    assert code == 250
    assert await world.replies() == []
    [bounce] = await world.bounces()
    assert "could not read your email" in text_of(bounce)
    await world.send(world.message())
    assert len(await world.replies()) == 1


async def test_an_empty_reply_bounces(world: World) -> None:
    only_quote = "On Wed, Dec 2, 2026 at 8:15 PM forum <forum@forum.test> wrote:\n> Earlier text\n"
    await world.send(world.message(only_quote + SIGNATURE))
    assert await world.replies() == []
    [bounce] = await world.bounces()
    assert "no text of your own" in text_of(bounce)


async def test_posting_limits_apply_and_bounce_with_the_text(world: World) -> None:
    # A member in their first days posts at most 4 times a minute, by email as on the site.
    for n in range(6):
        await world.send(world.message(f"Point number {n} of my long answer.\n"))
    assert len(await world.replies()) == 4
    bounces = await world.bounces()
    assert len(bounces) == 2
    for bounce, n in zip(bounces, (4, 5), strict=True):
        assert "posting very fast" in text_of(bounce)
        assert f"Point number {n} of my long answer." in text_of(bounce)


async def test_slow_mode_and_the_same_text_twice_bounce(world: World) -> None:
    await world.send(world.message("Once is enough.\n"))
    await world.send(world.message("Once is enough.\n"))  # a new Message-ID, the same text
    [same] = await world.bounces()
    assert "You just posted this same text here." in text_of(same)
    await Thread.filter(id=world.thread.id).update(slow_mode_seconds=600)
    await world.send(world.message("Something new.\n"))
    assert len(await world.replies()) == 1
    slow = (await world.bounces())[-1]
    assert "Slow mode is on" in text_of(slow) and "Something new." in text_of(slow)


async def test_automatic_answers_are_neither_posted_nor_answered(world: World) -> None:
    away = world.message("I am away until Monday.\n", headers={"Auto-Submitted": "auto-replied"})
    await world.send(away)
    assert await world.replies() == []
    assert await world.bounces() == []


async def test_a_deleted_post_bounces(world: World) -> None:
    await posting.reply(await world.ctx(world.amara), world.thread.id, "A second post")
    other = await Post.filter(thread_id=world.thread.id).order_by("-seq").first()
    assert other is not None
    await posting.delete(await world.ctx(world.amara), other.id)
    await world.send(world.message("Answer to a gone post.\n", to=world.address(other)))
    [bounce] = await world.bounces()
    assert "no longer there" in text_of(bounce)
    assert "Answer to a gone post." in text_of(bounce)


@pytest.fixture
def small_settings(settings: Settings) -> Settings:
    return settings.with_(mail_in="127.0.0.1:0", mail_in_max_bytes=4096)


async def test_an_oversized_message_is_refused_with_552(
    small_settings: Settings, tmp_path: Path
) -> None:
    application = create_app(small_settings)
    async with application.router.lifespan_context(application):
        world = World(application, tmp_path / "mail")
        await world.setup()
        ehlo = await asyncio.to_thread(_ehlo, world.port)
        assert "SIZE 4096" in ehlo
        big = world.message("A long reply, line after line.\n" * 300)
        code, answer = await world.send_raw(big.as_bytes(policy=email.policy.SMTP))
        assert code == 552, answer
        assert b"larger than the 4 KB" in answer
        assert await world.replies() == []
        await world.send(world.message("Short.\n"))  # the next one is fine
        assert len(await world.replies()) == 1


def _ehlo(port: int) -> str:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        _, answer = client.ehlo()
        return answer.decode()


async def test_lmtp_answers_each_recipient(settings: Settings, tmp_path: Path) -> None:
    application = create_app(settings.with_(mail_in="127.0.0.1:0", mail_in_lmtp=True))
    async with application.router.lifespan_context(application):
        world = World(application, tmp_path / "mail")
        await world.setup()
        other = await posting.start_thread(
            await world.ctx(world.amara), "general", "Another thread", "Another"
        )
        second = await Post.get(thread_id=other.id)
        message = world.message("Yes to both.\n")
        to = [world.address(), world.address(second)]

        # Python's smtplib.LMTP reads one answer to DATA; LMTP gives one per recipient.
        reader, writer = await asyncio.open_connection("127.0.0.1", world.port)

        async def say(line: bytes) -> bytes:
            writer.write(line + b"\r\n")
            return await reader.readline()

        assert (await reader.readline()).startswith(b"220")
        writer.write(b"LHLO client.test\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        assert (await say(b"MAIL FROM:<bo@example.org>")).startswith(b"250")
        for address in to:
            assert (await say(f"RCPT TO:<{address}>".encode())).startswith(b"250")
        assert (await say(b"DATA")).startswith(b"354")
        writer.write(message.as_bytes(policy=email.policy.SMTP) + b".\r\n")
        answers = [await reader.readline() for _ in to]
        assert all(a.startswith(b"250 ") for a in answers), answers
        assert (await say(b"QUIT")).startswith(b"221")
        writer.close()
        await writer.wait_closed()
        posts = await Post.filter(author_id=world.bo.id)
        assert sorted(p.parent_id for p in posts) == sorted([world.post.id, second.id])


# ---- end to end: the reply on the page and live on a socket -----------------------------------


def test_an_emailed_reply_appears_on_the_page_and_live(
    settings: Settings, database_url: str
) -> None:
    """The listener inside the app process (FORUM_MAIL_IN): a member's reply from a mail client,
    quote and signature included, reaches a socket subscribed to the thread at once."""
    from starlette.testclient import TestClient

    from tests.test_ws import ORIGIN, login, receive_until, seed, start_thread

    async def members() -> dict[str, int]:
        now = datetime.now(UTC)
        ids = {}
        for handle in ("amara", "bo"):
            member = await make_member(handle)
            member.email, member.email_confirmed_at = f"{handle}@example.org", now
            await member.save()
            ids[handle] = member.id
        await channels.create_channel(None, "General", "general")
        return ids

    ids = seed(database_url, members)
    live = settings.with_(mail_in="127.0.0.1:0")
    with TestClient(create_app(live), base_url="http://testserver") as tc:
        csrf = login(tc, "amara")
        tid = start_thread(tc, csrf)
        first = seed(database_url, lambda: Post.get(thread_id=tid))
        port = tc.app.state.mail_listener.port  # type: ignore[attr-defined]
        with tc.websocket_connect("/ws", headers=ORIGIN) as ws:
            ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
            assert ws.receive_json()["op"] == "subscribed"
            message = EmailMessage()
            message["From"] = "Bo <bo@example.org>"
            message["To"] = reply_address(live, first.id, ids["bo"])
            message["Subject"] = "Re: Live"
            message["Message-ID"] = make_msgid(domain="example.org")
            message.set_content(QUOTED_GMAIL + SIGNATURE)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.send_message(message)
            frame = receive_until(ws, lambda f: f.get("kind") == "post.created")
            assert "I can help on Saturday" in frame["html"]
            assert "legal fund" not in frame["html"] and "Block C" not in frame["html"]
        page = tc.get(f"/t/{tid}")
        assert "I agree with the budget, and I can help on Saturday." in page.text
        assert "Block C" not in page.text


@pytest.mark.postgres
async def test_reply_by_email_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    from forum.db import apply_migrations
    from tests.conftest import BASE

    await apply_migrations(postgres_url)
    settings = Settings(
        database_url=postgres_url,
        base_url=BASE,
        secret_key="test",
        email_url=f"file://{tmp_path / 'mail'}",
        mail_in="127.0.0.1:0",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        world = World(application, tmp_path / "mail")
        await world.setup()
        message = world.message(message_id="<pg-1@example.org>")
        await world.send(message)
        await world.send(message)  # redelivered: still one post
        [reply] = await world.replies()
        assert reply.body == "I agree with the budget, and I can help on Saturday."
        await Thread.filter(id=world.thread.id).update(locked=True)
        await world.send(world.message("Too late.\n"))
        [bounce] = await world.bounces()
        assert "locked" in text_of(bounce) and "Too late." in text_of(bounce)


async def test_a_failure_of_ours_asks_the_sender_to_retry(settings: Settings) -> None:
    """With no database to reach, the listener answers 451 (the sending server keeps the message
    and tries again) and goes on answering."""
    from forum.mail.listener import MailListener
    from forum.security import Hasher, Throttle
    from forum.services.context import Services

    services = Services(settings=settings, hasher=Hasher(1), throttle=Throttle(None))
    listener = MailListener(services, "127.0.0.1", 0)
    await listener.start()
    try:
        message = EmailMessage()
        message["From"] = "bo@example.org"
        message["To"] = reply_address(settings, 12345, 678)
        message["Message-ID"] = make_msgid(domain="example.org")
        message.set_content("Words.")
        for _ in range(2):
            with pytest.raises(aiosmtplib.SMTPDataError) as later:
                await aiosmtplib.send(
                    message, hostname="127.0.0.1", port=listener.port, start_tls=False
                )
            assert later.value.code == 451
    finally:
        await listener.stop()


async def test_an_unconfirmed_address_gets_no_post_and_no_mail(world: World) -> None:
    await Member.filter(id=world.bo.id).update(email_confirmed_at=None)
    await world.send(world.message())
    assert await world.replies() == []
    assert await world.bounces() == []
    assert await OutboxMessage.all().count() == 0


async def test_a_member_gets_at_most_twenty_bounces_an_hour(world: World) -> None:
    await Thread.filter(id=world.thread.id).update(locked=True)
    for n in range(22):
        await world.send(world.message(f"Attempt {n}.\n"))
    assert len(await world.bounces()) == 20


async def test_a_redelivery_after_the_thread_was_locked_is_quiet(world: World) -> None:
    message = world.message(message_id="<before-lock@example.org>")
    await world.send(message)
    await Thread.filter(id=world.thread.id).update(locked=True)
    await world.send(message)
    assert len(await world.replies()) == 1
    assert await world.bounces() == []
