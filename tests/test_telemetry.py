"""What operators see: one JSON log line per request with the fields they need and none of a
caucus's words, Prometheus metrics behind a token, the probes, and HSTS under https."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from forum.app import create_app
from forum.logs import REQUEST_LOGGER, JsonFormatter
from forum.models import Member
from forum.readiness import redis_problem
from forum.services.demo import DEMO_PASSWORD
from forum.settings import Settings
from tests.conftest import free_port, make_client, make_member, signed_in
from tests.servers import AppProcess

API = "/api/v1"
TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """The `forum.request` lines, formatted as `forum serve` writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_each_request_logs_one_json_line_with_its_route_template(
    app: Starlette, request_log: io.StringIO
) -> None:
    amara = await signed_in(app, "amara")
    request_log.truncate(0)
    request_log.seek(0)
    page = await amara.get("/c/some-caucus-channel", headers={"x-request-id": "edge-1234abcd"})
    assert page.status_code == 404
    assert page.headers["x-request-id"] == "edge-1234abcd"
    odd = await amara.get("/account", headers={"x-request-id": "not an id\r"})
    made = odd.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)
    await make_client(app).get("/nowhere/at-all")
    (first, second, third) = lines(request_log)
    member = (await amara.get(f"{API}/me")).json()
    assert first == {
        **first,
        "event": "request",
        "request_id": "edge-1234abcd",
        "method": "GET",
        "route": "/c/{slug}",
        "status": 404,
        "member": first["member"],
    }
    assert isinstance(first["member"], int) and first["member"] > 0
    assert member["handle"] == "amara"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert first["time"].endswith("Z") and first["level"] == "info"  # type: ignore[union-attr]
    assert second["route"] == "/account" and second["request_id"] == made
    assert third["route"] == "(unmatched)" and third["status"] == 404
    assert third["member"] is None
    assert "some-caucus-channel" not in request_log.getvalue()
    assert "nowhere" not in request_log.getvalue()


async def test_metrics_answer_only_the_token_and_count_requests_by_route(
    settings: Settings,
) -> None:
    app = create_app(settings.with_(metrics_token=TOKEN))
    async with app.router.lifespan_context(app), make_client(app) as c:
        assert (await c.get("/metrics")).status_code == 404
        assert (
            await c.get("/metrics", headers={"authorization": "Bearer wrong"})
        ).status_code == 404
        await c.get("/c/a-slug")
        await c.get("/login")
        app.state.metrics.add_gauge("forum_outbox_backlog", "Emails waiting", lambda: 7)

        async def members() -> float:
            return float(await Member.all().count())

        async def broken() -> float:
            raise RuntimeError("no such table")

        app.state.metrics.add_async_gauge("forum_members", "Member accounts", members)
        app.state.metrics.add_async_gauge("forum_broken", "A reading that fails", broken)
        await make_member("dee")
        scraped = await c.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert 'forum_requests_total{method="GET",route="/c/{slug}",status="404"} 1.0' in text
    assert 'forum_requests_total{method="GET",route="/login",status="200"} 1.0' in text
    assert 'forum_requests_total{method="GET",route="/metrics",status="404"} 2.0' in text
    assert 'forum_request_duration_seconds_bucket{le="0.005",route="/login"}' in text
    for name in (
        "forum_open_sockets 0.0",
        "forum_events_dispatched_total",
        "forum_frames_delivered_total",
        "forum_broker_reconnects_total 0.0",
        "forum_db_pool_size 1.0",
        "forum_db_pool_in_use",
        "forum_outbox_backlog 7.0",
        "forum_outbox_oldest_seconds 0.0",
        "forum_members 1.0",
    ):
        assert name in text
    assert "forum_broken" not in text  # a reading that fails is left out, the rest stand
    assert "a-slug" not in text


async def test_metrics_are_off_without_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics", headers={"authorization": "Bearer "})).status_code == 404


async def test_readyz_says_what_is_not_ready(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "database": "ok",
        "migrations": "ok",
        "redis": "not configured",
    }
    conn = connections.get("default")
    await conn.execute_query(
        "DELETE FROM tortoise_migrations WHERE name = (SELECT max(name) FROM tortoise_migrations)"
    )
    behind = await client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["migrations"].startswith("1 migration(s) not applied")
    assert await redis_problem(f"redis://127.0.0.1:{free_port()}/0") == (
        "Redis is not reachable (ConnectionError)"
    )


async def test_hsts_only_when_the_base_url_is_https(settings: Settings) -> None:
    for base, expected in (("https://forum.example.org", True), ("http://testserver", False)):
        app = create_app(settings.with_(base_url=base))
        async with app.router.lifespan_context(app), make_client(app) as c:
            response = await c.get("/login")
        assert ("strict-transport-security" in response.headers) is expected


# ---- a caucus-heavy run of a real server: nothing private in its log ---------------------------

NAME = "Quiet Harbour Tenants Caucus"
DESCRIPTION = "Organising against the Marlowe Street evictions"
TITLE = "Rent strike timetable for block seven"
BODY = "We meet at the laundrette on Thursday; bring the Petrakis letters."
REPLY = "Agreed, and the zanzibar-orchid fund covers the bus."
SEARCH = "zanzibar-orchid"


