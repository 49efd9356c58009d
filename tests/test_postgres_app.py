"""The app's pages on PostgreSQL, in-process: the hand-written SQL (prepared joins, page rows,
search, the outbox) must speak PostgreSQL as well as SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.db import apply_migrations
from forum.services import channels
from forum.settings import Settings
from tests.conftest import BASE, make_client, post_form, signed_in

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_app(postgres_url: str) -> AsyncIterator[Starlette]:
    await apply_migrations(postgres_url)
    app = create_app(Settings(database_url=postgres_url, base_url=BASE, signup="invite"))
    async with app.router.lifespan_context(app):
        yield app


async def test_threads_replies_search_and_caucuses_on_postgres(pg_app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(pg_app, "amara")
    bo = await signed_in(pg_app, "bo")
    made = await post_form(
        amara,
        "/c/general/threads",
        {"title": "Rent strike", "body": "Tenants are organising."},
        page="/c/general/new",
    )
    assert made.status_code == 303, made.text
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    reply = await post_form(
        bo, f"/t/{tid}/posts", {"body": "Count me in, @amara."}, page=f"/t/{tid}"
    )
    assert reply.status_code == 303, reply.text
    page = await amara.get(f"/t/{tid}")
    assert page.status_code == 200 and "Count me in" in page.text
    assert "New since your last visit" in page.text
    again = await amara.get(f"/t/{tid}")
    assert "New since your last visit" not in again.text
    found = await bo.get("/search", params={"q": "tenants organising"})
    assert "Rent strike" in found.text and "<mark>" in found.text
    assert "@bo mentioned you in “Rent strike”" in (await amara.get("/notifications")).text
    founded = await post_form(
        amara,
        "/caucuses",
        {"name": "Renters", "listed": "0", "join_policy": "invite"},
        page="/caucuses",
    )
    slug = founded.headers["location"].rsplit("/", 1)[1]
    secret = await post_form(
        amara,
        f"/c/{slug}-talk/threads",
        {"title": "Private tactics", "body": "tenants only"},
        page=f"/c/{slug}-talk/new",
    )
    assert secret.status_code == 303
    assert "Private tactics" not in (await bo.get("/search", params={"q": "tenants"})).text
    assert (await bo.get(secret.headers["location"])).status_code == 404
    api = await amara.get(f"/api/v1/threads/{tid}")
    assert api.status_code == 200 and len(api.json()["posts"]) == 2
    async with make_client(pg_app) as anonymous:
        assert (await anonymous.get(f"/t/{tid}")).status_code == 404


async def found_caucus(client: httpx.AsyncClient, name: str) -> str:
    data = {"name": name, "listed": "0", "join_policy": "invite"}
    founded = await post_form(client, "/caucuses", data, page="/caucuses")
    assert founded.status_code == 303, founded.text
    return str(founded.headers["location"].rsplit("/", 1)[1])


async def test_a_caucus_member_searches_open_channels_and_their_caucus_only(
    pg_app: Starlette,
) -> None:
    # The caucus ids were numbered one placeholder off ($2 for the first id, which was the
    # search words): every member with a caucus seat got a 500 (integer = text).
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(pg_app, "amara")
    bo = await signed_in(pg_app, "bo")
    renters = await found_caucus(amara, "Renters")
    owners = await found_caucus(bo, "Owners")
    for client, path, title in (
        (amara, "/c/general", "Open tenants meeting"),
        (amara, f"/c/{renters}-talk", "Renters tenants tactics"),
        (bo, f"/c/{owners}-talk", "Owners tenants worries"),
    ):
        made = await post_form(
            client,
            f"{path}/threads",
            {"title": title, "body": "About the tenants."},
            page=f"{path}/new",
        )
        assert made.status_code == 303, made.text
    found = await amara.get("/search", params={"q": "tenants"})
    assert found.status_code == 200
    assert "Open tenants meeting" in found.text and "Renters tenants tactics" in found.text
    assert "Owners" not in found.text
    api = await amara.get("/api/v1/search", params={"q": "tenants"})
    assert api.status_code == 200
    assert "Owners tenants worries" not in api.text and "Renters tenants tactics" in api.text
    theirs = await bo.get("/search", params={"q": "tenants"})
    assert "Owners tenants worries" in theirs.text and "Renters" not in theirs.text
