"""Email as a surface of the privacy matrix: an inbox is outside the forum, so no email about a
caucus or a report carries the caucus's name, slug, thread title, post text, the handles of its
members, or an id or URL that leads to them: not in the subject, any header (Message-ID,
References, Reply-To, List-Unsubscribe), the plain text or the HTML. Checked for every caucus and
report notification kind, mailed at once (alone and batched with an open notice) and in the
daily and weekly digests, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import (
    Caucus,
    MailSettings,
    Member,
    Notification,
    OutboxMessage,
    Post,
    Thread,
)
from forum.services import mail_notices, mail_prefs
from forum.settings import Settings
from tests.conftest import post_form, signed_in
from tests.mail import folder_messages, text_of
from tests.test_caucuses import found
from tests.test_threads import make_channel, reply

NAME = "Zircon Tenants Circle"
TITLE = "Quillwort eviction plan"
TEXT = "Vermilion ledger of the rent strike"
HANDLES = ("zelda", "quincy", "yusuf", "wren")
# Every notification kind that can concern a caucus or a report.
PRIVATE_KINDS = (
    "mention",
    "reply",
    "caucus",
    "moderation",
    "warning",
    "flag_outcome",
    "report",
    "decision",
    "following",
)


async def _address(handle: str, n: int) -> None:
    # Addresses that do not spell the handle, so finding a handle means the mail named it.
    await Member.filter(handle_key=handle).update(
        email=f"person{n}@example.org", email_confirmed_at=datetime.now(UTC)
    )


async def _seed(app: Starlette) -> tuple[dict[str, httpx.AsyncClient], str, Thread, Post]:
    await make_channel()
    people = {h: await signed_in(app, h) for h in HANDLES}
    for n, handle in enumerate(HANDLES):
        await _address(handle, n)
    zelda, quincy, yusuf, _wren = (people[h] for h in HANDLES)
    slug = await found(zelda, NAME, listed=True)
    # An invitation (quincy), a request to join (yusuf asks; zelda, the convener, is told).
    assert (await post_form(zelda, f"/caucuses/{slug}/invite", {"handle": "quincy"})).is_redirect
    assert (await post_form(quincy, f"/caucuses/{slug}/accept", {})).is_redirect
    assert (await post_form(yusuf, f"/caucuses/{slug}/join", {"note": TEXT})).is_redirect
    assert (await post_form(zelda, f"/caucuses/{slug}/invite", {"handle": "wren"})).is_redirect
    made = await post_form(
        quincy,
        f"/c/{slug}-talk/threads",
        {"title": TITLE, "body": f"{TEXT}, @zelda."},
        page=f"/c/{slug}-talk/new",
    )
    assert made.status_code == 303, made.text
    thread = await Thread.get(id=int(made.headers["location"].rsplit("/", 1)[1]))
    post = await Post.filter(thread_id=thread.id).order_by("created_at").first()
    assert post is not None
    answered = await reply(zelda, thread.id, f"{TEXT} again.", parent=post.id)
    assert answered.status_code == 303
    # Zelda follows the thread by replying: a reply to the thread tells her as its follower.
    answered = await reply(quincy, thread.id, f"{TEXT} thirdly.")
    assert answered.status_code == 303
    # Kinds no HTTP flow here makes about a caucus (or not yet: reports, decisions), written as
    # their services would: with the caucus named in the text and URL, and the caucus id set.
    caucus = await Caucus.get(slug=slug)
    zelda_id = (await Member.get(handle_key="zelda")).id
    for kind in ("moderation", "warning", "flag_outcome", "decision"):
        await Notification.create(
            member_id=zelda_id,
            kind=kind,
            text=f"@quincy in {NAME}: {TITLE} — {TEXT}",
            url=f"/caucuses/{slug}/t/{thread.id}",
            actor_id=(await Member.get(handle_key="quincy")).id,
            thread_id=thread.id,
            post_id=post.id,
            caucus_id=caucus.id,
        )
    # A caucus thread's notice without the caucus id (the thread alone must be enough).
    await Notification.create(
        member_id=zelda_id,
        kind="mention",
        text=f"@quincy mentioned you in “{TITLE}”",
        url=f"/t/{thread.id}#p{post.id}",
        thread_id=thread.id,
        post_id=post.id,
    )
    # A report's update, whose text names everything it must not.
    await Notification.create(
        member_id=zelda_id,
        kind="report",
        text=f"Your report about @quincy in {NAME} ({TITLE}) was upheld: {TEXT}",
        url=f"/reports/{slug}",
        thread_id=None,
    )
    return people, slug, thread, post


def _everything(message: EmailMessage) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in message.items())
    return headers + "\n" + text_of(message)


def _assert_private(messages: list[EmailMessage], slug: str, thread: Thread, post: Post) -> None:
    assert messages
    for message in messages:
        seen = _everything(message).lower()
        for secret in (NAME, slug, TITLE, TEXT, *HANDLES, f"/t/{thread.id}", f"p{post.id}"):
            assert secret.lower() not in seen, (secret, message["Subject"])
        for header in ("Message-ID", "References", "In-Reply-To", "Reply-To"):
            assert str(thread.id) not in (message[header] or ""), header
        assert message["Reply-To"] is None  # caucus emails carry nothing to answer


async def test_no_caucus_or_report_email_says_anything_private(
    app: Starlette, settings: Settings, tmp_path: Path
) -> None:
    _people, slug, thread, post = await _seed(app)
    kinds = set(await Notification.filter().values_list("kind", flat=True))
    assert kinds >= set(PRIVATE_KINDS), kinds
    folder = tmp_path / "mail"
    # At once: every topic immediately (the defaults save decisions, which go daily).
    await MailSettings.filter().delete()
    for member in await Member.all():
        await MailSettings.create(
            member_id=member.id, decision="immediately", following="immediately"
        )
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await mail_notices.mail_batches(settings, later) >= 3
    await app.state.deliverer.drain()
    immediate = folder_messages(folder)
    _assert_private(immediate, slug, thread, post)
    texts = "\n".join(_everything(m) for m in immediate)
    assert "New activity in one of your caucuses" in texts
    assert "There is news in one of your caucuses" in texts
    assert "Your report has an update" in texts
    assert "http://testserver/notifications" in texts
    # The digests: the same notices again (made unmailed), every topic in a digest.
    for cadence in ("daily", "weekly"):
        await Notification.filter().update(mail_state="new", read=False)
        changes = dict.fromkeys(mail_prefs.TOPICS, cadence)
        await MailSettings.filter().update(**changes, daily_digest_at=None, weekly_digest_at=None)
        before = len(folder_messages(folder))
        slot = mail_notices.digest_slot(settings, cadence, later + mail_notices.PERIOD[cadence])
        assert await mail_notices.mail_digests(settings, slot) >= 3
        await app.state.deliverer.drain()
        digests = folder_messages(folder)[before:]
        assert all(cadence in m["Subject"] for m in digests)
        _assert_private(digests, slug, thread, post)


async def test_a_batch_mixing_open_and_caucus_notices_shows_only_the_open_one(
    app: Starlette, settings: Settings, tmp_path: Path
) -> None:
    people, slug, thread, post = await _seed(app)
    # An open thread mentioning zelda, beside her caucus notices.
    made = await post_form(
        people["wren"],
        "/c/general/threads",
        {"title": "Open picnic", "body": "Bring bread, @zelda."},
        page="/c/general/new",
    )
    assert made.status_code == 303
    await mail_notices.mail_batches(settings, datetime.now(UTC) + timedelta(minutes=5))
    await app.state.deliverer.drain()
    [mail] = [m for m in folder_messages(tmp_path / "mail") if m["To"] == "person0@example.org"]
    body = text_of(mail)
    assert "Open picnic" in body and "Bring bread" in body
    assert body.count("New activity in one of your caucuses") == 2  # once per part
    assert "Your report has an update" in body
    # The open notice's author may be named; the caucus's members and words may not.
    for secret in (NAME, slug, TITLE, TEXT, "quincy", "yusuf"):
        assert secret.lower() not in _everything(mail).lower(), secret
    assert mail["Reply-To"] is None and mail["References"] is None
    del post, thread


@pytest.mark.parametrize("kind", PRIVATE_KINDS)
def test_the_policy_keeps_every_private_kind_neutral(kind: str) -> None:
    from forum.policy.notifications import email_may_show, email_view

    assert not email_may_show(kind, caucus_id=7)
    assert not email_may_show(kind, caucus_id=None, thread_caucus_id=7)
    if kind in ("report", "caucus"):
        assert not email_may_show(kind, caucus_id=None)
    assert email_view("report", None) == "report"


async def test_an_invitation_email_carries_nothing_of_the_inviters_caucus(
    app: Starlette, tmp_path: Path
) -> None:
    """The admin who invites convenes a caucus with a thread, requests and notifications: the
    invitations they send (to outsiders) name the forum, the inviter and the link, nothing
    else; not even the admins' note about whom the invite is for."""
    people, slug, thread, post = await _seed(app)
    await Member.filter(handle_key="zelda").update(role="admin")
    note = "Ochre note about the rent strike"
    sent = await post_form(
        people["zelda"],
        "/admin/invites/email",
        {"emails": "newcomer@example.net\nfriend@example.net", "note": note},
        page="/admin/invites",
    )
    assert sent.status_code == 303, sent.text
    # The app's own deliverer may hold the rows mid-send: wait until both are written.
    for _ in range(200):
        await app.state.deliverer.drain()
        if await OutboxMessage.filter(kind="invite", status="sent").count() == 2:
            break
        await asyncio.sleep(0.05)
    mails = [m for m in folder_messages(tmp_path / "mail") if "invited" in m["Subject"]]
    assert {m["To"] for m in mails} == {"newcomer@example.net", "friend@example.net"}
    for message in mails:
        seen = _everything(message).lower()
        assert "signup?invite=" in seen and "@zelda" in seen
        others = [h for h in HANDLES if h != "zelda"]
        for secret in (NAME, slug, TITLE, TEXT, note, *others, f"/t/{thread.id}", f"p{post.id}"):
            assert secret.lower() not in seen, (secret, message["Subject"])
        assert str(thread.id) not in (message["Message-ID"] or "")