def forum_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_a_caucus_heavy_run_leaves_no_caucus_words_or_secrets_in_the_log(
    tmp_path: Path, template_db: Path
) -> None:
    db = tmp_path / "forum.sqlite3"
    shutil.copy(template_db, db)
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite://{db}", "FORUM_METRICS_TOKEN": TOKEN}
    forum_cli(env, "demo")
    amara_token = forum_cli(env, "create-token", "amara", "--scope", "read", "--scope", "write")
    bo_token = forum_cli(env, "create-token", "bo", "--scope", "read", "--scope", "write")
    log = tmp_path / "server.log"
    server = AppProcess(
        free_port(),
        {"FORUM_DATABASE_URL": env["FORUM_DATABASE_URL"], "FORUM_METRICS_TOKEN": TOKEN},
        log,
    )
    server.start()
    secrets_seen: list[str] = [amara_token, bo_token]
    clients: list[httpx.Client] = []
    try:
        amara = httpx.Client(
            base_url=server.url, headers={"authorization": f"Bearer {amara_token}"}, timeout=20
        )
        bo = httpx.Client(
            base_url=server.url, headers={"authorization": f"Bearer {bo_token}"}, timeout=20
        )
        clients += [amara, bo]
        made = amara.post(
            f"{API}/caucuses",
            json={"name": NAME, "description": DESCRIPTION, "listed": False},
        )
        assert made.status_code == 201, made.text
        slug = made.json()["slug"]
        channel = amara.get(f"{API}/caucuses/{slug}").json()["channels"][0]["slug"]
        thread = amara.post(
            f"{API}/channels/{channel}/threads", json={"title": TITLE, "body": BODY}
        )
        assert thread.status_code == 201, thread.text
        thread_id = thread.json()["id"]
        assert (
            amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "@bo"}).status_code == 204
        )
        assert bo.post(f"{API}/caucuses/{slug}/accept").status_code == 204
        replied = bo.post(f"{API}/threads/{thread_id}/posts", json={"body": REPLY})
        assert replied.status_code == 201, replied.text
        assert SEARCH in amara.get(f"{API}/search", params={"q": SEARCH}).text
        # Refusals and errors that name the caucus in their request.
        too_long = amara.post(
            f"{API}/channels/{channel}/threads", json={"title": TITLE * 20, "body": BODY}
        )
        assert too_long.status_code == 400
        forged = clients[0].get(
            f"{API}/caucuses/{slug}", headers={"authorization": f"Bearer {bo_token}x"}
        )
        assert forged.status_code == 401
        # The pages, with a browser session.
        with httpx.Client(base_url=server.url, timeout=20) as browser:
            token = re.search(r'name="csrf" value="([^"]*)"', browser.get("/login").text)
            assert token
            signed = browser.post(
                "/login",
                data={"handle": "amara", "password": DEMO_PASSWORD, "csrf": token.group(1)},
            )
            assert signed.status_code == 303
            secrets_seen.append(browser.cookies["forum_session"])
            for path in (
                f"/caucuses/{slug}",
                f"/caucuses/{slug}/log",
                f"/c/{channel}",
                f"/t/{thread_id}",
                f"/search?q={SEARCH}",
            ):
                page = browser.get(path)
                assert page.status_code == 200, path
            assert NAME in browser.get(f"/caucuses/{slug}").text
        scraped = httpx.get(f"{server.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
    finally:
        for client in clients:
            client.close()
        server.stop()
    text = log.read_text()
    requests = [json.loads(line) for line in text.splitlines() if '"event":"request"' in line]
    assert len(requests) >= 15
    for line in requests:
        assert {"request_id", "method", "route", "status", "duration_ms", "member"} <= set(line)
    routes = {line["route"] for line in requests}
    assert {"/api/v1/caucuses", "/caucuses/{slug}", "/c/{slug}", "/t/{thread_id}"} <= routes
    assert any(line["member"] for line in requests)
    private = [NAME, DESCRIPTION, TITLE, BODY, REPLY, SEARCH, slug, channel, *secrets_seen]
    words = ["Quiet Harbour", "Marlowe", "laundrette", "Petrakis", "zanzibar", "amara", "@bo"]
    for needle in private + words:
        assert needle not in text, f"{needle!r} is in the server's log"
        assert needle not in scraped.text, f"{needle!r} is in /metrics"


async def test_a_bearer_request_says_so_without_the_token(
    app: Starlette, request_log: io.StringIO
) -> None:
    from forum.services import tokens

    member = await make_member("cy")
    token = await tokens.create_api_token(member, "ci", scopes=["read"])
    async with make_client(app) as c:
        assert (await c.get(f"{API}/me", headers={"authorization": f"Bearer {token}"})).is_success
    (line,) = lines(request_log)
    assert line["via"] == "token" and line["member"] == member.id
    assert token not in request_log.getvalue()


async def test_invite_tokens_never_reach_the_request_log(
    app: Starlette, request_log: io.StringIO
) -> None:
    from forum.models import Invite
    from tests.conftest import PASSWORD, csrf_token, post_form

    admin = await signed_in(app, "ada", "admin")
    made = await post_form(admin, "/admin/invites", {"count": "2"}, page="/admin/invites")
    listing = await admin.get(made.headers["location"])
    tokens = sorted(set(re.findall(r"signup\?invite=([\w-]+)", listing.text)))
    assert len(tokens) == 2
    async with make_client(app) as bea:
        assert (await bea.get(f"/signup?invite={tokens[0]}")).status_code == 200
        form = {"handle": "bea", "email": "bea@example.org", "password": PASSWORD}
        csrf = await csrf_token(bea, "/login")
        joined = await bea.post("/signup", data={**form, "csrf": csrf, "invite": tokens[0]})
        assert joined.status_code == 303
        assert (await bea.get(f"/signup?invite={tokens[0]}")).status_code == 410
    unused = await Invite.get(used_by_id=None)
    await post_form(admin, f"/admin/invites/{unused.id}/revoke", {}, page="/admin/invites")
    log = request_log.getvalue()
    for token in tokens:
        assert token not in log
    routes = {line["route"] for line in lines(request_log)}
    assert {"/signup", "/admin/invites", "/admin/invites/{invite_id}/revoke"} <= routes
    assert "made=" not in log and "invite=" not in log
