"""Secret ballots on PostgreSQL: while voting is open each ballot shares its writing transaction
(`xmin`) with its voter's flag; the close rewrites both tables' rows for the decision in one
transaction and a random order, so afterwards neither `xmin` nor physical order (`ctid`) links a
voter to a choice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from forum.app import create_app
from forum.db import apply_migrations
from forum.models import Channel
from forum.models.members import TOKEN_SCOPES
from forum.services import accounts
from forum.settings import Settings
from tests.conftest import BASE, make_client, make_member

pytestmark = pytest.mark.postgres
API = "/api/v1"


@pytest.fixture
async def pg_app(postgres_url: str) -> AsyncIterator[Starlette]:
    await apply_migrations(postgres_url)
    app = create_app(Settings(database_url=postgres_url, base_url=BASE, signup="invite"))
    async with app.router.lifespan_context(app):
        yield app


async def _client(app: Starlette, handle: str) -> httpx.AsyncClient:
    member = await make_member(handle)
    token = await accounts.create_api_token(member, "t", scopes=TOKEN_SCOPES)
    client = make_client(app)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def test_closing_a_secret_ballot_unlinks_its_rows_on_postgres(pg_app: Starlette) -> None:
    voters = [await _client(pg_app, f"v{i}") for i in range(6)]
    channel = await Channel.create(name="General", slug="general")
    from forum.models import Thread

    thread = await Thread.create(channel_id=channel.id, title="Vote")
    made = await voters[0].post(
        f"{API}/threads/{thread.id}/decisions",
        json={
            "kind": "motion",
            "title": "Adopt",
            "secret": True,
            "closes_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    did = made.json()["id"]
    for i, client in enumerate(voters):
        position = "agree" if i % 2 else "disagree"
        cast = await client.post(f"{API}/decisions/{did}/votes", json={"position": position})
        assert cast.status_code == 201, cast.text
    conn = connections.get("default")

    async def xmins(table: str) -> set[str]:
        rows = await conn.execute_query_dict(
            f"SELECT xmin::text AS x FROM {table} WHERE decision_id = $1", [did]
        )
        return {r["x"] for r in rows}

    # While voting is open the link exists at this level (documented, out of the forum's reach):
    # each ballot was inserted in a savepoint (its own transaction id) of the transaction that
    # set its voter's flag, so the ids come in adjacent pairs.
    open_ballots = {int(x) for x in await xmins("ballot")}
    open_voters = {int(x) for x in await xmins("decision_voter")}
    assert {x - 1 for x in open_ballots} == open_voters
    closed = await voters[0].post(f"{API}/decisions/{did}/close", json={"reason": "done"})
    assert closed.status_code == 200 and closed.json()["result"]["counts"]["agree"] == 3
    ballot_x, voter_x = await xmins("ballot"), await xmins("decision_voter")
    # One transaction wrote every row now: xmin says nothing about who cast which ballot.
    assert len(ballot_x) == 1 and ballot_x == voter_x
    voters_by_place = await conn.execute_query_dict(
        "SELECT member_id FROM decision_voter WHERE decision_id = $1 ORDER BY ctid", [did]
    )
    ids = [r["member_id"] for r in voters_by_place]
    assert ids == sorted(ids)  # voters in member order, not in the order they voted
    hashes = await conn.execute_query_dict(
        "SELECT receipt_hash FROM ballot WHERE decision_id = $1", [did]
    )
    assert {r["receipt_hash"] for r in hashes} == {None}
