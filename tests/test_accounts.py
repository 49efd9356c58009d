"""Sign-up, sign-in, sessions, throttling and CSRF, driven over HTTP as a browser would."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.models import Member, Session
from forum.services import accounts
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

GENERIC = "That handle and password do not match an account that can sign in."


async def signup_form(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    token = await csrf_token(client, path)
    # Self sign-up asks for an address; tests about something else give a made-up one.
    data.setdefault("email", f"{data.get('handle') or 'someone'}@example.org")
    return await client.post("/signup", data={"csrf": token, **data})


async def assert_signed_in_as(client: httpx.AsyncClient, handle: str) -> None:
    page = await client.get("/account")
    assert page.status_code == 200
    assert f"Signed in as <strong>@{handle}</strong>" in page.text


async def assert_not_signed_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/account")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def logout(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client, "/account")
    response = await client.post("/logout", data={"csrf": token})
    assert response.status_code == 303
    page = await client.get("/account")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_invite_signup_then_login_logout_login(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await signed_in(app, "ada", "admin")
    made = await post_form(
        admin, "/admin/invites", {"role": "member", "note": "for Bea"}, page="/admin/invites"
    )
    assert made.status_code == 303
    page = await admin.get(made.headers["location"])
    link = re.search(r'value="(http://testserver/signup\?invite=[^"]+)"', page.text)
    assert link, page.text
    path = link.group(1).removeprefix(BASE)
    form_page = await client.get(path)
    assert 'name="handle"' in form_page.text
    response = await signup_form(
        client,
        path,
        handle="bea",
        display_name="Bea",
        password=PASSWORD,
        invite=path.split("=", 1)[1],
    )
    assert response.status_code == 303
    await assert_signed_in_as(client, "bea")
    await logout(client)
    assert (await login(client, "bea")).status_code == 303
    await assert_signed_in_as(client, "bea")
    # The same link cannot make a second account.
    async with make_client(app) as other:
        # Its page says so instead of showing the form (410 Gone) ...
        gone = await other.get(path)
        assert gone.status_code == 410 and 'name="handle"' not in gone.text
        assert "This invite has already been used" in gone.text
        # ... and a form posted with it anyway (an old tab) is refused the same way.
        again = await signup_form(
            other, "/login", handle="cy", password=PASSWORD, invite=path.split("=", 1)[1]
        )
        assert again.status_code == 400
        assert "This invite has already been used" in again.text
        assert not await Member.exists(handle_key="cy")


async def test_invite_mode_refuses_signup_without_invite(client: httpx.AsyncClient) -> None:
    page = await client.get("/signup")
    assert "Membership is by invitation" in page.text
    token = await csrf_token(client, "/login")
    response = await client.post(
        "/signup", data={"csrf": token, "handle": "eve", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert not await Member.exists(handle_key="eve")


@pytest.fixture
def approval_settings(settings: Settings) -> Settings:
    return settings.with_(signup="approval")


async def test_approval_signup_waits_for_an_admin(approval_settings: Settings) -> None:
    app = create_app(approval_settings)
    async with app.router.lifespan_context(app), make_client(app) as client:
        response = await signup_form(
            client, "/signup", handle="dee", display_name="Dee", password=PASSWORD
        )
        assert response.status_code == 200
        assert "waiting for an admin" in response.text
        refused = await login(client, "dee")
        # The right password: told why, not the generic failure.
        assert refused.status_code == 403
        assert "Your account is waiting for approval" in refused.text
        await assert_not_signed_in(client)
        admin = await signed_in(app, "ada", "admin")
        listing = await admin.get("/admin/members?status=pending")
        assert "@dee" in listing.text
        approved = await post_form(admin, "/admin/members/dee/approve", {}, page="/admin/members")
        assert approved.status_code == 303
        assert (await login(client, "dee")).status_code == 303
        await assert_signed_in_as(client, "dee")
        await logout(client)
        assert (await login(client, "dee")).status_code == 303
        await assert_signed_in_as(client, "dee")


async def test_open_signup_then_login_logout_login(settings: Settings) -> None:
    app = create_app(settings.with_(signup="open"))
    async with app.router.lifespan_context(app), make_client(app) as client:
        response = await signup_form(client, "/signup", handle="Fay", password=PASSWORD)
        assert response.status_code == 303
        await assert_signed_in_as(client, "Fay")
        await logout(client)
        # Handles are case-insensitive at sign-in.
        assert (await login(client, "fay")).status_code == 303
        await assert_signed_in_as(client, "Fay")
    async with app.router.lifespan_context(app), make_client(app) as other:
        taken = await signup_form(other, "/signup", handle="FAY", password=PASSWORD)
        assert taken.status_code == 400 and "That handle is taken." in taken.text


async def test_signup_errors_keep_the_text_and_sit_next_to_their_field(settings: Settings) -> None:
    app = create_app(settings.with_(signup="open"))
    async with app.router.lifespan_context(app), make_client(app) as client:
        response = await signup_form(
            client, "/signup", handle="x" * 40, display_name="Kept Name", password="short"
        )
        assert response.status_code == 400
        assert 'value="Kept Name"' in response.text
        assert 'id="e-handle"' in response.text and 'id="e-password"' in response.text
        assert "A handle has 2 to 32 characters." in response.text
        # The facilitators' group mention keeps its name: no member may take it.
        kept = await signup_form(client, "/signup", handle="Facilitators", password=PASSWORD)
        assert kept.status_code == 400
        assert "That name is kept: @facilitators asks the facilitators." in kept.text
        assert 'value="Facilitators"' in kept.text


async def test_every_failed_login_reads_the_same(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_member("gus")
    await make_member("pat", status="pending")
    await make_member("sue", status="suspended")
    answers = []
    # A wrong password reads the same whoever the handle names: nothing tells who exists or
    # who is pending or suspended (only the right password is told why it cannot sign in).
    for handle, password in (
        ("gus", "wrong password!"),
        ("nobody", PASSWORD),
        ("pat", "wrong password!"),
        ("sue", "wrong password!"),
    ):
        async with make_client(app, address=f"10.0.0.{len(answers) + 1}") as c:
            response = await login(c, handle, password)
            assert response.status_code == 400
            answers.append(re.sub(r'(value|data-csrf)="[^"]*"', "", response.text))
    assert all(GENERIC in a for a in answers)
    assert len(set(answers)) == 1, "the pages differ, which tells who exists"


async def test_sixth_rapid_failure_is_throttled(client: httpx.AsyncClient) -> None:
    await make_member("hal")
    for _ in range(5):
        assert (await login(client, "hal", "not the password")).status_code == 400
    sixth = await login(client, "hal", PASSWORD)
    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) >= 1
    assert "Too many attempts" in sixth.text


async def test_throttle_per_address_covers_many_handles(client: httpx.AsyncClient) -> None:
    for i in range(5):
        assert (await login(client, f"user{i}", "guess guess guess")).status_code == 400
    assert (await login(client, "user9", "guess guess guess")).status_code == 429


async def test_post_without_csrf_token_changes_nothing(app: Starlette) -> None:
    client = await signed_in(app, "ivy")
    response = await client.post("/account/profile", data={"display_name": "Hacked"})
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert (await Member.get(handle_key="ivy")).display_name == "Ivy"


async def test_post_from_another_origin_is_refused(app: Starlette) -> None:
    client = await signed_in(app, "jo")
    token = await csrf_token(client, "/account")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await client.post(
            "/account/profile", data={"display_name": "Hacked", "csrf": token}, headers=headers
        )
        assert response.status_code == 403
    assert (await Member.get(handle_key="jo")).display_name == "Jo"
    ok = await client.post(
        "/account/profile",
        data={"display_name": "Jo Two", "csrf": token},
        headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"},
    )
    assert ok.status_code == 303
    assert (await Member.get(handle_key="jo")).display_name == "Jo Two"


async def test_logout_everywhere_ends_every_session(app: Starlette) -> None:
    laptop = await signed_in(app, "kim")
    phone = make_client(app)
    await login(phone, "kim")
    await assert_signed_in_as(phone, "kim")
    await post_form(laptop, "/logout-all", {})
    assert (await phone.get("/account")).status_code == 303
    assert (await laptop.get("/account")).status_code == 303
    assert await Session.filter(member__handle_key="kim").count() == 0


async def test_password_change_ends_other_sessions(app: Starlette) -> None:
    laptop = await signed_in(app, "lee")
    phone = make_client(app)
    await login(phone, "lee")
    new = "a new long password"
    response = await post_form(
        laptop, "/account/password", {"current": PASSWORD, "new": new, "confirm": new}
    )
    assert response.status_code == 303
    assert (await phone.get("/account")).status_code == 303
    await assert_signed_in_as(laptop, "lee")
    async with make_client(app) as fresh:
        assert (await login(fresh, "lee", PASSWORD)).status_code == 400
        assert (await login(fresh, "lee", new)).status_code == 303


async def test_wrong_current_password_is_shown_next_to_its_field(app: Starlette) -> None:
    client = await signed_in(app, "max")
    response = await post_form(
        client,
        "/account/password",
        {"current": "nope nope nope", "new": "x" * 12, "confirm": "x" * 12},
    )
    assert response.status_code == 400
    assert 'id="e-current"' in response.text


async def test_suspension_ends_sessions_and_blocks_login(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    victim = await signed_in(app, "ned")
    missing_reason = await post_form(
        admin, "/admin/members/ned/suspend", {"reason": " "}, page="/admin/members"
    )
    assert missing_reason.status_code == 400
    assert (await victim.get("/account")).status_code == 200
    response = await post_form(
        admin,
        "/admin/members/ned/suspend",
        {"reason": "repeated harassment", "days": "7"},
        page="/admin/members",
    )
    assert response.status_code == 303
    assert (await victim.get("/account")).status_code == 303
    refused = await login(victim, "ned")
    assert refused.status_code == 403 and "Your account is suspended" in refused.text
    assert "repeated harassment" in refused.text
    assert (await victim.get("/account")).status_code == 303
    log = await admin.get("/admin/members?status=suspended")
    assert "repeated harassment" in log.text


async def test_admin_cannot_suspend_themselves_or_demote_the_last_admin(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    own = await post_form(
        admin, "/admin/members/ada/suspend", {"reason": "test"}, page="/admin/members"
    )
    assert own.status_code == 403
    demote = await post_form(
        admin, "/admin/members/ada/role", {"role": "member"}, page="/admin/members"
    )
    assert demote.status_code == 403
    assert (await Member.get(handle_key="ada")).role == "admin"


async def test_members_cannot_reach_admin_pages(app: Starlette) -> None:
    client = await signed_in(app, "olu")
    assert (await client.get("/admin/members")).status_code == 403
    response = await post_form(client, "/admin/invites", {"role": "admin"})
    assert response.status_code == 403
    async with make_client(app) as anonymous:
        page = await anonymous.get("/admin/members")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/members"


async def test_session_cookie_is_rotated_on_login(app: Starlette) -> None:
    await make_member("pia")
    async with make_client(app) as client:
        await login(client, "pia")
        first = client.cookies.get("forum_session")
        await login(client, "pia")
        second = client.cookies.get("forum_session")
        assert first and second and first != second
        assert await Session.filter(member__handle_key="pia").count() == 1


async def test_old_hash_is_upgraded_at_login(app: Starlette, client: httpx.AsyncClient) -> None:
    from passlib.context import CryptContext

    weak = CryptContext(
        schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__time_cost=1
    )
    member = await make_member("quin")
    member.password_hash = weak.hash(PASSWORD)
    await member.save()
    assert (await login(client, "quin")).status_code == 303
    upgraded = (await Member.get(id=member.id)).password_hash
    assert upgraded != member.password_hash and "m=19456" in upgraded


async def test_expired_idle_session_ends(settings: Settings) -> None:
    app = create_app(settings.with_(session_idle_seconds=0))
    async with app.router.lifespan_context(app):
        client = await signed_in(app, "rue")
        assert (await client.get("/account")).status_code == 303


async def test_bad_input_gets_a_clear_4xx_never_a_500(app: Starlette) -> None:
    client = await signed_in(app, "sam")
    token = await csrf_token(client, "/account")
    big = await client.post(
        "/account/profile",
        content=b"x" * 400_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413 and "too large" in big.text
    bad_utf8 = await client.post(
        "/account/profile",
        content=b"csrf=" + token.encode() + b"&display_name=%ff%fe\xff",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status_code in (303, 400)
    missing = await client.post("/account/password", data={"csrf": token})
    assert missing.status_code == 400
    huge_handle = await login(client, "h" * 10_000, "x")
    assert huge_handle.status_code == 400
    not_a_form = await client.post(
        "/account/profile",
        content=b"{}",
        headers={"content-type": "application/json", "x-csrf-token": token},
    )
    assert not_a_form.status_code == 400
    wrong_method = await client.delete("/account")
    assert wrong_method.status_code == 405 and "does not accept" in wrong_method.text
    nowhere = await client.get("/no/such/page")
    assert nowhere.status_code == 404 and "There is nothing here" in nowhere.text


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/", "/login", "/missing", "/static/css/forum.css"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


async def test_cli_creates_members_and_tokens(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        member = await accounts.create_member(services, "tess", PASSWORD, "facilitator")
        token = await accounts.create_api_token(member)
        assert (await accounts.api_token_member(token)) is not None
        assert (await accounts.api_token_member(token + "x")) is None


async def test_a_crash_shows_a_page_that_leaks_nothing(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.services import channels

    async def broken(ctx: object) -> None:
        raise RuntimeError("secret caucus Survivors table exploded")

    monkeypatch.setattr(channels, "open_channels", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        page = await client.get("/channels")
        api = await client.get("/api/v1/channels")
    assert page.status_code == 500 and "Something went wrong on our side" in page.text
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"
    for response in (page, api):
        assert "Survivors" not in response.text and "RuntimeError" not in response.text
