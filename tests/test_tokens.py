"""Personal API tokens: listed, created and revoked by their member (page and API), expiring,
revoked by "sign out everywhere" and a password change, and held to their scopes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import ApiToken, Channel, Member, Thread
from forum.services import channels, tokens
from tests.conftest import PASSWORD, make_client, make_member, post_form, signed_in

API = "/api/v1"
STATEMENT = {
    "title": "On chairs",
    "body": "Chairs rotate.",
    "author": "Steering Group",
    "external_id": "chairs-1",
}


@pytest.fixture
async def general(app: Starlette) -> Channel:
    return await channels.create_channel(None, "General", "general")


def bearer(app: Starlette, token: str) -> httpx.AsyncClient:
    client = make_client(app)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def page_csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/")
    match = re.search(r'<body data-csrf="([^"]+)"', page.text)
    assert match
    return match.group(1)


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    code: str = response.json()["error"]["code"]
    return code


async def new_token_on_page(client: httpx.AsyncClient, name: str, **extra: str) -> str:
    page = await post_form(
        client, "/account/tokens", {"name": name, **extra}, page="/account/tokens"
    )
    assert page.status_code == 200, page.text
    assert "shown this once only" in page.text
    match = re.search(r'id="new-token" readonly value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


# ---- the page --------------------------------------------------------------------------------


async def test_tokens_page_lists_creates_once_and_revokes(app: Starlette) -> None:
    ann = await signed_in(app, "ann")
    account = await ann.get("/account")
    assert 'href="/account/tokens"' in account.text
    empty = await ann.get("/account/tokens")
    assert empty.status_code == 200 and "You have no API tokens." in empty.text
    assert empty.headers["cache-control"] == "no-store"

    secret = await new_token_on_page(ann, "backup script", expires_days="30")
    listed = await ann.get("/account/tokens")
    assert "backup script" in listed.text and secret not in listed.text  # shown once only
    assert "never" in listed.text  # not used yet
    row = await ApiToken.get(label="backup script")
    assert row.scopes == "read" and row.expires_at is not None

    async with bearer(app, secret) as script:
        assert (await script.get(f"{API}/me")).json()["handle"] == "ann"
    await row.refresh_from_db()
    assert row.last_used_at is not None
    assert "never" not in (await ann.get("/account/tokens")).text

    revoked = await post_form(ann, f"/account/tokens/{row.id}/revoke", {}, page="/account/tokens")
    assert revoked.status_code == 303
    after = await ann.get(revoked.headers["location"])
    assert "no longer works" in after.text and "backup script" not in after.text
    async with bearer(app, secret) as script:
        assert error_code(await script.get(f"{API}/me"), 401) == "unauthenticated"


async def test_tokens_page_errors_sit_next_to_their_field(app: Starlette) -> None:
    bo = await signed_in(app, "bo")
    for data, field in (
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "x", "expires_days": "soon"}, "expires_days"),
        ({"name": "x", "expires_days": "0"}, "expires_days"),
    ):
        page = await post_form(bo, "/account/tokens", data, page="/account/tokens")
        assert page.status_code == 400
        assert f'id="e-{field}"' in page.text
    assert not await ApiToken.exists()


async def test_another_members_token_cannot_be_revoked(app: Starlette) -> None:
    cat = await make_member("cat")
    theirs = await tokens.create_api_token(cat, "theirs")
    row = await ApiToken.get(label="theirs")
    dan = await signed_in(app, "dan")
    page = await post_form(dan, f"/account/tokens/{row.id}/revoke", {}, page="/account/tokens")
    assert page.status_code == 404
    async with bearer(app, theirs) as script:
        assert (await script.get(f"{API}/me")).status_code == 200


# ---- the API ---------------------------------------------------------------------------------


async def test_api_lists_creates_and_revokes_tokens(app: Starlette) -> None:
    eve = await signed_in(app, "eve")
    headers = {"x-csrf-token": await page_csrf(eve)}
    made = await eve.post(
        f"{API}/tokens", json={"name": "ci", "scopes": ["write"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "ci" and body["scopes"] == ["read", "write"]
    assert body["expires_at"] is None and body["last_used_at"] is None
    secret, token_id = body["token"], body["id"]

    listed = await eve.get(f"{API}/tokens")
    assert listed.headers["cache-control"] == "no-store"
    tokens = listed.json()["tokens"]
    assert [t["name"] for t in tokens] == ["ci"] and "token" not in tokens[0]

    async with bearer(app, secret) as ci:
        assert (await ci.get(f"{API}/tokens")).status_code == 200
        # A write token may not mint an admin one.
        wider = await ci.post(f"{API}/tokens", json={"name": "more", "scopes": ["admin"]})
        assert error_code(wider, 403) == "forbidden"
        narrower = await ci.post(f"{API}/tokens", json={"name": "reader"})
        assert narrower.status_code == 201 and narrower.json()["scopes"] == ["read"]

    assert (await eve.delete(f"{API}/tokens/{token_id}", headers=headers)).status_code == 204
    assert error_code(await eve.delete(f"{API}/tokens/{token_id}", headers=headers), 404)
    async with bearer(app, secret) as ci:
        assert error_code(await ci.get(f"{API}/me"), 401) == "unauthenticated"
    # "reader" was made by "ci", so revoking "ci" revoked it too.
    assert (await eve.get(f"{API}/tokens")).json()["tokens"] == []


async def test_api_token_input_errors_name_their_field(app: Starlette) -> None:
    fay = await signed_in(app, "fay")
    headers = {"x-csrf-token": await page_csrf(fay)}
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "x", "scopes": "write"}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "expires_days": 0}, "expires_days"),
        ({"name": "x", "expires_days": "7"}, "expires_days"),
        ({"name": "x", "expires_days": 10**6}, "expires_days"),
    ]
    for data, field in cases:
        response = await fay.post(f"{API}/tokens", json=data, headers=headers)
        assert response.status_code == 400, (data, response.text)
        assert field in response.json()["error"]["fields"], data
    assert error_code(await fay.delete(f"{API}/tokens/abc", headers=headers), 404)
    assert error_code(await make_client(app).get(f"{API}/tokens"), 401)


async def test_openapi_documents_the_token_endpoints(app: Starlette) -> None:
    doc = (await make_client(app).get(f"{API}/openapi.json")).json()
    assert set(doc["paths"]["/tokens"]) == {"get", "post"}
    assert set(doc["paths"]["/tokens/{token_id}"]) == {"delete"}
    assert "Token" in doc["components"]["schemas"]


# ---- when tokens stop working ----------------------------------------------------------------


async def test_an_expired_token_is_refused(app: Starlette) -> None:
    gus = await make_member("gus")
    secret = await tokens.create_api_token(gus, "short", expires_days=1)
    async with bearer(app, secret) as script:
        assert (await script.get(f"{API}/me")).status_code == 200
        await ApiToken.filter(label="short").update(expires_at=tokens.now() - timedelta(seconds=1))
        refused = await script.get(f"{API}/me")
        assert error_code(refused, 401) == "unauthenticated"
        assert "expired" in refused.json()["error"]["message"]


async def test_sign_out_everywhere_revokes_tokens(app: Starlette) -> None:
    hal = await signed_in(app, "hal")
    secret = await new_token_on_page(hal, "phone app", scope_write="1")
    async with bearer(app, secret) as script:
        assert (await script.get(f"{API}/me")).status_code == 200
        assert (await post_form(hal, "/logout-all", {})).status_code == 303
        assert (await script.get(f"{API}/me")).status_code == 401


async def test_a_password_change_revokes_tokens(app: Starlette) -> None:
    ida = await signed_in(app, "ida")
    secret = await new_token_on_page(ida, "feed reader")
    async with bearer(app, secret) as script:
        assert (await script.get(f"{API}/me")).status_code == 200
        changed = await post_form(
            ida,
            "/account/password",
            {"current": PASSWORD, "new": "a brand new password", "confirm": "a brand new password"},
        )
        assert changed.status_code == 303
        assert (await script.get(f"{API}/me")).status_code == 401
    # The browser that changed it stays signed in and sees no live token.
    assert "You have no API tokens." in (await ida.get("/account/tokens")).text


# ---- scopes ----------------------------------------------------------------------------------


async def test_a_read_token_cannot_change_anything(app: Starlette, general: Channel) -> None:
    jo = await make_member("jo")
    secret = await tokens.create_api_token(jo, "reader")  # read is the default
    async with bearer(app, secret) as reader:
        assert (await reader.get(f"{API}/channels/general/threads")).status_code == 200
        refused = await reader.post(
            f"{API}/channels/general/threads", json={"title": "No", "body": "Not allowed"}
        )
        assert error_code(refused, 403) == "forbidden"
        assert "read" in refused.json()["error"]["message"]
        assert error_code(await reader.delete(f"{API}/tokens/1"), 403) == "forbidden"
    assert not await Thread.exists()
    writer = await tokens.create_api_token(jo, "writer", scopes=["write"])
    async with bearer(app, writer) as client:
        made = await client.post(
            f"{API}/channels/general/threads", json={"title": "Yes", "body": "Allowed"}
        )
        assert made.status_code == 201, made.text


async def test_admin_powers_need_the_admin_scope(app: Starlette) -> None:
    await channels.create_channel(None, "Statements", "statements", public=True)
    kay = await make_member("kay", "admin")
    plain = await tokens.create_api_token(kay, "bot", scopes=["write"])
    async with bearer(app, plain) as bot:
        # The admin's own account is reachable; the admin's powers are not.
        assert (await bot.get(f"{API}/me")).json()["role"] == "admin"
        assert error_code(await bot.post(f"{API}/statements", json=STATEMENT), 403) == "forbidden"
    full = await tokens.create_api_token(kay, "publisher", scopes=["write", "admin"])
    async with bearer(app, full) as publisher:
        created = await publisher.post(f"{API}/statements", json=STATEMENT)
        assert created.status_code == 201, created.text


# ---- the command line ------------------------------------------------------------------------


def test_create_token_command_names_scopes_and_expiry(tmp_path: Path) -> None:
    from tests.test_cli import forum

    assert forum(tmp_path, "migrate").returncode == 0
    made = forum(
        tmp_path, "create-member", "lu", "--password-stdin", stdin="a long enough password\n"
    )
    assert made.returncode == 0
    out = forum(
        tmp_path,
        "create-token",
        "lu",
        "--name",
        "cron",
        "--scope",
        "write",
        "--expires-days",
        "7",
    )
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip()) >= 40
    bad = forum(tmp_path, "create-token", "lu", "--name", "x", "--expires-days", "0")
    assert bad.returncode == 1 and "expires_days" in bad.stderr and "Traceback" not in bad.stderr
    wrong = forum(tmp_path, "create-token", "lu", "--scope", "root")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


async def test_last_used_is_written_at_most_once_a_minute(app: Starlette) -> None:
    mo = await make_member("mo")
    secret = await tokens.create_api_token(mo, "poller")
    recently = tokens.now() - timedelta(seconds=30)
    await ApiToken.filter(label="poller").update(last_used_at=recently)
    async with bearer(app, secret) as poller:
        assert (await poller.get(f"{API}/me")).status_code == 200
        assert (await ApiToken.get(label="poller")).last_used_at == recently
        await ApiToken.filter(label="poller").update(last_used_at=recently - timedelta(minutes=1))
        assert (await poller.get(f"{API}/me")).status_code == 200
        assert (await ApiToken.get(label="poller")).last_used_at > recently


async def test_a_suspension_revokes_tokens_as_it_ends_sessions(app: Starlette) -> None:
    """Found in review: a suspension ended the member's sessions but only paused their tokens,
    which worked again the moment the member was reinstated (a token made by whoever had taken
    over the account, the reason for the suspension, came back with it)."""
    lee = await signed_in(app, "lee")
    admin = await signed_in(app, "ada", "admin")
    secret = await new_token_on_page(lee, "sync script", scope_write="1")
    async with bearer(app, secret) as script:
        assert (await script.get(f"{API}/me")).status_code == 200
        suspended = await post_form(
            admin, "/admin/members/lee/suspend", {"reason": "Account taken over", "days": ""}
        )
        assert suspended.status_code == 303, suspended.text
        assert error_code(await script.get(f"{API}/me"), 401) == "unauthenticated"
        reinstated = await post_form(
            admin, "/admin/members/lee/unsuspend", {"reason": "Password reset by the member"}
        )
        assert reinstated.status_code == 303, reinstated.text
        assert error_code(await script.get(f"{API}/me"), 401) == "unauthenticated"
    assert not await ApiToken.filter(member__handle_key="lee", revoked_at=None).exists()


async def test_a_token_cannot_mint_one_that_outlives_it(app: Starlette) -> None:
    """Found in review: a token may create tokens within its scopes, but nothing bounded their
    expiry, so a one-day token (say, lent to a script that leaked) made a token that never
    expires: the expiry bounded nothing."""
    mo = await make_member("mo")
    brief = await tokens.create_api_token(mo, "one day", scopes=["write"], expires_days=1)
    async with bearer(app, brief) as script:
        forever = await script.post(f"{API}/tokens", json={"name": "forever"})
        assert error_code(forever, 400) == "invalid"
        assert "expires_days" in forever.json()["error"]["fields"]
        longer = await script.post(f"{API}/tokens", json={"name": "month", "expires_days": 30})
        assert error_code(longer, 400) == "invalid"
        same = await script.post(f"{API}/tokens", json={"name": "day", "expires_days": 1})
        assert same.status_code == 201, same.text
    made = await ApiToken.filter(member_id=mo.id).order_by("id")
    assert [t.label for t in made] == ["one day", "day"]
    assert made[1].expires_at is not None and made[0].expires_at is not None
    assert made[1].expires_at <= made[0].expires_at


async def test_revoking_a_token_revokes_the_tokens_it_made(app: Starlette) -> None:
    """Found in review: a leaked write token can mint tokens of its own scopes before its owner
    revokes it; revoking the leaked one revokes those too."""
    ned = await signed_in(app, "ned")
    headers = {"x-csrf-token": await page_csrf(ned)}
    owner = await Member.get(handle="ned")
    leaked = await tokens.create_api_token(owner, "leaked", scopes=["write"])
    own = await tokens.create_api_token(owner, "own script")
    async with bearer(app, leaked) as thief:
        minted = await thief.post(f"{API}/tokens", json={"name": "backup", "scopes": ["write"]})
        assert minted.status_code == 201
    async with bearer(app, minted.json()["token"]) as copy:
        again = await copy.post(f"{API}/tokens", json={"name": "backup of the backup"})
        assert again.status_code == 201
    leaked_id = (await ApiToken.get(label="leaked", member_id=owner.id)).id
    assert (await ned.delete(f"{API}/tokens/{leaked_id}", headers=headers)).status_code == 204
    for made in (minted, again):
        async with bearer(app, made.json()["token"]) as kept:
            assert error_code(await kept.get(f"{API}/me"), 401) == "unauthenticated"
    # The member's own tokens, made from their session, are not the leaked token's.
    async with bearer(app, own) as mine:
        assert (await mine.get(f"{API}/me")).status_code == 200
    listed = (await ned.get(f"{API}/tokens")).json()["tokens"]
    assert [t["name"] for t in listed] == ["own script"]
