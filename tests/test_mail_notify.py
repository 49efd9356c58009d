"""Notification email as members meet it: batched after a short window, digests, preferences,
one-click unsubscribe; the mail is read back from the file transport's folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import MailSettings, Member, Notification
from forum.services import mail_notices, mail_prefs
from forum.settings import Settings
from tests.conftest import make_client, post_form, signed_in
from tests.mail import folder_messages, text_of
from tests.test_threads import import_iso, make_channel, reply

LATER = timedelta(minutes=3)

SETTINGS_FORM = "/account/email-settings"


async def confirm(handle: str, address: str | None = None) -> Member:
    member = await Member.get(handle_key=handle)
    member.email = address or f"{handle}@example.org"
    member.email_confirmed_at = datetime.now(UTC)
    await member.save()
    return member


async def start_thread(client: httpx.AsyncClient, title: str, body: str) -> int:
    made = await post_form(
        client, "/c/general/threads", {"title": title, "body": body}, page="/c/general/new"
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


async def run_batches(app: Starlette, settings: Settings, after: timedelta = LATER) -> int:
    written = await mail_notices.mail_batches(settings, datetime.now(UTC) + after)
    await app.state.deliverer.drain()
    return written


def inbox(tmp_path: Path, to: str) -> list[EmailMessage]:
    return [m for m in folder_messages(tmp_path / "mail") if m["To"] == to]


@pytest.fixture
async def pair(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    await confirm("bob")
    return alice, bob


async def test_a_mention_is_mailed_once_after_the_window_with_its_text(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, _bob = pair
    tid = await start_thread(alice, "Minutes", "Could @bob take the minutes? *Thanks*")
    # Within the window nothing goes out: more may arrive, or bob may read it on the site.
    assert await run_batches(app, settings, after=timedelta(seconds=10)) == 0
    assert inbox(tmp_path, "bob@example.org") == []
    assert await run_batches(app, settings) == 1
    [mail] = inbox(tmp_path, "bob@example.org")
    assert mail["Subject"] == "@alice mentioned you in “Minutes”"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Could @bob take the minutes? *Thanks*" in plain  # the markdown source
    assert "<em>Thanks</em>" in html  # the sanitised HTML
    assert 'href="http://testserver/m/bob"' in html  # the site's links made absolute
    assert f"http://testserver/t/{tid}#p" in plain
    # Threading per forum thread, a reply address for this one post, one-click unsubscribe.
    assert mail["References"] == f"<thread-{tid}@testserver>" == mail["In-Reply-To"]
    assert mail["Reply-To"].startswith("reply+")
    assert mail["List-Unsubscribe"].strip().startswith("<http://testserver/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Never twice.
    assert await run_batches(app, settings) == 0
    assert len(inbox(tmp_path, "bob@example.org")) == 1
    assert await Notification.filter(mail_state="mailed").count() == 1


async def test_what_was_read_on_the_site_first_is_not_mailed(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, bob = pair
    tid = await start_thread(alice, "Minutes", "Over to you, @bob.")
    assert (await bob.get(f"/t/{tid}")).status_code == 200  # reading the thread settles it
    assert await run_batches(app, settings) == 0
    assert inbox(tmp_path, "bob@example.org") == []
    assert await Notification.filter(mail_state="skipped").count() == 1


async def test_what_arrives_together_goes_in_one_email(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, _bob = pair
    first = await start_thread(alice, "Minutes", "Over to you, @bob.")
    second = await start_thread(alice, "Budget", "And this one, @bob?")
    await reply(alice, first, "Also @bob: the agenda.")
    assert await run_batches(app, settings) == 1
    [mail] = inbox(tmp_path, "bob@example.org")
    assert mail["Subject"] == "3 new notifications from forum"
    plain = text_of(mail)
    assert "“Minutes”" in plain and "“Budget”" in plain and "the agenda" in plain
    # Several posts: which one a reply would answer is a guess, so no reply address; several
    # threads, so no thread reference either.
    assert mail["Reply-To"] is None and mail["References"] is None
    assert f"/t/{second}#p" in plain


async def test_an_unconfirmed_address_or_a_suspended_member_gets_nothing(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, _bob = pair
    await signed_in(app, "cleo")
    await Member.filter(handle_key="cleo").update(email="cleo@example.org")  # not confirmed
    await signed_in(app, "dan")
    await confirm("dan")
    await Member.filter(handle_key="dan").update(status="suspended")
    await start_thread(alice, "Minutes", "Hello @cleo and @dan.")
    assert await run_batches(app, settings) == 0
    assert folder_messages(tmp_path / "mail") == []


async def test_mail_off_or_in_a_digest_is_not_mailed_at_once(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, bob = pair
    response = await post_form(bob, SETTINGS_FORM, {"mention": "never", "reply": "daily"})
    assert response.status_code == 303
    tid = await start_thread(alice, "Minutes", "Hello @bob.")
    bob_post = (await reply(bob, tid, "Hi.")).headers["location"].rsplit("/", 1)[1]
    await reply(alice, tid, "Welcome back.", parent=int(bob_post))
    assert await run_batches(app, settings) == 0
    states = sorted(await Notification.filter().values_list("kind", "mail_state"))
    # Alice started the thread, so Bob's reply told her as its follower; she read it on the
    # thread's page before replying, so it is not mailed.
    assert states == [("following", "skipped"), ("mention", "skipped"), ("reply", "held")]


async def test_daily_and_weekly_digests_list_their_topics_once(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, bob = pair
    await post_form(bob, SETTINGS_FORM, {"mention": "daily", "statement": "weekly"})
    await start_thread(alice, "Minutes", "Hello @bob.")
    statement = await import_iso()
    assert await run_batches(app, settings) == 0  # the mention waits for the digest
    now = datetime.now(UTC)
    tomorrow = mail_notices.digest_slot(settings, "daily", now + timedelta(days=1))
    next_week = mail_notices.digest_slot(settings, "weekly", now + timedelta(days=7))
    # The daily digest: the mention, not the statement (bob wants those weekly).
    assert await mail_notices.mail_digests(settings, tomorrow) >= 1
    await app.state.deliverer.drain()
    daily = [m for m in inbox(tmp_path, "bob@example.org") if "daily" in m["Subject"]]
    assert len(daily) == 1
    assert "@alice mentioned you in “Minutes”" in text_of(daily[0])
    assert "On the dissolution" not in text_of(daily[0])
    assert daily[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Once only, however often the pass runs.
    await mail_notices.mail_digests(settings, tomorrow + timedelta(hours=1))
    await app.state.deliverer.drain()
    assert len([m for m in inbox(tmp_path, "bob@example.org") if "daily" in m["Subject"]]) == 1
    # The weekly digest: the statement, linked to its thread.
    await mail_notices.mail_digests(settings, next_week)
    await app.state.deliverer.drain()
    weekly = [m for m in inbox(tmp_path, "bob@example.org") if "weekly" in m["Subject"]]
    assert len(weekly) == 1
    assert "New statement: On the dissolution of the ISO" in text_of(weekly[0])
    assert f"/t/{statement.thread.id}" in text_of(weekly[0])
    assert "mentioned you" not in text_of(weekly[0])
    await mail_notices.mail_digests(settings, next_week + timedelta(minutes=5))
    await app.state.deliverer.drain()
    assert len([m for m in inbox(tmp_path, "bob@example.org") if "weekly" in m["Subject"]]) == 1


async def test_one_click_unsubscribe_works_without_a_session_and_get_changes_nothing(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, _bob = pair
    await start_thread(alice, "Minutes", "Hello @bob.")
    await run_batches(app, settings)
    [mail] = inbox(tmp_path, "bob@example.org")
    url = mail["List-Unsubscribe"].strip().strip("<>")
    async with make_client(app) as provider:
        # A link scanner's GET: a page with a button, nothing changed.
        page = await provider.get(url)
        assert page.status_code == 200
        assert "mentions of you" in page.text and "<button" in page.text
        assert (await MailSettings.get_or_none(member__handle_key="bob")) is None or (
            await MailSettings.get(member__handle_key="bob")
        ).mention == "immediately"
        # The provider's POST, from its own servers: no cookie, no CSRF token, another origin.
        done = await provider.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": "https://mail.example.net",
            },
        )
    assert done.status_code == 200
    assert "no more email for mentions of you" in done.text
    assert (await MailSettings.get(member__handle_key="bob")).mention == "never"
    assert (await MailSettings.get(member__handle_key="bob")).reply == "immediately"
    await start_thread(alice, "Budget", "Hello again @bob.")
    assert await run_batches(app, settings) == 0


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "1-mention-AAAAAAAAAAAAAAAAAAAAAA",
        "99999999999-mention-x",
        "1-nosuchtopic-abc",
        "%00%ff",
        "x" * 500,
    ],
)
async def test_forged_or_altered_unsubscribe_links_get_a_clear_refusal(
    app: Starlette, settings: Settings, token: str
) -> None:
    member = await signed_in(app, "bob")
    del member
    good = mail_prefs.unsubscribe_token(settings.secret_key, 1, "mention")
    async with make_client(app) as anyone:
        for bad in (token, good.replace("-mention-", "-reply-"), good[:-1] + "A", "2" + good[1:]):
            for method in ("GET", "POST"):
                answer = await anyone.request(method, f"/unsubscribe/{bad}")
                assert answer.status_code == 400, (bad, answer.status_code)
                assert "unsubscribe link is not valid" in answer.text
        assert (await anyone.get(f"/unsubscribe/{good}")).status_code == 200


async def test_other_posts_still_need_their_csrf_token(app: Starlette) -> None:
    bob = await signed_in(app, "bob")
    refused = await bob.post(SETTINGS_FORM, data={"mention": "never"})
    assert refused.status_code == 403
    cross = await bob.post(
        SETTINGS_FORM,
        data={"mention": "never"},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert (await MailSettings.get_or_none(member__handle_key="bob")) is None


async def test_preferences_form_and_api_agree(app: Starlette) -> None:
    bob = await signed_in(app, "bob")
    page = await bob.get("/account")
    assert 'id="email"' in page.text and 'name="statement"' in page.text
    assert (await bob.get("/api/v1/me/email-preferences")).json() == mail_prefs.TOPICS
    saved = await post_form(bob, SETTINGS_FORM, {"decision": "weekly", "caucus": "never"})
    assert saved.headers["location"] == "/account?saved=mail#email"
    shown = await bob.get("/account?saved=mail")
    assert "Your email settings are saved." in shown.text
    assert '<option value="weekly" selected>Weekly digest</option>' in shown.text
    bad = await post_form(bob, "/account/email-settings", {"decision": "hourly"})
    assert bad.status_code == 400 and "Choose one of the offered options" in bad.text
    csrf = (await bob.get("/account")).text.split('data-csrf="', 1)[1].split('"', 1)[0]
    api = await bob.patch(
        "/api/v1/me/email-preferences", json={"statement": "never"}, headers={"x-csrf-token": csrf}
    )
    assert api.status_code == 200
    assert api.json() == {
        **mail_prefs.TOPICS,
        "decision": "weekly",
        "caucus": "never",
        "statement": "never",
    }
    wrong = await bob.patch(
        "/api/v1/me/email-preferences", json={"reply": "hourly"}, headers={"x-csrf-token": csrf}
    )
    assert wrong.status_code == 400 and "reply" in wrong.json()["error"]["fields"]
    async with make_client(app) as anyone:
        assert (await anyone.get("/api/v1/me/email-preferences")).status_code == 401


async def test_defaults_bring_statements_weekly_and_a_digest_unsubscribes_its_topics(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    # bob never saved a preference: statements come in the weekly digest.
    await import_iso()
    now = datetime.now(UTC)
    assert await run_batches(app, settings) == 0
    await mail_notices.mail_digests(settings, mail_notices.digest_slot(settings, "daily", now))
    await mail_notices.mail_digests(
        settings, mail_notices.digest_slot(settings, "weekly", now + timedelta(days=7))
    )
    await app.state.deliverer.drain()
    [weekly] = inbox(tmp_path, "bob@example.org")
    assert weekly["Subject"] == "Your weekly digest from forum"
    assert "New statement: On the dissolution of the ISO" in text_of(weekly)
    async with make_client(app) as provider:
        url = weekly["List-Unsubscribe"].strip().strip("<>")
        assert (await provider.post(url)).status_code == 200
    after = await MailSettings.get(member__handle_key="bob")
    assert after.statement == "never" and after.mention == "immediately"


async def test_statements_at_once_for_who_wants_them(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    _alice, bob = pair
    assert (await post_form(bob, SETTINGS_FORM, {"statement": "immediately"})).is_redirect
    await import_iso()
    assert await run_batches(app, settings) == 1
    [mail] = inbox(tmp_path, "bob@example.org")
    assert mail["Subject"] == "New statement: On the dissolution of the ISO"
    assert await run_batches(app, settings) == 0


@pytest.mark.parametrize(
    ("name", "value"), [("FORUM_DIGEST_HOUR", "24"), ("FORUM_DIGEST_WEEKDAY", "x")]
)
def test_digest_settings_out_of_range_are_refused(name: str, value: str) -> None:
    from forum.settings import SettingsError

    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


async def test_followed_activity_comes_in_the_daily_digest_by_default(
    app: Starlette, settings: Settings, tmp_path: Path, pair: tuple[httpx.AsyncClient, ...]
) -> None:
    alice, bob = pair
    page = (await bob.get("/account")).text
    assert "Threads and channels you follow (new replies, new threads)" in page
    tid = await start_thread(alice, "Minutes", "Opening.")
    made = await post_form(bob, f"/t/{tid}/follow", {"level": "watching"})
    assert made.status_code == 303
    await reply(alice, tid, "The agenda is up.")
    assert await run_batches(app, settings) == 0  # not at once: it waits for the digest
    tomorrow = mail_notices.digest_slot(settings, "daily", datetime.now(UTC) + timedelta(days=1))
    assert await mail_notices.mail_digests(settings, tomorrow) >= 1
    await app.state.deliverer.drain()
    [daily] = [m for m in inbox(tmp_path, "bob@example.org") if "daily" in m["Subject"]]
    assert "@alice replied in “Minutes”, which you follow" in text_of(daily)
    assert f"/t/{tid}#p" in text_of(daily)
    # Chosen "at once", the next one comes in a batch of its own.
    await post_form(bob, SETTINGS_FORM, {"following": "immediately"})
    assert (await bob.get("/api/v1/me/email-preferences")).json()["following"] == "immediately"
    await reply(alice, tid, "Minutes are posted.")
    assert await run_batches(app, settings) == 1
    assert any(
        "Minutes are posted" in text_of(m)
        for m in inbox(tmp_path, "bob@example.org")
        if "daily" not in m["Subject"]
    )
