"""Cookies, private answers and sign-in throttles that strangers cannot turn against members,
driven over HTTP as a browser (or an attacker) would."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.errors import RateLimited
from forum.models import Channel, Member, SignInAddress, Thread
from forum.security import Throttle
from forum.services import accounts, channels
from forum.settings import Settings
from tests.conftest import (
    CSRF_RE,
    PASSWORD,
    csrf_token,
    free_port,
    login,
    make_client,
    make_member,
    signed_in,
)

STRAY = 'x=a b; prefs={"a":1}; theme="dark'


@pytest.fixture
async def general(app: Starlette) -> Channel:
    return await channels.create_channel(None, "General", "general")


def session_of(client: httpx.AsyncClient, name: str = "forum_session") -> str:
    value = client.cookies.get(name)
    assert value, f"no {name} cookie"
    return value


# ---- cookies ---------------------------------------------------------------------------------


async def test_cookies_another_app_set_keep_a_member_signed_in_and_posting(
    app: Starlette, general: Channel
) -> None:
    bob = await signed_in(app, "bob")
    token = session_of(bob)
    # A browser sends every cookie of the domain: here ones the forum never set, which the
    # standard library's parser refuses along with every other cookie of the header.
    async with make_client(app) as browser:
        browser.headers["cookie"] = f"{STRAY}; forum_session={token}; y=1"
        page = await browser.get("/c/general/new")
        assert page.status_code == 200
        assert "@bob" in page.text
        match = CSRF_RE.search(page.text)
        assert match
        made = await browser.post(
            "/c/general/threads",
            data={"title": "Still here", "body": "Posted with stray cookies", "csrf": match[1]},
        )
        assert made.status_code == 303, made.text
    assert await Thread.filter(title="Still here").exists()


async def test_cookies_another_app_set_do_not_stop_signing_in(app: Starlette) -> None:
    await make_member("cy")
    async with make_client(app) as browser:
        browser.cookies.set("x", "a b")
        browser.cookies.set("prefs", '{"a":1}')
        response = await login(browser, "cy")
        assert response.status_code == 303, response.text
        assert (await browser.get("/account")).status_code == 200


async def test_two_session_cookies_sign_nobody_in_and_end_both(app: Starlette) -> None:
    for order in range(2):
        victim = await signed_in(app, f"vic{order}")
        attacker = await signed_in(app, f"mallory{order}")
        mine, planted = session_of(victim), session_of(attacker)
        pair = [f"forum_session={planted}", f"forum_session={mine}"]
        async with make_client(app) as browser:
            browser.headers["cookie"] = "; ".join(pair if order else pair[::-1])
            page = await browser.get("/account")
            # Neither cookie is trusted: the visitor is asked to sign in, as nobody.
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
            expired = [c for c in page.headers.get_list("set-cookie") if "forum_session=" in c]
            assert expired and all("Max-Age=0" in c for c in expired), expired
        # The planted session cannot sign the visitor in once their own cookie is gone.
        async with make_client(app) as browser:
            browser.headers["cookie"] = f"forum_session={planted}"
            assert (await browser.get("/account")).status_code == 303
        assert (await victim.get("/account")).status_code == 303
    # One cookie alone still works.
    fresh = await signed_in(app, "walt")
    assert (await fresh.get("/account")).status_code == 200


async def test_https_uses_host_prefixed_secure_cookies(settings: Settings) -> None:
    secure = settings.with_(base_url="https://forum.example")
    app = create_app(secure)
    async with app.router.lifespan_context(app):
        await make_member("hana")
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="https://forum.example") as c:
            first = await c.get("/login")
            csrf_cookie = first.headers["set-cookie"]
            assert csrf_cookie.startswith("__Host-forum_csrf=")
            token = CSRF_RE.search(first.text)
            assert token
            signed = await c.post(
                "/login", data={"handle": "hana", "password": PASSWORD, "csrf": token[1]}
            )
            assert signed.status_code == 303, signed.text
            cookie = next(
                v for v in signed.headers.get_list("set-cookie") if v.startswith("__Host-")
            )
            assert cookie.startswith("__Host-forum_session=")
            attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
            assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
            assert not any(a.startswith("domain") for a in attributes)
            assert "forum_session" not in {k for k in c.cookies if not k.startswith("__Host-")}
            assert (await c.get("/account")).status_code == 200
            # The plain name is not read under https: a planted one signs nobody in.
            async with httpx.AsyncClient(
                transport=transport, base_url="https://forum.example"
            ) as other:
                other.headers["cookie"] = f"forum_session={c.cookies['__Host-forum_session']}"
                assert (await other.get("/account")).status_code == 303


async def test_private_answers_are_not_stored(app: Starlette) -> None:
    member = await signed_in(app, "ned")
    for path in ("/", "/account", "/api/v1/me"):
        response = await member.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    async with make_client(app) as anonymous:
        api = await anonymous.get("/api/v1/me")
        assert api.status_code == 401 and api.headers["cache-control"] == "no-store"
        assert (await anonymous.get("/api/v1/openapi.json")).headers["cache-control"] == "no-store"
        await make_member("ola")
        started = await login(anonymous, "ola")
        assert started.headers["cache-control"] == "no-store"


# ---- sign-in throttles -----------------------------------------------------------------------


async def test_strangers_wrong_passwords_do_not_lock_the_admin_out(app: Starlette) -> None:
    await make_member("root", "admin")
    async with make_client(app, "10.0.0.1") as office:
        assert (await login(office, "root")).status_code == 303
    # Somebody elsewhere guesses the admin's password until the per-handle limit stops them.
    async with make_client(app, "203.0.113.9") as attacker:
        for _ in range(5):
            assert (await login(attacker, "root", "wrong password")).status_code == 400
        assert (await login(attacker, "root", "wrong password")).status_code == 429
    # Guessing from yet another address is still stopped: the handle's limit holds for strangers.
    async with make_client(app, "198.51.100.7") as helper:
        assert (await login(helper, "root", "another guess")).status_code == 429
    # The admin, from where they signed in before, signs in.
    async with make_client(app, "10.0.0.1") as office:
        response = await login(office, "root")
        assert response.status_code == 303, response.text
        assert "@root" in (await office.get("/account")).text


async def test_an_address_is_forgotten_after_thirty_days(app: Starlette) -> None:
    await make_member("rae")
    async with make_client(app, "10.0.0.3") as old_office:
        assert (await login(old_office, "rae")).status_code == 303
    await SignInAddress.filter(member__handle_key="rae").update(
        last_at=accounts.now() - timedelta(days=accounts.KNOWN_ADDRESS_DAYS, minutes=1)
    )
    async with make_client(app, "203.0.113.10") as attacker:
        for _ in range(5):
            assert (await login(attacker, "rae", "wrong password")).status_code == 400
    async with make_client(app, "10.0.0.3") as old_office:
        assert (await login(old_office, "rae")).status_code == 429


async def test_the_per_address_cap_holds_at_a_known_address(app: Starlette) -> None:
    await make_member("pia")
    async with make_client(app, "10.0.0.2") as home:
        assert (await login(home, "pia")).status_code == 303
    async with make_client(app, "10.0.0.2") as home:
        for _ in range(5):
            assert (await login(home, "pia", "wrong password")).status_code == 400
        # Known address or not, the address's own limit stops the guessing, even a right one.
        assert (await login(home, "pia")).status_code == 429


async def test_throttles_still_count_with_redis_down(
    app: Starlette, private_redis: object, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.servers import RedisProcess

    assert isinstance(private_redis, RedisProcess)
    services = app.state.services
    shared = Throttle(private_redis.url)
    services.throttle = shared
    await make_member("quinn")
    try:
        async with make_client(app, "192.0.2.5") as client:
            assert (await login(client, "quinn", "wrong password")).status_code == 400
            private_redis.kill()
            with caplog.at_level(logging.WARNING, logger="forum.security"):
                # The count starts afresh in this process: five more failures, then a refusal.
                for _ in range(5):
                    assert (await login(client, "quinn", "wrong password")).status_code == 400
                assert (await login(client, "quinn", "wrong password")).status_code == 429
        outage = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outage) == 1, "the outage is logged once, not per request"
    finally:
        await shared.close()


async def test_throttle_on_a_closed_port_still_throttles() -> None:
    throttle = Throttle(f"redis://127.0.0.1:{free_port()}/0")
    try:
        for _ in range(3):
            await throttle.hit("3/minute", "test", "closed-port")
        with pytest.raises(RateLimited):
            await throttle.hit("3/minute", "test", "closed-port")
        with pytest.raises(RateLimited):
            await throttle.peek("3/minute", "test", "closed-port")
    finally:
        await throttle.close()


async def test_throttle_counts_in_redis_when_it_is_up(redis_url: str) -> None:
    """Two processes share one count while Redis answers."""
    import uuid

    key = uuid.uuid4().hex
    one, two = Throttle(redis_url), Throttle(redis_url)
    try:
        await one.hit("2/minute", "test", key)
        await two.hit("2/minute", "test", key)
        with pytest.raises(RateLimited):
            await one.hit("2/minute", "test", key)
        assert not one.degraded
    finally:
        await one.clear("2/minute", "test", key)
        await one.close()
        await two.close()


async def test_csrf_token_still_read_from_the_page(client: httpx.AsyncClient) -> None:
    """The anonymous CSRF cookie is written by Starlette's set_cookie, HttpOnly and Lax."""
    page = await client.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("forum_csrf=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert re.search(r"Path=/(;|$)", cookie)
    assert await csrf_token(client) == client.cookies["forum_csrf"]
    assert not await Member.exists(handle_key="nobody")
