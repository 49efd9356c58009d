"""Addresses and getting back in, over HTTP with the real app, reading the real mail it sends
(the file transport's folder): confirming an address, changing it, "forgot your password?",
the links used up or expired, the throttles, and an admin sending a reset link."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.errors import Invalid
from forum.models import ApiToken, EmailToken, Member, OutboxMessage, Session
from forum.services import accounts, tokens
from forum.settings import Settings
from tests.conftest import (
    BASE,
    PASSWORD,
    csrf_token,
    login,
    make_client,
    make_member,
    post_form,
    signed_in,
)
from tests.mail import folder_messages, text_of

API = "/api/v1"
NEW_PASSWORD = "a brand new passphrase"
LINK_RE = re.compile(re.escape(BASE) + r"(/(?:confirm|reset)\?token=[A-Za-z0-9_-]+)")


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def mail(app: Starlette, folder: Path) -> list[EmailMessage]:
    """Everything sent so far: the outbox drained first, and what the app's own deliverer had
    already claimed waited for."""
    for _ in range(500):
        await app.state.deliverer.drain()
        if not await OutboxMessage.filter(status__in=["queued", "sending"]).exists():
            return folder_messages(folder)
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox did not empty")


def link_in(message: EmailMessage) -> str:
    """The link a message carries, as a path; the plain and HTML parts carry the same one."""
    links = set(LINK_RE.findall(text_of(message)))
    assert len(links) == 1, text_of(message)
    return links.pop()


def token_of(path: str) -> str:
    return path.split("token=", 1)[1]


async def with_address(handle: str, address: str, role: str = "member") -> Member:
    member = await make_member(handle, role)
    member.email = address
    member.email_key = address.lower()
    member.email_confirmed_at = datetime.now(UTC)
    await member.save()
    return member


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrf" value="[^"]*"', "", html)
    return re.sub(r'data-csrf="[^"]*"', "", html)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "mail"


# ---- confirming the address given at sign-up ---------------------------------------------------


@pytest.mark.parametrize("mode", ["invite", "approval", "open"])
async def test_sign_up_asks_an_address_and_its_link_confirms_it(
    settings: Settings, folder: Path, mode: str
) -> None:
    async with running(settings.with_(signup=mode)) as app, make_client(app) as client:
        invite = await accounts.create_invite(None) if mode == "invite" else ""
        page = "/signup" + (f"?invite={invite}" if invite else "")
        assert 'name="email"' in (await client.get(page)).text
        answer = await post_form(
            client,
            "/signup",
            {"handle": "bea", "email": "Bea@Example.ORG", "password": PASSWORD, "invite": invite},
            page,
        )
        assert answer.status_code in (200, 303), answer.text
        bea = await Member.get(handle="bea")
        # Not the member's address until confirmed: nothing is mailed to it but this link.
        assert bea.email is None and bea.email_confirmed_at is None
        [message] = await mail(app, folder)
        assert message["To"] == "Bea@example.org"  # the domain normalised by email-validator
        assert message["Subject"] == "Confirm your email address"
        assert message.get_body(("plain",)) and message.get_body(("html",))
        link = link_in(message)
        assert link.startswith("/confirm?token=")
        row = await OutboxMessage.get(to_address="Bea@example.org")
        assert row.kind == "confirm"

        # Opening the link only shows a button (a mail scanner's visit changes nothing).
        shown = await client.get(link)
        assert shown.status_code == 200 and "Bea@example.org" in shown.text
        assert (await Member.get(id=bea.id)).email_confirmed_at is None
        done = await post_form(client, "/confirm", {"token": token_of(link)}, link)
        assert done.status_code == 200
        assert "Bea@example.org is confirmed as your address" in done.text
        bea = await Member.get(id=bea.id)
        assert bea.email == "Bea@example.org" and bea.email_key == "bea@example.org"
        assert bea.email_confirmed_at is not None

        again = await client.get(link)
        assert again.status_code == 400 and "already been used" in again.text
        if mode != "approval":  # signed in by the sign-up
            account = await client.get("/account")
            assert "<strong>Bea@example.org</strong>, confirmed." in account.text


async def test_sign_up_with_a_taken_address_answers_alike_and_tells_its_owner(
    settings: Settings, folder: Path
) -> None:
    """Saying "taken" would tell a stranger who is a member; the owner is told instead."""
    async with running(settings.with_(signup="open")) as app, make_client(app) as client:
        await with_address("amara", "amara@example.org")
        answers = []
        for handle, address in (("mallory", "AMARA@example.org"), ("neve", "neve@example.org")):
            client.cookies.clear()
            data = {"handle": handle, "email": address, "password": PASSWORD}
            answers.append(await post_form(client, "/signup", data, "/signup"))
        assert [a.status_code for a in answers] == [303, 303]
        assert answers[0].headers["location"] == answers[1].headers["location"]
        messages = await mail(app, folder)
        to_amara = [m for m in messages if m["To"] == "amara@example.org"]
        assert len(messages) == 2 and len(to_amara) == 1
        assert to_amara[0]["Subject"] == "Someone tried to use your email address"
        assert not LINK_RE.search(text_of(to_amara[0]))  # nothing that could take the address
        mallory = await Member.get(handle="mallory")
        assert mallory.email is None
        assert (await Member.get(handle="amara")).email == "amara@example.org"


async def test_a_malformed_or_huge_address_is_refused_beside_the_field_keeping_the_rest(
    settings: Settings, folder: Path
) -> None:
    async with running(settings.with_(signup="open")) as app, make_client(app) as client:
        for address in ("not-an-address", "two@@example.org", "x" * 5000 + "@example.org", ""):
            data = {"handle": "bea", "display_name": "Bea B", "email": address}
            refused = await post_form(client, "/signup", {**data, "password": PASSWORD}, "/signup")
            assert refused.status_code == 400
            assert 'id="e-email"' in refused.text
            assert 'value="bea"' in refused.text and 'value="Bea B"' in refused.text
            assert PASSWORD not in refused.text
        assert not await Member.exists(handle="bea")
        assert await mail(app, folder) == []


# ---- changing the address ----------------------------------------------------------------------


async def test_a_change_of_address_confirms_the_new_one_and_tells_the_old_one(
    app: Starlette, folder: Path
) -> None:
    await with_address("amara", "amara@example.org")
    client = make_client(app)
    await login(client, "amara")
    wrong = await post_form(
        client, "/account/email", {"email": "new.one@example.net", "password": "not it at all"}
    )
    assert wrong.status_code == 400 and "That is not your current password." in wrong.text
    assert 'value="new.one@example.net"' in wrong.text  # what was typed is kept
    assert await mail(app, folder) == []

    asked = await post_form(
        client, "/account/email", {"email": "new.one@example.net", "password": PASSWORD}
    )
    assert asked.status_code == 303
    page = await client.get(asked.headers["location"])
    assert "We sent a link to the new address" in page.text
    assert "Waiting for confirmation: <strong>new.one@example.net</strong>" in page.text
    messages = await mail(app, folder)
    by_to = {m["To"]: m for m in messages}
    assert set(by_to) == {"new.one@example.net", "amara@example.org"}
    old = text_of(by_to["amara@example.org"])
    assert "n***@example.net" in old and "new.one" not in old
    assert f"{BASE}/forgot" in old  # how to secure the account
    assert not LINK_RE.search(old)
    kinds = await OutboxMessage.all().order_by("id").values_list("kind", flat=True)
    assert sorted(kinds) == ["confirm", "email-change"]
    # Still the old address until the link is followed.
    assert (await Member.get(handle="amara")).email == "amara@example.org"

    link = link_in(by_to["new.one@example.net"])
    done = await post_form(client, "/confirm", {"token": token_of(link)}, link)
    assert "new.one@example.net is confirmed" in done.text
    amara = await Member.get(handle="amara")
    assert (amara.email, amara.email_key) == ("new.one@example.net", "new.one@example.net")
    await client.aclose()


async def test_sending_the_link_again_replaces_it_and_is_throttled(
    settings: Settings, folder: Path
) -> None:
    async with running(settings.with_(confirm_rate="2/hour")) as app:
        amara = await make_member("amara")
        async with make_client(app) as client:
            await login(client, "amara")
            nothing = await post_form(client, "/account/email/resend", {})
            assert nothing.status_code == 400
            assert "no address waiting for confirmation" in nothing.text
            await post_form(
                client, "/account/email", {"email": "amara@example.org", "password": PASSWORD}
            )
            first = link_in((await mail(app, folder))[0])
            again = await post_form(client, "/account/email/resend", {})
            assert again.status_code == 303
            messages = await mail(app, folder)
            assert len(messages) == 2
            second = link_in(messages[1])
            assert second != first
            stale = await post_form(client, "/confirm", {"token": token_of(first)}, "/login")
            assert stale.status_code == 400 and "not valid" in stale.text
            slow = await post_form(client, "/account/email/resend", {})
            assert slow.status_code == 429 and "Please wait a while" in slow.text
            assert int(slow.headers["retry-after"]) > 0
            assert len(await mail(app, folder)) == 2
            ok = await post_form(client, "/confirm", {"token": token_of(second)}, "/login")
            assert ok.status_code == 200
            assert (await Member.get(id=amara.id)).email == "amara@example.org"


# ---- forgot password ---------------------------------------------------------------------------


async def ask_reset(client: httpx.AsyncClient, address: str) -> httpx.Response:
    return await post_form(client, "/forgot", {"address": address}, "/forgot")


async def test_forgot_password_from_the_sign_in_page_to_signed_in_ending_every_other_session(
    app: Starlette, folder: Path
) -> None:
    amara = await with_address("amara", "amara@example.org")
    laptop = make_client(app)
    phone = make_client(app)
    await login(laptop, "amara")
    await login(phone, "amara")
    api_token = await tokens.create_api_token(amara, "script")
    assert (await laptop.get(f"{API}/me")).status_code == 200

    async with make_client(app) as client:
        sign_in = await client.get("/login")
        assert 'href="/forgot"' in sign_in.text
        asked = await ask_reset(client, "  Amara@Example.org ")
        assert asked.status_code == 200
        assert "If an account has this address or handle, we have sent a link" in asked.text
        [message] = await mail(app, folder)
        assert message["To"] == "amara@example.org"
        assert message["Subject"] == "Set a new password"
        link = link_in(message)
        assert link.startswith("/reset?token=")
        assert (await OutboxMessage.get()).kind == "reset"
        stored = await EmailToken.get(purpose="reset")
        assert token_of(link) not in stored.token_hash  # only its hash is kept
        assert stored.expires_at - stored.created_at == timedelta(hours=1)

        form = await client.get(link)
        assert form.status_code == 200 and 'name="new"' in form.text
        differ = await post_form(
            client, "/reset", {"token": token_of(link), "new": NEW_PASSWORD, "confirm": "x"}, link
        )
        assert differ.status_code == 400 and "The two new passwords differ." in differ.text
        assert NEW_PASSWORD not in differ.text
        data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        done = await post_form(client, "/reset", data, link)
        assert done.status_code == 303 and done.headers["location"] == "/account?saved=reset"
        page = await client.get(done.headers["location"])
        assert "Signed in as <strong>@amara</strong>" in page.text
        assert "Your new password is set." in page.text

        # Every other session ended, and the API token with them.
        for other in (laptop, phone):
            assert (await other.get("/account")).status_code == 303
        assert await Session.filter(member_id=amara.id).count() == 1
        async with make_client(app) as script:
            bearer = {"authorization": f"Bearer {api_token}"}
            assert (await script.get(f"{API}/me", headers=bearer)).status_code == 401
        assert (await ApiToken.get(member_id=amara.id)).revoked_at is not None

        # The link works once.
        reused = await post_form(client, "/reset", data, "/account")
        assert reused.status_code == 400 and "already been used" in reused.text
        assert (await client.get(link)).status_code == 400

    async with make_client(app) as fresh:
        assert (await login(fresh, "amara", NEW_PASSWORD)).status_code == 303
    async with make_client(app) as fresh:
        assert (await login(fresh, "amara", PASSWORD)).status_code == 400
    await laptop.aclose()
    await phone.aclose()


async def test_an_expired_or_missing_reset_link_says_so(app: Starlette, folder: Path) -> None:
    before = (await with_address("amara", "amara@example.org")).password_hash
    async with make_client(app) as client:
        await ask_reset(client, "amara")
        link = link_in((await mail(app, folder))[0])
        # The clock moves past the hour (the row is dated back, as time would do).
        await EmailToken.filter(purpose="reset").update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        shown = await client.get(link)
        assert shown.status_code == 400 and "This link has expired." in shown.text
        data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        refused = await post_form(client, "/reset", data, "/forgot")
        assert refused.status_code == 400 and "This link has expired." in refused.text
        for path in ("/reset", "/reset?token=", "/reset?token=" + "x" * 5000, "/confirm"):
            page = await client.get(path)
            assert page.status_code == 400 and "This link is not valid" in page.text, path
        missing = await post_form(client, "/reset", {"new": "a", "confirm": "a"}, "/forgot")
        assert missing.status_code == 400 and "This link is not valid" in missing.text
        huge = await post_form(
            client, "/reset", {**data, "new": "p" * 5000, "confirm": "p" * 5000}, "/forgot"
        )
        assert huge.status_code == 400
    assert (await Member.get(handle="amara")).password_hash == before  # nothing changed


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    app: Starlette, folder: Path
) -> None:
    await with_address("amara", "amara@example.org")
    async with make_client(app) as client:
        known = await ask_reset(client, "amara@example.org")
        unknown = await ask_reset(client, "nobody@example.org")
        no_handle = await ask_reset(client, "nobody")
        assert known.status_code == unknown.status_code == no_handle.status_code == 200
        assert (
            without_csrf(known.text) == without_csrf(unknown.text) == without_csrf(no_handle.text)
        )
        messages = await mail(app, folder)
        assert [m["To"] for m in messages] == ["amara@example.org"]
        blank = await ask_reset(client, "  ")
        assert blank.status_code == 400 and "Enter your email address or your handle." in blank.text
        huge = await ask_reset(client, "a" * 20_000)
        assert huge.status_code == 400 and 'id="e-address"' in huge.text


async def test_a_member_without_an_address_cannot_be_sent_a_link(
    app: Starlette, folder: Path
) -> None:
    await make_member("bo")  # no address
    async with make_client(app) as client:
        assert (await ask_reset(client, "bo")).status_code == 200
    assert await mail(app, folder) == []


async def test_reset_requests_are_throttled_per_typed_address_per_client_and_per_account(
    settings: Settings, folder: Path
) -> None:
    limited = settings.with_(reset_rate="2/hour", reset_address_rate="8/hour")
    async with running(limited) as app, make_client(app) as client:
        await with_address("amara", "amara@example.org")
        # Per typed address: the third ask for the same address is refused, known or not.
        for address in ("amara", "nobody@example.org"):
            assert [(await ask_reset(client, address)).status_code for _ in range(2)] == [200, 200]
            slow = await ask_reset(client, address)
            assert slow.status_code == 429
            assert "Too many requests for a reset link" in slow.text
            assert 'value="' + address + '"' in slow.text  # kept
            assert int(slow.headers["retry-after"]) > 0
        # Per account: the same account under another spelling gets the same answer and no
        # third link (a 429 here would tell that the two spellings are one account).
        same = await ask_reset(client, "AMARA@example.org")
        assert same.status_code == 200
        assert len(await mail(app, folder)) == 2
        # Per client address (every request counts, refused or not): the ninth request from
        # here is refused, whatever it names.
        assert (await ask_reset(client, "someone@example.org")).status_code == 200
        refused = await ask_reset(client, "else@example.org")
        assert refused.status_code == 429
        # Another client is not held back by this one.
        async with make_client(app, "10.0.0.9") as other:
            assert (await ask_reset(other, "else@example.org")).status_code == 200


async def test_a_suspended_member_may_reset_and_stays_suspended(
    app: Starlette, folder: Path
) -> None:
    amara = await with_address("amara", "amara@example.org")
    amara.status = "suspended"
    amara.suspension_reason = "spam"
    await amara.save()
    async with make_client(app) as client:
        await ask_reset(client, "amara")
        link = link_in((await mail(app, folder))[0])
        data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        done = await post_form(client, "/reset", data, link)
        assert done.status_code == 200
        assert "Your new password is set" in done.text
        assert "Your account is suspended" in done.text and "spam" in done.text
        assert (await client.get("/account")).status_code == 303  # not signed in
    assert (await Member.get(id=amara.id)).status == "suspended"
    assert await Session.filter(member_id=amara.id).count() == 0


# ---- an admin sends a reset link ---------------------------------------------------------------


async def test_an_admin_sends_a_reset_link_without_ever_seeing_it(
    app: Starlette, folder: Path
) -> None:
    await with_address("amara", "amara@example.org")
    await make_member("bo")
    admin = await signed_in(app, "ada", "admin")
    page = await admin.get("/admin/members")
    assert 'action="/admin/members/amara/reset-link"' in page.text
    assert 'action="/admin/members/bo/reset-link"' not in page.text  # no address to send to
    sent = await post_form(admin, "/admin/members/amara/reset-link", {}, "/admin/members")
    assert sent.status_code == 303
    shown = await admin.get(sent.headers["location"])
    [message] = await mail(app, folder)
    link = link_in(message)
    for answer in (sent, shown):
        assert token_of(link) not in answer.text and "token=" not in answer.text
    assert message["To"] == "amara@example.org" and "An admin" in text_of(message)
    row = await EmailToken.get(purpose="reset")
    ada = await Member.get(handle="ada")
    assert row.sent_by_id == ada.id  # the admins' record of who sent it
    audit = (await admin.get("/admin/members")).text
    assert "To @amara by @ada" in audit and "not used" in audit and "token=" not in audit
    no_address = await post_form(admin, "/admin/members/bo/reset-link", {}, "/admin/members")
    assert no_address.status_code == 400 and "@bo has no email address" in no_address.text

    # Not for a facilitator or a member.
    for role in ("facilitator", "member"):
        other = await signed_in(app, f"x{role}", role)
        refused = await post_form(other, "/admin/members/amara/reset-link", {}, "/account")
        assert refused.status_code in (403, 404)
        await other.aclose()
    assert len(await mail(app, folder)) == 1
    await admin.aclose()


# ---- the JSON API ------------------------------------------------------------------------------


async def test_the_api_asks_for_a_reset_confirms_and_changes_an_address(
    app: Starlette, folder: Path
) -> None:
    amara = await with_address("amara", "amara@example.org")
    async with make_client(app) as anonymous:
        asked = await anonymous.post(f"{API}/password-reset", json={"address": "amara"})
        unknown = await anonymous.post(f"{API}/password-reset", json={"address": "nobody"})
        assert asked.status_code == unknown.status_code == 202
        assert asked.json() == unknown.json()
        assert len(await mail(app, folder)) == 1
        bad = await anonymous.post(f"{API}/password-reset", json={"address": 5})
        assert bad.status_code == 400 and "address" in bad.json()["error"]["fields"]

    write = await tokens.create_api_token(amara, "script", scopes=["read", "write"])
    async with make_client(app) as script:
        script.headers["authorization"] = f"Bearer {write}"
        me = (await script.get(f"{API}/me")).json()
        assert me["email"] == "amara@example.org" and me["email_confirmed"] is True
        malformed = await script.post(
            f"{API}/me/email", json={"email": "no at sign", "password": PASSWORD}
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"]["fields"]["email"].startswith("Enter an email address")
        changed = await script.post(
            f"{API}/me/email", json={"email": "amara@example.net", "password": PASSWORD}
        )
        assert changed.status_code == 202
    messages = await mail(app, folder)
    new = next(m for m in messages if m["To"] == "amara@example.net")
    token = token_of(link_in(new))
    async with make_client(app) as anonymous:
        confirmed = await anonymous.post(f"{API}/email/confirm", json={"token": token})
        assert confirmed.status_code == 200 and confirmed.json() == {"email": "amara@example.net"}
        again = await anonymous.post(f"{API}/email/confirm", json={"token": token})
        assert again.status_code == 400 and "already been used" in again.json()["error"]["message"]
        # A cookie session without the CSRF header is refused, as everywhere.
        await login(anonymous, "amara")
        forged = await anonymous.post(f"{API}/email/confirm", json={"token": token})
        assert forged.status_code == 403
    spec = (await make_client(app).get(f"{API}/openapi.json")).json()
    for path in ("/password-reset", "/email/confirm", "/me/email"):
        assert "post" in spec["paths"][path]


# ---- members an admin creates, and the demo ----------------------------------------------------


async def test_a_member_created_with_an_address_has_it_and_is_asked_to_confirm_it(
    app: Starlette, folder: Path
) -> None:
    services = app.state.services
    cy = await accounts.create_member(services, "cy", PASSWORD, email="Cy@EXAMPLE.org")
    assert (cy.email, cy.email_key, cy.email_confirmed_at) == (
        "Cy@example.org",
        "cy@example.org",
        None,
    )
    [message] = await mail(app, folder)
    assert message["Subject"] == "Confirm your email address"
    with pytest.raises(Invalid) as taken:
        await accounts.create_member(services, "dee", PASSWORD, email="cy@example.org")
    assert taken.value.fields == {"email": "Another member has that email address."}
    with pytest.raises(Invalid) as malformed:
        await accounts.create_member(services, "dee", PASSWORD, email="dee at example")
    assert "email" in malformed.value.fields
    # A reset link goes to an address an admin gave, and following it confirms the address.
    async with make_client(app) as client:
        await ask_reset(client, "cy")
        link = link_in((await mail(app, folder))[-1])
        data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert (await post_form(client, "/reset", data, link)).status_code == 303
    assert (await Member.get(handle="cy")).email_confirmed_at is not None


async def test_the_csrf_token_guards_the_forgot_form(app: Starlette) -> None:
    async with make_client(app) as client:
        await csrf_token(client, "/forgot")
        refused = await client.post("/forgot", data={"address": "amara"})
        assert refused.status_code == 403


async def test_the_demo_members_have_confirmed_example_addresses(app: Starlette) -> None:
    from forum.services import demo

    assert await demo.load(app.state.services)
    amara = await Member.get(handle="amara")
    assert amara.email == "amara@example.org" and amara.email_confirmed_at is not None
    assert await OutboxMessage.all().count() == 0  # nothing to confirm, nothing sent


# ---- open sockets end with the sessions --------------------------------------------------------


def test_a_reset_closes_the_member_s_open_sockets(
    settings: Settings, database_url: str, folder: Path
) -> None:
    from starlette.testclient import TestClient

    from forum.services import channels
    from tests.test_ws import ORIGIN, seed, start_thread
    from tests.test_ws import login as ws_login
    from tests.test_ws_access import closed_with

    async def world() -> None:
        await with_address("amara", "amara@example.org")
        await channels.create_channel(None, "General", "general")

    seed(database_url, world)
    app = create_app(settings.with_(ws_recheck_seconds=0.2))
    with TestClient(app, base_url=BASE) as tc:
        tid = start_thread(tc, ws_login(tc, "amara"))
        with tc.websocket_connect("/ws", headers=ORIGIN) as ws:
            ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
            assert ws.receive_json()["op"] == "subscribed"
            # Another browser (this client, its cookies gone) asks for a link and uses it.
            tc.cookies.clear()
            csrf = re.search(r'name="csrf" value="([^"]*)"', tc.get("/forgot").text)
            assert csrf
            tc.post("/forgot", data={"address": "amara", "csrf": csrf.group(1)})
            for _ in range(500):
                if messages := folder_messages(folder):
                    break
                time.sleep(0.02)
            link = link_in(messages[0])
            csrf = re.search(r'name="csrf" value="([^"]*)"', tc.get(link).text)
            assert csrf
            data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
            done = tc.post("/reset", data={**data, "csrf": csrf.group(1)}, follow_redirects=False)
            assert done.status_code == 303
            assert closed_with(ws) >= 4000


# ---- the same on PostgreSQL ---------------------------------------------------------------------


@pytest.mark.postgres
async def test_confirm_and_reset_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    """The link claims, the unique address and the outbox in PostgreSQL's transactions."""
    from forum.db import apply_migrations

    await apply_migrations(postgres_url)
    folder = tmp_path / "pg-mail"
    settings = Settings(
        database_url=postgres_url, base_url=BASE, signup="open", email_url=f"file://{folder}"
    )
    async with running(settings) as app, make_client(app) as client:
        await with_address("amara", "amara@example.org")
        data = {"handle": "bea", "email": "bea@example.org", "password": PASSWORD}
        assert (await post_form(client, "/signup", data, "/signup")).status_code == 303
        link = link_in((await mail(app, folder))[0])
        done = await post_form(client, "/confirm", {"token": token_of(link)}, link)
        assert "bea@example.org is confirmed" in done.text
        # Another account may not confirm an address now taken (the unique index holds).
        taken = await post_form(
            client, "/account/email", {"email": "AMARA@example.org", "password": PASSWORD}
        )
        assert taken.status_code == 303
        assert (await Member.get(handle="bea")).email == "bea@example.org"
        client.cookies.clear()
        assert (await ask_reset(client, "bea@example.org")).status_code == 200
        reset = [m for m in await mail(app, folder) if m["Subject"] == "Set a new password"]
        link = link_in(reset[0])
        data = {"token": token_of(link), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert (await post_form(client, "/reset", data, link)).status_code == 303
        again = await post_form(client, "/reset", data, "/account")
        assert again.status_code == 400 and "already been used" in again.text


async def test_of_two_members_asking_for_one_address_the_first_to_confirm_has_it(
    app: Starlette, folder: Path
) -> None:
    await make_member("amara")
    await make_member("bo")
    for handle, typed in (("amara", "shared@example.org"), ("bo", "SHARED@example.org")):
        async with make_client(app) as client:
            await login(client, handle)
            data = {"email": typed, "password": PASSWORD}
            assert (await post_form(client, "/account/email", data)).status_code == 303
    first, second = (link_in(m) for m in await mail(app, folder))
    async with make_client(app) as client:
        assert (
            await post_form(client, "/confirm", {"token": token_of(first)}, "/login")
        ).is_success
        late = await post_form(client, "/confirm", {"token": token_of(second)}, "/login")
        assert late.status_code == 400 and "now belongs to another account" in late.text
    assert (await Member.get(handle="amara")).email == "shared@example.org"
    assert (await Member.get(handle="bo")).email is None
