"""Statements as threads, nested replies, edits, mentions, unread markers and search, as a
member sees them over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
from starlette.applications import Starlette

from forum.importers import parse_path
from forum.models import Channel, Notification, Post, Statement, Thread
from forum.models.ids import distinct_ids
from forum.services import channels, posting, statements
from forum.services.demo import STATEMENT
from tests.conftest import make_client, make_member, post_form, signed_in

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "statements"
ISO = SHARED / "on-the-dissolution-of-the-iso.txt" if SHARED.is_dir() else STATEMENT


async def make_channel(slug: str = "general", name: str = "General") -> Channel:
    return await channels.create_channel(None, name, slug)


async def import_iso(**changes: object):  # type: ignore[no-untyped-def]
    if not await Channel.exists(slug="statements"):
        await make_channel("statements", "Statements")
    data = parse_path(ISO, default_author="rs21 Steering Group")[0]
    data = replace(data, external_id="file:iso", **changes)  # type: ignore[arg-type]
    return await statements.publish(None, data)


async def reply(
    client: httpx.AsyncClient, thread_id: int, body: str, parent: int | None = None
) -> httpx.Response:
    data = {"body": body}
    if parent is not None:
        data["parent_id"] = str(parent)
    return await post_form(client, f"/t/{thread_id}/posts", data, page=f"/t/{thread_id}")


def post_id_from(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_shared_statement_becomes_a_readable_thread(app: Starlette) -> None:
    result = await import_iso()
    assert result.outcome == "created"
    client = await signed_in(app, "amara")
    page = await client.get(f"/t/{result.thread.id}")
    assert page.status_code == 200
    assert "<h1>On the dissolution of the ISO</h1>" in page.text
    assert "Statement by rs21 Steering Group" in page.text
    assert "Please enter your comment" not in page.text
    assert "Please enter your name here" not in page.text
    assert (
        '<p class="caption small muted">The original shows a photo here, not copied into the '
        "forum: “Photo via the ISO”</p>"
    ) in page.text
    article = page.text.split('<article class="statement"', 1)[1].split("</article>", 1)[0]
    assert article.count("<p>") >= 6
    assert "dissolveThe" not in article


async def test_reimport_is_idempotent_and_an_amendment_is_a_version(app: Starlette) -> None:
    first = await import_iso()
    again = await import_iso()
    assert again.outcome == "unchanged"
    assert await Statement.all().count() == 1 and await Thread.filter(seeded=True).count() == 1
    client = await signed_in(app, "amara")
    early = post_id_from(await reply(client, first.thread.id, "Answering the first text."))
    amended_body = first.statement.body.replace(
        "voted to dissolve itself", "voted, after long debate, to dissolve itself"
    )
    amended = await import_iso(body=amended_body)
    assert amended.outcome == "amended" and amended.statement.version == 2
    assert await Thread.filter(seeded=True).count() == 1
    late = post_id_from(await reply(client, first.thread.id, "Answering the amended text."))
    assert (await Post.get(id=early)).statement_version == 1
    assert (await Post.get(id=late)).statement_version == 2
    page = await client.get(f"/t/{first.thread.id}")
    assert "amended" in page.text and "answered version 1" in page.text
    versions = await client.get(f"/s/{first.statement.id}/versions")
    assert "<del>voted</del> <ins>voted, after long debate,</ins>" in versions.text
    # Re-importing by the same source URL also finds it.
    by_url = await statements.publish(
        None, replace(parse_path(ISO, default_author="X")[0], external_id="file:iso")
    )
    assert by_url.statement.id == first.statement.id


async def test_replies_nest_in_reading_order_on_three_levels(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice,
        "/c/general/threads",
        {"title": "Rotating chairs", "body": "Should chairs rotate?"},
        page="/c/general/new",
    )
    assert made.status_code == 303
    thread_id = int(made.headers["location"].rsplit("/", 1)[1])
    a = post_id_from(await reply(bob, thread_id, "A: yes, monthly."))
    b = post_id_from(await reply(alice, thread_id, "B: what about continuity?"))
    a1 = post_id_from(await reply(alice, thread_id, "A1: monthly is too short", parent=a))
    a1x = post_id_from(await reply(bob, thread_id, "A1x: quarterly then", parent=a1))
    a2 = post_id_from(await reply(alice, thread_id, "A2: agreed", parent=a))
    page = await bob.get(f"/t/{thread_id}")
    order = [int(x) for x in re.findall(r'<li class="post[^"]*" id="p(\d+)"', page.text)]
    opening = order[0]
    assert order == [opening, a, a1, a1x, a2, b]
    depths = dict(
        re.findall(r'id="p(\d+)" data-post="\d+" data-path="\w+" data-depth="(\d)"', page.text)
    )
    assert depths[str(a1x)] == "2" and depths[str(a)] == "0"
    # A reply to a reply is nested inside its parent's list of replies.
    a_block = page.text.split(f'id="p{a}"', 1)[1].split(f'id="p{b}"', 1)[0]
    assert f'id="p{a1x}"' in a_block and "2 replies to @bob" in a_block


async def test_bad_replies_get_clear_errors_and_keep_the_text(app: Starlette) -> None:
    await make_channel()
    await make_channel("other", "Other")
    alice = await signed_in(app, "alice")
    t1 = await post_form(
        alice, "/c/general/threads", {"title": "One", "body": "first"}, page="/c/general/new"
    )
    t2 = await post_form(
        alice, "/c/other/threads", {"title": "Two", "body": "second"}, page="/c/other/new"
    )
    one = int(t1.headers["location"].rsplit("/", 1)[1])
    two = int(t2.headers["location"].rsplit("/", 1)[1])
    other_post = (await Post.filter(thread_id=two).first()).id  # type: ignore[union-attr]
    empty = await reply(alice, one, "   \n  ")
    assert empty.status_code == 400 and "the post is empty" in empty.text
    elsewhere = await reply(alice, one, "my careful words", parent=other_post)
    assert elsewhere.status_code == 400
    assert "That post is not in this thread." in elsewhere.text
    assert "my careful words" in elsewhere.text
    doomed = post_id_from(await reply(alice, one, "soon gone"))
    assert (await post_form(alice, f"/p/{doomed}/delete", {})).status_code == 303
    to_deleted = await reply(alice, one, "still here", parent=doomed)
    assert to_deleted.status_code == 400 and "was deleted" in to_deleted.text
    assert "still here" in to_deleted.text
    huge = await reply(alice, one, "x" * 60_000)
    assert huge.status_code == 400 and "at most 50,000 characters" in huge.text
    megabyte = await reply(alice, one, "y" * 1_000_000)
    assert megabyte.status_code == 413
    control = post_id_from(await reply(alice, one, "bell\x07 and nul\x00 removed"))
    assert (await Post.get(id=control)).body == "bell and nul removed"
    assert await Post.filter(thread_id=one).count() == 3  # opening, "soon gone", control


async def test_deleted_post_shows_deleted_and_keeps_replies(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "T", "body": "opening"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    parent = post_id_from(await reply(alice, tid, "regrettable words"))
    post_id_from(await reply(bob, tid, "a reply that stays", parent=parent))
    refused = await post_form(bob, f"/p/{parent}/delete", {})
    assert refused.status_code == 403
    await post_form(alice, f"/p/{parent}/delete", {})
    page = await bob.get(f"/t/{tid}")
    assert "regrettable words" not in page.text
    assert "This post was deleted by its author." in page.text
    assert "a reply that stays" in page.text


async def test_edit_keeps_history_readable_by_readers(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "T", "body": "first draft"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    opening = (await Post.get(thread_id=tid)).id
    assert (await post_form(bob, f"/p/{opening}/edit", {"body": "vandal"})).status_code == 403
    edited = await post_form(alice, f"/p/{opening}/edit", {"body": "second draft"})
    assert edited.status_code == 303
    page = await bob.get(f"/t/{tid}")
    assert "second draft" in page.text and f'href="/p/{opening}/history"' in page.text
    history = await bob.get(f"/p/{opening}/history")
    assert "first draft" in history.text and "second draft" in history.text
    empty_edit = await post_form(alice, f"/p/{opening}/edit", {"body": ""})
    assert empty_edit.status_code == 400


async def test_mention_notifies_the_member_who_sees_it(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "Minutes", "body": "notes"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    await reply(alice, tid, "Could @Bob take the minutes? Not @nobody.")
    home = await bob.get("/")
    assert 'data-unread="1"' in home.text
    notes = await bob.get("/notifications")
    assert "@alice mentioned you in “Minutes”" in notes.text
    page = await bob.get(f"/t/{tid}")
    assert (
        '<a href="/m/bob" class="mention" rel="nofollow ugc noopener noreferrer">@Bob</a>'
        in page.text
    )
    # Opening the thread settled the notification that pointed to it.
    assert 'data-unread="0"' in (await bob.get("/")).text
    await post_form(bob, "/notifications/read", {})
    assert 'data-unread="0"' in (await bob.get("/")).text
    # Replying to bob notifies bob; bob replying to himself does not.
    bob_post = await Post.filter(author__handle_key="bob").first()
    assert bob_post is None
    mine = post_id_from(await reply(bob, tid, "Happy to."))
    await reply(alice, tid, "Thanks!", parent=mine)
    await reply(bob, tid, "No problem.", parent=mine)
    kinds = await Notification.filter(member__handle_key="bob").values_list("kind", flat=True)
    assert sorted(kinds) == ["mention", "reply"]


async def test_unread_divider_and_thread_list_markers(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "Budget", "body": "numbers"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    listing = await bob.get("/c/general")
    assert "Unread: </span>" in listing.text
    first = await bob.get(f"/t/{tid}")
    # bob's first visit: nothing is "new since your last visit" (there was none).
    assert 'id="first-unread"' not in first.text and "is-new" not in first.text
    seen = await bob.get(f"/t/{tid}")
    assert 'id="first-unread"' not in seen.text
    assert "Unread" not in (await bob.get("/c/general")).text.split('id="thread-list"')[1]
    new = post_id_from(await reply(alice, tid, "a new line item"))
    listing = await bob.get("/c/general")
    assert "New replies: </span>" in listing.text
    page = await bob.get(f"/t/{tid}")
    divider_at = page.text.index("New since your last visit")
    assert page.text.index(f'id="p{new}"') < divider_at < page.text.index("a new line item")
    assert 'href="#first-unread"' in page.text


async def test_client_key_makes_a_retried_submit_post_once(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    made = await post_form(
        alice, "/c/general/threads", {"title": "T", "body": "b"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    for _ in range(2):
        response = await post_form(
            alice, f"/t/{tid}/posts", {"body": "once only", "key": "k-123"}, page=f"/t/{tid}"
        )
        assert response.status_code == 303
    assert await Post.filter(thread_id=tid, body="once only").count() == 1


async def test_markdown_is_sanitised_in_the_page(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    made = await post_form(
        alice,
        "/c/general/threads",
        {
            "title": "<script>alert('t')</script>",
            "body": "<script>alert(1)</script> [x](javascript:alert(1)) "
            "<img src=x onerror=alert(1)>",
        },
        page="/c/general/new",
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    page = await alice.get(f"/t/{tid}")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in page.text
    assert 'href="javascript' not in page.text and "<img" not in page.text


async def test_search_finds_readable_posts_with_highlights(app: Starlette) -> None:
    await make_channel()
    alice = await signed_in(app, "alice")
    made = await post_form(
        alice,
        "/c/general/threads",
        {"title": "Housing campaign", "body": "Tenants unions are organising rent strikes."},
        page="/c/general/new",
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    await reply(alice, tid, "The <b>strike</b> committee meets Tuesday.")
    page = await alice.get("/search", params={"q": "strikes"})
    assert "Housing campaign" in page.text
    assert "<mark>strikes</mark>" in page.text or "<mark>strike</mark>" in page.text
    assert "&lt;b&gt;" in page.text or "<mark>" in page.text
    assert "Nothing found" in (await alice.get("/search", params={"q": "zebra"})).text
    weird = await alice.get("/search", params={"q": '"unbalanced AND OR ( * NEAR'})
    assert weird.status_code == 200
    async with make_client(app) as anonymous:
        assert "Housing campaign" not in (await anonymous.get("/search?q=strikes")).text


async def bulk_thread(channel: Channel, author_id: int, n: int) -> Thread:
    thread = await Thread.create(channel_id=channel.id, title=f"{n} posts", author_id=author_id)
    ids = distinct_ids(n, await Post.all().values_list("id", flat=True))
    posts = [
        Post(
            id=ids[i],
            thread_id=thread.id,
            path=posting.path_segment(i // 10) + (posting.path_segment(i % 10) if i % 10 else ""),
            depth=1 if i % 10 else 0,
            seq=i + 1,
            author_id=author_id,
            body=f"post {i}",
            html=f"<p>post {i}</p>",
        )
        for i in range(n)
    ]
    await Post.bulk_create(posts, batch_size=500)
    await Thread.filter(id=thread.id).update(post_count=n, last_post_id=ids[-1], last_post_seq=n)
    return thread


async def test_thread_page_costs_the_same_queries_for_10_or_1000_posts(
    app: Starlette, queries: list[str]
) -> None:
    channel = await make_channel()
    reader = await signed_in(app, "reader")
    author = await make_member("writer")
    small = await bulk_thread(channel, author.id, 10)
    large = await bulk_thread(channel, author.id, 1000)
    counts = []
    for thread in (small, large, small, large):
        queries.clear()
        response = await reader.get(f"/t/{thread.id}")
        assert response.status_code == 200 and "post 1" in response.text
        counts.append(len(queries))
    # First visits: the session (with the member's seats), the thread (with the reader's
    # marker, draft, reactions and bookmarks), posts, decisions, and the read marker moved.
    # Later visits find posts and decisions cached and write nothing: two queries.
    assert counts[0] == counts[1] and counts[2] == counts[3]
    assert counts[0] <= 5, queries
    assert counts[2] <= 2, queries


async def test_two_tabs_opening_a_thread_at_once_both_load(app: Starlette) -> None:
    import asyncio

    await make_channel()
    alice = await signed_in(app, "alice")
    bob = await signed_in(app, "bob")
    made = await post_form(
        alice, "/c/general/threads", {"title": "T", "body": "b"}, page="/c/general/new"
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    pages = await asyncio.gather(*(bob.get(f"/t/{tid}") for _ in range(6)))
    assert [p.status_code for p in pages] == [200] * 6
    from forum.models import ReadMarker

    assert await ReadMarker.filter(member__handle_key="bob", thread_id=tid).count() == 1
