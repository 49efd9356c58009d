"""Invites as admins and invitees see them: made one or several at once or mailed to a list of
addresses, listed newest first with what became of each, copied again, revoked; and the sign-up
page that says what a link is before (or instead of) the form."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.models import Invite, Member, OutboxMessage
from forum.security import token_digest
from forum.services import accounts, invites
from forum.settings import Settings
from tests.conftest import (
    PASSWORD,
    csrf_token,
    make_client,
    make_member,
    post_form,
    signed_in,
)
from tests.mail import SmtpSink, text_of

LINK_RE = re.compile(r"http://testserver/signup\?invite=([A-Za-z0-9_-]+)")


def tokens_in(text: str) -> list[str]:
    return LINK_RE.findall(text)


def list_section(page: str) -> str:
    return page.split('id="list-h"', 1)[1]


def row_of(page: str, invite_id: int) -> str:
    return list_section(page).split(f'data-invite="{invite_id}"', 1)[1].split("</tr>", 1)[0]


async def make_links(admin: httpx.AsyncClient, count: int, note: str = "") -> httpx.Response:
    made = await post_form(
        admin,
        "/admin/invites",
        {"count": str(count), "role": "member", "note": note},
        page="/admin/invites",
    )
    assert made.status_code == 303, made.text
    return made


async def sign_up_with(client: httpx.AsyncClient, token: str, handle: str) -> httpx.Response:
    csrf = await csrf_token(client, "/login")
    return await client.post(
        "/signup",
        data={
            "csrf": csrf,
            "handle": handle,
            "email": f"{handle}@example.org",
            "password": PASSWORD,
            "invite": token,
        },
    )


# ---- making, listing, copying ------------------------------------------------------------------


async def test_several_invites_at_once_are_shown_as_links_to_copy_after_a_redirect(
    app: Starlette,
) -> None:
    admin = await signed_in(app, "ada", "admin")
    made = await make_links(admin, 3, note="Branch newcomers")
    where = made.headers["location"]
    # POST-redirect-GET: the redirect names the batch, never a token.
    assert where.startswith("/admin/invites?made=") and where.endswith("#made")
    rows = await Invite.all().order_by("id")
    assert len(rows) == 3 and len({r.batch for r in rows}) == 1
    page = await admin.get(where)
    assert page.status_code == 200
    assert "Your invite links are made" in page.text  # the status message, once
    made_box = page.text.split('id="made"', 1)[1].split("</section>", 1)[0]
    assert "3 new invite links" in made_box
    textarea = made_box.split('id="made-links"', 1)[1].split("</textarea>", 1)[0]
    batch = tokens_in(textarea)
    assert len(batch) == 3 and len(set(batch)) == 3
    # One link a line, each a working invite of this batch.
    assert textarea.split(">", 1)[1].strip().splitlines() == [
        f"http://testserver/signup?invite={t}" for t in batch
    ]
    assert {token_digest(t) for t in batch} == {r.token_hash for r in rows}
    # The list shows every unused invite's full link in a read-only field, with a Copy button.
    for row in rows:
        cell = row_of(page.text, row.id)
        assert "<strong>Unused</strong>" in cell and "Branch newcomers" in cell and "@ada" in cell
        field = re.search(r'<input id="link-\d+" class="copy" readonly value="([^"]+)"', cell)
        assert field and field.group(1) in textarea
        assert 'data-copy="#link-' in cell and ">Revoke" in cell
    # The database keeps no token in the clear.
    for row in rows:
        assert row.sealed and not any(t in row.sealed for t in batch)
    again = await admin.get("/admin/invites")
    assert "Your invite links are made" not in again.text  # said once
    assert 'id="made"' not in again.text
    assert len(set(tokens_in(list_section(again.text)))) == 3  # still copyable from the list


async def test_the_list_is_newest_first_with_what_became_of_each(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1, note="first")
    await make_links(admin, 1, note="second")
    await make_links(admin, 1, note="third")
    first, second, third = await Invite.all().order_by("id")
    page = (await admin.get("/admin/invites")).text
    listed = list_section(page)
    assert listed.index("“third”") < listed.index("“second”") < listed.index("“first”")

    async with make_client(app) as bea:
        token = tokens_in(row_of(page, second.id))[0]
        assert (await sign_up_with(bea, token, "bea")).status_code == 303
    await Invite.filter(id=first.id).update(expires_at=datetime.now(UTC) - timedelta(days=1))
    page = (await admin.get("/admin/invites")).text
    used = row_of(page, second.id)
    assert re.search(r'Used by <a href="/m/bea">@bea</a> on \d+ \w+ \d{4}, \d\d:\d\d UTC', used)
    assert "readonly" not in used and ">Revoke" not in used  # nothing to copy or revoke
    expired = row_of(page, first.id)
    assert "Expired on" in expired and "readonly" not in expired and ">Revoke" not in expired
    assert "<strong>Unused</strong>" in row_of(page, third.id)


async def test_links_follow_the_base_url(settings: Settings) -> None:
    app = create_app(settings.with_(base_url="http://127.0.0.1:8123"))
    async with app.router.lifespan_context(app):
        admin = await signed_in(app, "ada", "admin")
        made = await make_links(admin, 2)
        page = await admin.get(made.headers["location"])
        links = re.findall(r"http://127\.0\.0\.1:8123/signup\?invite=[\w-]+", page.text)
        assert len(set(links)) == 2 and "testserver/signup" not in page.text
        await admin.aclose()


async def test_a_link_made_on_the_command_line_is_listed_with_its_link(
    app: Starlette, settings: Settings
) -> None:
    token = await accounts.create_invite(None, "facilitator", "from the CLI", settings)
    admin = await signed_in(app, "ada", "admin")
    page = (await admin.get("/admin/invites")).text
    assert f"http://testserver/signup?invite={token}" in page
    assert "by the command line" in page and "facilitator" in page


async def test_a_link_sealed_under_another_secret_key_still_works_but_is_not_shown(
    app: Starlette, settings: Settings
) -> None:
    token = await accounts.create_invite(None, "member", "old key", settings.with_(secret_key="x"))
    admin = await signed_in(app, "ada", "admin")
    page = (await admin.get("/admin/invites")).text
    assert token not in page and "cannot be shown again" in page
    async with make_client(app) as bea:
        assert (await sign_up_with(bea, token, "bea")).status_code == 303


@pytest.mark.parametrize("count", ["0", "51", "three", "-2"])
async def test_a_bad_count_makes_nothing_and_keeps_the_form(app: Starlette, count: str) -> None:
    admin = await signed_in(app, "ada", "admin")
    refused = await post_form(
        admin,
        "/admin/invites",
        {"count": count, "role": "facilitator", "note": "Branch newcomers"},
        page="/admin/invites",
    )
    assert refused.status_code == 400
    assert "Make 1 to 50 invites at once." in refused.text
    assert 'value="Branch newcomers"' in refused.text
    assert "<option selected>facilitator</option>" in refused.text
    assert await Invite.all().count() == 0


async def test_an_unknown_role_is_refused(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    refused = await post_form(
        admin, "/admin/invites", {"count": "2", "role": "owner"}, page="/admin/invites"
    )
    assert refused.status_code == 400 and "Choose member, facilitator or admin." in refused.text
    assert await Invite.all().count() == 0


# ---- revoking ----------------------------------------------------------------------------------


async def test_a_revoked_invite_says_so_on_its_sign_up_page(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 2)
    keep, gone = await Invite.all().order_by("id")
    page = (await admin.get("/admin/invites")).text
    token = tokens_in(row_of(page, gone.id))[0]
    done = await post_form(admin, f"/admin/invites/{gone.id}/revoke", {}, page="/admin/invites")
    assert done.status_code == 303 and done.headers["location"] == "/admin/invites"
    page = (await admin.get("/admin/invites")).text
    assert "The invite is revoked" in page
    row = row_of(page, gone.id)
    assert re.search(r"Revoked by @ada on \d+ \w+ \d{4}", row)
    assert token not in page and "readonly" not in row and ">Revoke" not in row
    assert "<strong>Unused</strong>" in row_of(page, keep.id)
    assert (await Invite.get(id=gone.id)).sealed is None

    async with make_client(app) as bea:
        landing = await bea.get(f"/signup?invite={token}")
        assert landing.status_code == 410
        assert "<h1>This invite was revoked</h1>" in landing.text
        assert 'name="handle"' not in landing.text  # an explanation instead of the form
        refused = await sign_up_with(bea, token, "bea")
        assert refused.status_code == 400 and "This invite was revoked" in refused.text
    assert not await Member.exists(handle_key="bea")

    again = await post_form(admin, f"/admin/invites/{gone.id}/revoke", {}, page="/admin/invites")
    assert again.status_code == 409 and "revoked already" in again.text
    missing = await post_form(admin, "/admin/invites/999999/revoke", {}, page="/admin/invites")
    assert missing.status_code == 404
    odd = await post_form(admin, "/admin/invites/abc/revoke", {}, page="/admin/invites")
    assert odd.status_code == 404


async def test_a_used_invite_cannot_be_revoked(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1)
    invite = await Invite.get()
    token = tokens_in((await admin.get("/admin/invites")).text)[0]
    async with make_client(app) as bea:
        assert (await sign_up_with(bea, token, "bea")).status_code == 303
    refused = await post_form(
        admin, f"/admin/invites/{invite.id}/revoke", {}, page="/admin/invites"
    )
    assert refused.status_code == 409 and "used already" in refused.text
    assert (await Invite.get(id=invite.id)).revoked_at is None


async def test_every_invite_form_needs_the_csrf_token(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1)
    invite = await Invite.get()
    for path, data in (
        ("/admin/invites", {"count": "3"}),
        ("/admin/invites/email", {"emails": "bea@example.org"}),
        (f"/admin/invites/{invite.id}/revoke", {}),
    ):
        forged = await admin.post(path, data=data)
        assert forged.status_code == 403 and "did not come from this site" in forged.text
    assert await Invite.all().count() == 1 and await OutboxMessage.all().count() == 0
    assert (await Invite.get(id=invite.id)).revoked_at is None


async def test_only_admins_reach_invites(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1)
    invite = await Invite.get()
    for handle, role in (("fran", "facilitator"), ("olu", "member")):
        client = await signed_in(app, handle, role)
        assert (await client.get("/admin/invites")).status_code == 403
        for path, data in (
            ("/admin/invites", {"count": "1"}),
            ("/admin/invites/email", {"emails": "bea@example.org"}),
            (f"/admin/invites/{invite.id}/revoke", {}),
        ):
            refused = await post_form(client, path, data)
            assert refused.status_code == 403, (handle, path)
        await client.aclose()
    assert await Invite.all().count() == 1 and await OutboxMessage.all().count() == 0
    assert (await Invite.get(id=invite.id)).revoked_at is None
    async with make_client(app) as anonymous:
        page = await anonymous.get("/admin/invites")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/invites"
    # The members page links to the invites page.
    assert 'href="/admin/invites"' in (await admin.get("/admin/members")).text


# ---- the sign-up page --------------------------------------------------------------------------


async def test_the_sign_up_page_says_the_invite_works_once_and_who_made_it(
    app: Starlette,
) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1)
    token = tokens_in((await admin.get("/admin/invites")).text)[0]
    invite = await Invite.get()
    async with make_client(app) as bea:
        page = await bea.get(f"/signup?invite={token}")
        assert page.status_code == 200 and 'name="handle"' in page.text
        made_on = invite.created_at.astimezone(UTC).strftime("%-d %B %Y")
        assert f"This invite can be used once; it was made by @ada on {made_on}." in page.text
        assert page.text.index("can be used once") < page.text.index('name="handle"')


async def test_used_expired_and_unknown_links_explain_themselves(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 2)
    page = (await admin.get("/admin/invites")).text
    used_token, old_token = tokens_in(list_section(page))[:2]
    async with make_client(app) as bea:
        assert (await sign_up_with(bea, used_token, "bea")).status_code == 303
    await Invite.filter(token_hash=token_digest(old_token)).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    async with make_client(app) as visitor:
        used = await visitor.get(f"/signup?invite={used_token}")
        assert used.status_code == 410 and "<h1>This invite has been used</h1>" in used.text
        assert 'href="/login"' in used.text and "@ada" not in used.text
        old = await visitor.get(f"/signup?invite={old_token}")
        assert old.status_code == 410 and "<h1>This invite has expired</h1>" in old.text
        assert "@ada" not in old.text and 'name="handle"' not in old.text
        refused = await sign_up_with(visitor, old_token, "cy")
        assert refused.status_code == 400 and "This invite has expired" in refused.text
        bogus = await visitor.get("/signup?invite=not-a-real-token")
        assert bogus.status_code == 404 and "This invite link is not valid" in bogus.text
        huge = await visitor.get("/signup?invite=" + "x" * 500)
        assert huge.status_code == 404
    assert not await Member.exists(handle_key="cy")


# ---- by email ----------------------------------------------------------------------------------


@pytest.fixture
async def smtp_app(settings: Settings, sink: SmtpSink) -> AsyncIterator[Starlette]:
    application = create_app(settings.with_(email_url=sink.url, email_from_name="Our Forum"))
    async with application.router.lifespan_context(application):
        yield application


async def test_invites_by_email_are_delivered_with_their_own_links(
    smtp_app: Starlette, sink: SmtpSink
) -> None:
    admin = await signed_in(smtp_app, "ada", "admin")
    sent = await post_form(
        admin,
        "/admin/invites/email",
        {"emails": "bea@example.org\n\n Cy@Example.org \n", "role": "member", "note": "x"},
        page="/admin/invites",
    )
    assert sent.status_code == 303, sent.text
    page = await admin.get(sent.headers["location"])
    assert "Your invitations are on their way" in page.text
    box = page.text.split('id="made"', 1)[1].split("</section>", 1)[0]
    assert "2 invitations" in box and "bea@example.org" in box and "Cy@example.org" in box
    rows = await OutboxMessage.filter(kind="invite").order_by("id")
    assert [r.to_address for r in rows] == ["bea@example.org", "Cy@example.org"]
    messages = await asyncio.to_thread(sink.wait_for, 2)
    by_address = {m["To"]: m for m in messages}
    assert set(by_address) == {"bea@example.org", "Cy@example.org"}
    for address, message in by_address.items():
        assert message["Subject"] == "You are invited to join Our Forum"
        body = text_of(message)
        [token] = set(tokens_in(body))
        invite = await Invite.get(token_hash=token_digest(token))
        assert invite.email == address and invite.created_by_id is not None
        assert "@ada" in body and "works once" in body
        # The link leads to a sign-up form with the invited address filled in.
        async with make_client(smtp_app) as invitee:
            form = await invitee.get(f"/signup?invite={token}")
            assert form.status_code == 200
            assert f'value="{address}"' in form.text
    # The list says whom each was sent to.
    listed = list_section((await admin.get("/admin/invites")).text)
    assert "to bea@example.org" in listed and "to Cy@example.org" in listed


async def test_bad_lines_are_named_the_good_ones_still_sent_and_kept_to_fix(
    app: Starlette,
) -> None:
    admin = await signed_in(app, "ada", "admin")
    text = "bea@example.org\nnot-an-address\ncy@example.org\nbea@example.org\ndee@\n"
    page = await post_form(
        admin,
        "/admin/invites/email",
        {"emails": text, "role": "facilitator", "note": "Tenants"},
        page="/admin/invites",
    )
    assert page.status_code == 400
    assert "Sent 2 invitations: bea@example.org, cy@example.org." in page.text
    alert = page.text.split('id="e-emails"', 1)[1].split("</div>", 1)[0]
    assert "These lines were not sent; the others were" in alert
    assert "Line 2, “not-an-address”:" in alert and "Line 5, “dee@”:" in alert
    # The form keeps what is left to fix (not what went out), and the other fields.
    textarea = page.text.split('id="inv-emails"', 1)[1].split("</textarea>", 1)[0]
    assert textarea.split(">", 1)[1] == "not-an-address\ndee@"
    assert 'aria-invalid="true" aria-describedby="e-emails"' in page.text
    assert 'id="inv-mnote" name="note" maxlength="200" value="Tenants"' in page.text
    assert "<option selected>facilitator</option>" in page.text
    # The repeated address got one invite; each went out in the transaction that made it.
    outbox = await OutboxMessage.filter(kind="invite").values_list("to_address", flat=True)
    assert sorted(outbox) == ["bea@example.org", "cy@example.org"]
    assert await Invite.filter(role="facilitator").count() == 2


async def test_an_empty_or_too_long_list_sends_nothing_and_keeps_the_text(
    app: Starlette,
) -> None:
    admin = await signed_in(app, "ada", "admin")
    empty = await post_form(
        admin, "/admin/invites/email", {"emails": " \n \n"}, page="/admin/invites"
    )
    assert empty.status_code == 400 and "Enter at least one email address" in empty.text
    many = "\n".join(f"person{n}@example.org" for n in range(51))
    long = await post_form(admin, "/admin/invites/email", {"emails": many}, page="/admin/invites")
    assert long.status_code == 400 and "At most 50 addresses at once." in long.text
    assert html.escape(many) in long.text or many in long.text
    only_bad = await post_form(
        admin, "/admin/invites/email", {"emails": "nobody\nnowhere@"}, page="/admin/invites"
    )
    assert only_bad.status_code == 400 and "Nothing was sent" in only_bad.text
    assert await Invite.all().count() == 0 and await OutboxMessage.all().count() == 0


async def test_the_mail_page_withholds_the_invitation_link_from_admins(
    app: Starlette, settings: Settings
) -> None:
    admin = await signed_in(app, "ada", "admin")
    sent = await post_form(
        admin, "/admin/invites/email", {"emails": "bea@example.org"}, page="/admin/invites"
    )
    assert sent.status_code == 303
    row = await OutboxMessage.get(kind="invite")
    message = await admin.get(f"/admin/mail/{row.id}")
    assert message.status_code == 200
    assert "signup?invite=" not in message.text and "Link withheld" in message.text
    assert "bea@example.org" in message.text  # whom it went to is shown, not its link


def test_sealing_binds_the_token_to_its_row(settings: Settings) -> None:
    token = "a" * 43
    row = Invite(token_hash=token_digest(token), sealed=invites.seal(settings, token))
    assert invites.unseal(settings, row) == token
    other = Invite(token_hash=token_digest("b" * 43), sealed=row.sealed)
    assert invites.unseal(settings, other) is None
    assert invites.unseal(settings.with_(secret_key="other"), row) is None
    assert invites.unseal(settings, Invite(token_hash="x", sealed="not base64!")) is None


# ---- onboarding: the first visit ----------------------------------------------------------------


async def test_a_new_member_is_welcomed_until_they_open_a_thread(app: Starlette) -> None:
    from tests.test_threads import make_channel

    await make_channel()
    admin = await signed_in(app, "ada", "admin")
    made = await post_form(
        admin,
        "/c/general/threads",
        {"title": "Hello all", "body": "First words."},
        page="/c/general/new",
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    await post_form(admin, f"/t/{tid}/posts", {"body": "Second words."}, page=f"/t/{tid}")
    assert 'id="welcome"' not in (await admin.get("/")).text  # ada has read a thread (hers)
    await make_links(admin, 1)
    token = tokens_in((await admin.get("/admin/invites")).text)[0]
    async with make_client(app) as bea:
        joined = await sign_up_with(bea, token, "bea")
        assert joined.status_code == 303 and joined.headers["location"] == "/?welcome=1"
        home = await bea.get("/?welcome=1")
        box = home.text.split('id="welcome"', 1)[1].split("</section>", 1)[0]
        assert "Welcome to the forum" in box
        for link in ('href="/channels"', 'href="/caucuses"', 'href="/moderation/log"'):
            assert link in box
        assert 'href="/account#email">notification settings' in box
        assert "Hello all" in home.text  # the latest discussions, beside the welcome
        # Her first visit to a thread: nothing is "new since your last visit".
        first = await bea.get(f"/t/{tid}")
        assert "New since your last visit" not in first.text and "is-new" not in first.text
        assert "Jump to first unread" not in first.text
        assert 'id="welcome"' not in (await bea.get("/")).text
        # From then on, what is new is marked.
        await post_form(admin, f"/t/{tid}/posts", {"body": "Third words."}, page=f"/t/{tid}")
        later = await bea.get(f"/t/{tid}")
        assert later.text.index("New since your last visit") < later.text.index("Third words")
    async with make_client(app) as anonymous:
        assert 'id="welcome"' not in (await anonymous.get("/")).text


# ---- the API -----------------------------------------------------------------------------------


async def test_the_api_lists_makes_mails_and_revokes_invites(app: Starlette) -> None:
    admin = await make_member("ada", "admin")
    await make_member("olu")
    full = await accounts.create_api_token(admin, "ops", scopes=["read", "write", "admin"])
    plain = await accounts.create_api_token(admin, "no admin scope", scopes=["read", "write"])
    API = "/api/v1"
    api = f"{API}/invites"
    async with make_client(app) as c:
        auth = {"authorization": f"Bearer {full}"}
        made = await c.post(f"{API}/invites", json={"count": 2, "note": "by API"}, headers=auth)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["refused"] == [] and len(body["invites"]) == 2
        first = body["invites"][0]
        assert first["state"] == "usable" and first["created_by"] == "ada"
        assert first["link"].startswith("http://testserver/signup?invite=")
        mailed = await c.post(
            api, json={"emails": ["bea@example.org", "nope"], "role": "facilitator"}, headers=auth
        )
        assert mailed.status_code == 201
        assert [i["email"] for i in mailed.json()["invites"]] == ["bea@example.org"]
        assert mailed.json()["refused"][0]["line"] == 2
        assert mailed.json()["refused"][0]["address"] == "nope"
        assert await OutboxMessage.filter(kind="invite").count() == 1
        gone = await c.delete(f"{API}/invites/{first['id']}", headers=auth)
        assert gone.status_code == 204
        again = await c.delete(f"{API}/invites/{first['id']}", headers=auth)
        assert again.status_code == 409
        assert (await c.delete(f"{API}/invites/999999", headers=auth)).status_code == 404
        listed = (await c.get(f"{API}/invites", headers=auth)).json()["invites"]
        assert len(listed) == 3
        states = {i["id"]: i["state"] for i in listed}
        assert states[first["id"]] == "revoked"
        revoked = next(i for i in listed if i["id"] == first["id"])
        assert revoked["link"] is None and revoked["revoked_by"] == "ada"
        too_many = await c.post(api, json={"count": 51}, headers=auth)
        assert too_many.status_code == 400 and "count" in too_many.json()["error"]["fields"]
        # Without the admin scope the token acts as a plain member: refused.
        lent = {"authorization": f"Bearer {plain}"}
        assert (await c.get(api, headers=lent)).status_code == 403
        assert (await c.post(api, json={"count": 1}, headers=lent)).status_code == 403
        assert (await c.get(api)).status_code == 401
    assert await Invite.all().count() == 3


async def test_a_sign_up_form_with_a_fault_keeps_the_invite_and_the_text(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await make_links(admin, 1)
    token = tokens_in((await admin.get("/admin/invites")).text)[0]
    async with make_client(app) as bea:
        csrf = await csrf_token(bea, f"/signup?invite={token}")
        form = {"handle": "bea", "email": "bea@example.org", "password": "short", "invite": token}
        refused = await bea.post("/signup", data={**form, "csrf": csrf})
        assert refused.status_code == 400 and "Use at least 10 characters." in refused.text
        assert "This invite can be used once; it was made by @ada" in refused.text
        assert f'name="invite" value="{token}"' in refused.text
        assert 'value="bea@example.org"' in refused.text and 'value="bea"' in refused.text
        joined = await bea.post("/signup", data={**form, "password": PASSWORD, "csrf": csrf})
        assert joined.status_code == 303
    assert (await Invite.get()).used_by_id == (await Member.get(handle_key="bea")).id
