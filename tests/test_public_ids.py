"""No id tells about hidden areas: ids that reach pages, the API and live frames are random,
so the gap between two public ids says nothing of what was written between them where the
reader cannot look; and everything once ordered by id still comes in order, each item once."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate as migrate_api
from tortoise.transactions import in_transaction

from forum.db import apply_migrations, sql_for, tortoise_config
from forum.models import (
    Channel,
    Member,
    ModerationAction,
    Notification,
    Post,
    ReadMarker,
    Thread,
)
from forum.models.ids import ID_LIMIT
from forum.services import channels, notifications
from forum.settings import Settings
from tests.conftest import BASE, make_member, post_form, signed_in
from tests.test_api import API, reply, start, token_client
from tests.test_api_caucuses import found


@pytest.fixture
def settings(database_url: str) -> Settings:
    """These tests write many posts quickly: the posting pace is not what they are about."""
    return replace(
        Settings(database_url=database_url, base_url=BASE, secret_key="test", signup="invite"),
        post_rate="1000/minute",
        new_member_post_rate="1000/minute",
    )


@pytest.fixture
async def general(app: Starlette) -> Channel:
    return await channels.create_channel(None, "General", "general")


def tells_nothing(ids: list[int]) -> None:
    """Ids in the order they were made: a sequence would climb in small steps; random ids are
    spread over the whole range and climb in no order."""
    assert len(set(ids)) == len(ids)
    assert all(0 < i < ID_LIMIT for i in ids)
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    assert max(ids) - min(ids) > 2**24


async def log_ids(client: httpx.AsyncClient) -> list[tuple[int, str]]:
    response = await client.get(f"{API}/moderation/log")
    assert response.status_code == 200, response.text
    return [(e["id"], e["reason"]) for e in response.json()["entries"]]


async def hide(client: httpx.AsyncClient, post_id: int, reason: str) -> None:
    response = await client.post(f"{API}/posts/{post_id}/hide", json={"reason": reason})
    assert response.status_code in (200, 204), response.text


async def test_a_caucus_only_log_entry_leaves_no_gap_in_the_public_log(
    app: Starlette, general: Channel
) -> None:
    amara = await token_client(app, "amara")
    cy = await token_client(app, "cy")
    fran = await token_client(app, "fran", "facilitator")
    talk = f"{(await found(amara, 'Survivors', listed=False, join_policy='invite'))['slug']}-talk"
    tid = await start(cy, title="Budget")
    first = (await reply(cy, tid, "first heated line"))["id"]
    second = (await reply(cy, tid, "second heated line"))["id"]
    caucus_response = await amara.post(
        f"{API}/channels/{talk}/threads", json={"title": "Inside", "body": "our own"}
    )
    assert caucus_response.status_code == 201, caucus_response.text
    caucus_post = (await reply(amara, caucus_response.json()["id"], "off purpose"))["id"]

    await hide(fran, first, "public one")
    await hide(amara, caucus_post, "the caucus's own")
    await hide(fran, second, "public two")

    # An outsider reads the two public entries, newest first, and learns nothing from the ids.
    (b, reason_b), (a, reason_a) = await log_ids(cy)
    assert (reason_b, reason_a) == ("public two", "public one")
    assert abs(b - a) > 2  # a sequence gives b == a + 2: one hidden entry between
    hidden = (await ModerationAction.get(post_id=caucus_post)).id
    assert hidden not in (a + 1, b - 1)


async def test_log_ids_across_many_entries_are_no_sequence_and_the_log_keeps_its_order(
    app: Starlette, general: Channel
) -> None:
    cy = await token_client(app, "cy")
    fran = await token_client(app, "fran", "facilitator")
    tid = await start(cy, title="Many")
    post_id = (await reply(cy, tid, "a line"))["id"]
    for n in range(12):
        await hide(fran, post_id, f"hidden {n}")
        restored = await fran.post(f"{API}/posts/{post_id}/restore", json={"reason": f"back {n}"})
        assert restored.status_code in (200, 204), restored.text
    entries = await log_ids(cy)
    reasons = [r for n in range(12) for r in (f"hidden {n}", f"back {n}")]
    assert [reason for _, reason in entries] == list(reversed(reasons))
    tells_nothing([i for i, _ in reversed(entries)])


async def test_thread_and_post_ids_do_not_count_caucus_activity(
    app: Starlette, general: Channel
) -> None:
    amara = await token_client(app, "amara")
    cy = await token_client(app, "cy")
    talk = f"{(await found(amara, 'Survivors', listed=False, join_policy='invite'))['slug']}-talk"
    before = await start(cy, title="Before")
    before_post = (await reply(cy, before, "before"))["id"]
    inside = await amara.post(
        f"{API}/channels/{talk}/threads", json={"title": "Inside", "body": "ours"}
    )
    assert inside.status_code == 201, inside.text
    for n in range(3):
        await reply(amara, inside.json()["id"], f"inside {n}")
    after = await start(cy, title="After")
    after_post = (await reply(cy, after, "after"))["id"]
    assert abs(after - before) > 2 and abs(after_post - before_post) > 5

    # Many posts in one thread: ids in no order, the thread still in writing order.
    ids = [(await reply(cy, before, f"line {n}"))["id"] for n in range(16)]
    tells_nothing(ids)
    page = (await cy.get(f"{API}/threads/{before}")).json()
    assert [p["id"] for p in page["posts"]][-16:] == ids
    threads = [await start(cy, title=f"T{n}") for n in range(8)]
    tells_nothing(threads)


async def test_new_posts_are_marked_by_writing_order_not_by_id(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "Budget", "body": "numbers"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    for n in range(6):
        await post_form(alice, f"/t/{tid}/posts", {"body": f"old line {n}"}, page=f"/t/{tid}")
    await bob.get(f"/t/{tid}")
    new = []
    for n in range(6):
        done = await post_form(alice, f"/t/{tid}/posts", {"body": f"new line {n}"})
        new.append(int(done.headers["location"].rsplit("/", 1)[1]))
    page = (await bob.get(f"/t/{tid}")).text
    marked = [int(i) for i in re.findall(r'<li class="post is-new[^"]*" id="p(\d+)"', page)]
    assert marked == new
    assert page.index('id="first-unread"') > page.index(f'id="p{new[0]}"')
    assert 'id="first-unread"' not in (await bob.get(f"/t/{tid}")).text
    # The author's own posts are never new to them.
    assert "is-new" not in (await alice.get(f"/t/{tid}")).text


async def test_notifications_page_by_time_each_once(app: Starlette) -> None:
    bo = await make_member("bo")
    client = await signed_in(app, "cy")
    cy = await Member.get(handle_key="cy")
    start_at = datetime(2026, 1, 1, tzinfo=UTC)
    # Some share a moment, so the order falls back to the id among them.
    for n in range(notifications.PAGE * 2 + 7):
        await Notification.create(
            member_id=cy.id,
            actor_id=bo.id,
            kind="reply",
            text=f"note {n}",
            created_at=start_at + timedelta(seconds=n // 3),
        )
    seen: list[str] = []
    before: Any = None
    while True:
        params = {"before": before} if before else {}
        answer = (await client.get(f"{API}/notifications", params=params)).json()
        seen += [n["text"] for n in answer["notifications"]]
        before = answer["next"]
        if before is None:
            break
    assert len(seen) == len(set(seen)) == notifications.PAGE * 2 + 7
    rows = await Notification.filter(member_id=cy.id).order_by("-created_at", "-id")
    assert seen == [r.text for r in rows]


async def test_thread_list_pages_each_thread_once_in_order(
    app: Starlette, general: Channel
) -> None:
    cy = await token_client(app, "cy")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(channels.THREADS_PER_PAGE * 2 + 5):
        await Thread.create(
            channel_id=general.id, title=f"t{n}", last_activity_at=moment + timedelta(n // 4)
        )
    titles: list[str] = []
    page = 1
    while True:
        answer = (await cy.get(f"{API}/channels/general/threads", params={"page": page})).json()
        titles += [t["title"] for t in answer["threads"]]
        if not answer["more"]:
            break
        page += 1
    expected = await Thread.filter(channel_id=general.id).order_by(
        "-pinned", "-last_activity_at", "-id"
    )
    assert titles == [t.title for t in expected]
    assert len(set(titles)) == len(titles) == channels.THREADS_PER_PAGE * 2 + 5


async def test_review_queue_keeps_flagging_order(app: Starlette, general: Channel) -> None:
    cy = await token_client(app, "cy")
    bo = await token_client(app, "bo")
    fran = await token_client(app, "fran", "facilitator")
    tid = await start(cy, title="Flagged")
    posts = [(await reply(cy, tid, f"line {n}"))["id"] for n in range(8)]
    for pid in posts:
        flagged = await bo.post(f"{API}/posts/{pid}/flags", json={"reason": "spam"})
        assert flagged.status_code == 201, flagged.text
    items = (await fran.get(f"{API}/review")).json()["items"]
    assert [i["post"]["id"] if i.get("post") else i["post_id"] for i in items] == posts
    tells_nothing([i["id"] for i in items])


async def _collide_and_go_on() -> None:
    taken = await Channel.create(name="First", slug="first")
    async with in_transaction() as conn:
        again = Channel(id=taken.id, name="Second", slug="second")
        await again.save(using_db=conn)
        assert again.id != taken.id
        # The transaction goes on after the taken id.
        await Channel.create(name="Third", slug="third", using_db=conn)
        # Another constraint still refuses, and still leaves the transaction usable.
        with pytest.raises(IntegrityError):
            await Channel.create(name="Dup", slug="third", using_db=conn)
        await Channel.create(name="Fourth", slug="fourth", using_db=conn)
    assert await Channel.filter(slug__in=["second", "third", "fourth"]).count() == 3


async def test_a_taken_random_id_is_drawn_again_on_sqlite(app: Starlette) -> None:
    await _collide_and_go_on()


@pytest.mark.postgres
async def test_a_taken_random_id_is_drawn_again_on_postgres(postgres_url: str) -> None:
    await apply_migrations(postgres_url)
    await Tortoise.init(config=tortoise_config(postgres_url))
    try:
        await _collide_and_go_on()
        conn = Tortoise.get_connection("default")
        rows = await conn.execute_query_dict(
            "SELECT column_default FROM information_schema.columns "
            "WHERE table_name = 'post' AND column_name = 'id'"
        )
        assert rows[0]["column_default"] is None  # no sequence left to fall back to
    finally:
        await Tortoise.close_connections()


async def _rows_of_an_older_forum_keep_their_ids_and_markers(url: str) -> None:
    config = tortoise_config(url)
    await migrate_api(config=config, target="forum.0002_search")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        conn = Tortoise.get_connection("default")
        when = datetime(2026, 1, 1, tzinfo=UTC)
        # Rows as that release wrote them (today's models have columns it did not have).
        await conn.execute_query(
            sql_for(
                conn,
                "INSERT INTO member (id, handle, handle_key, display_name, password_hash, role, "
                "status, created_at, unread_notifications, event_seq) "
                "VALUES (1, 'old', 'old', 'Old', 'x', 'member', 'active', ?, 0, 0)",
            ),
            [when],
        )
        member_id = 1
        channel_id = (await Channel.create(id=5, name="Old", slug="old")).id
        await conn.execute_query(
            sql_for(
                conn,
                "INSERT INTO thread (id, channel_id, title, seeded, pinned, locked, "
                "slow_mode_seconds, post_count, root_children, last_post_id, created_at, "
                "last_activity_at, event_seq) VALUES (7, ?, 'Old', ?, ?, ?, 0, 3, 3, 13, ?, ?, 0)",
            ),
            [channel_id, False, False, False, when, when],
        )
        for n, pid in enumerate((11, 12, 13)):
            await conn.execute_query(
                sql_for(
                    conn,
                    "INSERT INTO post (id, thread_id, path, depth, child_count, body, html, "
                    "renderer_version, created_at, hidden, deleted) "
                    "VALUES (?, 7, ?, 0, 0, 'b', 'b', 1, ?, ?, ?)",
                ),
                [pid, f"000{n}", when, False, False],
            )
        await conn.execute_query(
            sql_for(
                conn,
                "INSERT INTO read_marker (member_id, thread_id, last_read_post_id) "
                "VALUES (?, 7, 12)",
            ),
            [member_id],
        )
    finally:
        await Tortoise.close_connections()
    await apply_migrations(url)
    await Tortoise.init(config=config)
    try:
        # Old posts are numbered by their old ids, so old markers keep meaning what they did.
        posts = await Post.filter(thread_id=7).order_by("path")
        assert [(p.id, p.seq) for p in posts] == [(11, 11), (12, 12), (13, 13)]
        thread = await Thread.get(id=7)
        assert (thread.last_post_id, thread.last_post_seq) == (13, 13)
        assert [m.last_read_seq for m in await ReadMarker.all()] == [12]
        # New rows take random ids beside the old ones.
        fresh = await Post.create(thread_id=7, path="0003", body="new", html="new", seq=14)
        assert fresh.id not in (11, 12, 13)
    finally:
        await Tortoise.close_connections()


async def test_rows_of_an_older_forum_keep_their_ids_and_markers_on_sqlite(
    tmp_path: Path,
) -> None:
    await _rows_of_an_older_forum_keep_their_ids_and_markers(f"sqlite://{tmp_path / 'old.sqlite3'}")


@pytest.mark.postgres
async def test_rows_of_an_older_forum_keep_their_ids_and_markers_on_postgres(
    postgres_url: str,
) -> None:
    await _rows_of_an_older_forum_keep_their_ids_and_markers(postgres_url)
