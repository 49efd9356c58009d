"""Reactions and bookmarks as members use them over HTTP: the page's buttons without
JavaScript, the JSON API, caucus privacy, bad input, and the thread page's query count."""

from __future__ import annotations

import asyncio
import re

import httpx
from starlette.applications import Starlette
from tortoise import Tortoise

from forum.models import Bookmark, Member, Post, Reaction
from forum.models.reactions import REACTIONS
from tests.conftest import make_client, post_form, signed_in
from tests.test_caucuses import found
from tests.test_threads import bulk_thread, make_channel, post_id_from, reply

API = "/api/v1"


async def csrf_of(client: httpx.AsyncClient) -> str:
    match = re.search(r'data-csrf="([^"]*)"', (await client.get("/account")).text)
    assert match
    return match.group(1)


async def start(client: httpx.AsyncClient, slug: str = "general", body: str = "Opening") -> int:
    made = await post_form(
        client, f"/c/{slug}/threads", {"title": "Rent strike", "body": body}, page=f"/c/{slug}/new"
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


def button(page: str, post_id: int, kind: str) -> str:
    """The reaction button of one post and kind, as the page draws it."""
    match = re.search(
        rf'<button[^>]*formaction="/p/{post_id}/react"[^>]*value="{kind}"[^>]*>.*?</button>',
        page,
    )
    assert match, f"no {kind} button for post {post_id}"
    return match.group(0)


async def test_reacting_without_javascript_counts_and_toggles(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "We meet on Thursday."))
    page = (await bo.get(f"/t/{tid}")).text
    assert 'id="post-acts"' in page and 'name="csrf"' in page
    # Nobody has reacted: no pills, only "React", which without JavaScript opens the full
    # choice on the reactions page.
    assert f'formaction="/p/{pid}/react"' not in page
    assert f'<a class="react" href="/p/{pid}/reactions" data-react="{pid}">React</a>' in page
    choice = (await bo.get(f"/p/{pid}/reactions")).text
    assert "Your reaction" in choice and "Nobody has reacted yet." in choice
    for name in ("Agree", "Love", "Thanks", "Solidarity", "Thinking"):
        assert f'aria-pressed="false" title="{name}"><span>{name}</span>' in choice

    done = await post_form(bo, f"/p/{pid}/react", {"kind": "agree"}, page=f"/p/{pid}/reactions")
    assert done.status_code == 303 and done.headers["location"] == f"/p/{pid}"
    await post_form(amara, f"/p/{pid}/react", {"kind": "agree"}, page=f"/t/{tid}")
    await post_form(amara, f"/p/{pid}/react", {"kind": "solidarity"}, page=f"/t/{tid}")
    page = (await bo.get(f"/t/{tid}")).text
    agree = button(page, pid, "agree")
    assert 'aria-pressed="true"' in agree and '<span class="n">2</span>' in agree
    solidarity = button(page, pid, "solidarity")
    assert 'aria-pressed="false"' in solidarity and '<span class="n">1</span>' in solidarity
    assert f'href="/p/{pid}/reactions">Who reacted' in page

    # Pressing again takes the reaction back.
    await post_form(bo, f"/p/{pid}/react", {"kind": "agree"}, page=f"/t/{tid}")
    agree = button((await bo.get(f"/t/{tid}")).text, pid, "agree")
    assert 'aria-pressed="false"' in agree and '<span class="n">1</span>' in agree
    assert (await Post.get(id=pid)).reaction_counts == "agree:1 solidarity:1"

    who = await bo.get(f"/p/{pid}/reactions")
    assert who.status_code == 200
    assert "Solidarity (1)" in who.text and 'href="/m/amara"' in who.text
    assert "Agree (1)" in who.text
    # Bo's own choice shows pressed there only after Bo chose it; Amara's is Amara's.
    assert 'aria-pressed="false" title="Solidarity"' in who.text
    await post_form(bo, f"/p/{pid}/react", {"kind": "thanks"}, page=f"/p/{pid}/reactions")
    again = (await bo.get(f"/p/{pid}/reactions")).text
    assert 'aria-pressed="true" title="Thanks"' in again and "Thanks (1)" in again
    # The emoji never travel in the page: the stylesheet draws them.
    page = (await bo.get(f"/t/{tid}")).text
    assert not any(emoji in page for _, emoji, _ in REACTIONS)


async def test_reaction_api_and_bad_input(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "A proposal"))
    headers = {"X-CSRF-Token": await csrf_of(bo)}
    made = await bo.post(f"{API}/posts/{pid}/reactions/heart", headers=headers)
    assert made.status_code == 200, made.text
    heart = next(r for r in made.json()["reactions"] if r["kind"] == "heart")
    assert heart == {
        "kind": "heart",
        "emoji": "❤️",
        "name": "Love",
        "count": 1,
        "mine": True,
        "members": [{"handle": "bo", "display_name": "Bo"}],
    }
    again = await bo.post(f"{API}/posts/{pid}/reactions/heart", headers=headers)
    assert next(r for r in again.json()["reactions"] if r["kind"] == "heart")["count"] == 1
    assert await Reaction.filter(post_id=pid).count() == 1

    seen = await amara.get(f"{API}/posts/{pid}/reactions")
    assert next(r for r in seen.json()["reactions"] if r["kind"] == "heart")["mine"] is False

    unknown = await bo.post(f"{API}/posts/{pid}/reactions/angry", headers=headers)
    assert unknown.status_code == 400
    assert "agree, heart" in unknown.json()["error"]["message"]
    unknown_form = await post_form(bo, f"/p/{pid}/react", {"kind": "angry"}, page=f"/t/{tid}")
    assert unknown_form.status_code == 400 and "There is no reaction called that" in (
        unknown_form.text
    )
    missing = await bo.post(f"{API}/posts/999999/reactions/heart", headers=headers)
    assert missing.status_code == 404
    no_csrf = await bo.post(f"{API}/posts/{pid}/reactions/heart")
    assert no_csrf.status_code == 403

    gone = await bo.delete(f"{API}/posts/{pid}/reactions/heart", headers=headers)
    assert gone.status_code == 200
    assert next(r for r in gone.json()["reactions"] if r["kind"] == "heart")["count"] == 0
    assert (await Post.get(id=pid)).reaction_counts == ""

    async with make_client(app) as anonymous:
        refused = await anonymous.post(f"{API}/posts/{pid}/reactions/heart")
        assert refused.status_code == 401


async def test_no_reactions_on_hidden_posts(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "Something rude"))
    hidden = await post_form(fran, f"/p/{pid}/hide", {"reason": "Personal attack"}, f"/t/{tid}")
    assert hidden.status_code == 303, hidden.text
    page = (await fran.get(f"/t/{tid}")).text
    assert f'formaction="/p/{pid}/react"' not in page
    refused = await post_form(fran, f"/p/{pid}/react", {"kind": "agree"}, page=f"/t/{tid}")
    assert refused.status_code == 403
    api = await fran.post(
        f"{API}/posts/{pid}/reactions/agree", headers={"X-CSRF-Token": await csrf_of(fran)}
    )
    assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    assert await Reaction.filter(post_id=pid).count() == 0


async def test_bookmarks_without_javascript_and_by_api(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    first = post_id_from(await reply(amara, tid, "Minutes of the first meeting"))
    second = post_id_from(await reply(amara, tid, "Leaflet draft"))
    assert "No bookmarks yet" in (await bo.get("/bookmarks")).text
    done = await post_form(bo, f"/p/{first}/bookmark", {}, page=f"/t/{tid}")
    assert done.status_code == 303 and done.headers["location"] == f"/p/{first}"
    headers = {"X-CSRF-Token": await csrf_of(bo)}
    made = await bo.post(f"{API}/bookmarks", json={"post_id": second}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["post"]["id"] == second
    page = (await bo.get(f"/t/{tid}")).text
    assert re.search(rf'data-bookmark="{first}" aria-pressed="true">Bookmarked<', page)
    listed = (await bo.get("/bookmarks")).text
    # Newest first.
    assert listed.index("Leaflet draft") < listed.index("Minutes of the first meeting")
    data = (await bo.get(f"{API}/bookmarks")).json()
    assert [b["post"]["id"] for b in data["bookmarks"]] == [second, first]
    assert data["more"] is False
    # Toggling the page's button takes it away; the API's DELETE too.
    await post_form(bo, f"/p/{first}/bookmark", {}, page=f"/t/{tid}")
    assert (await bo.delete(f"{API}/bookmarks/{second}", headers=headers)).status_code == 204
    assert "No bookmarks yet" in (await bo.get("/bookmarks")).text
    assert await Bookmark.filter(member__handle="bo").count() == 0
    # Someone else's list is their own.
    assert "Leaflet" not in (await amara.get("/bookmarks")).text
    assert (await bo.get("/bookmarks?page=0")).status_code == 400
    assert (await bo.get("/bookmarks?page=x")).status_code == 400


async def test_bookmarks_page_in_pages(app: Starlette) -> None:
    channel = await make_channel()
    bo = await signed_in(app, "bo")
    thread = await bulk_thread(channel, (await Member.get(handle_key="bo")).id, 25)
    ids = await Post.filter(thread_id=thread.id).order_by("seq").values_list("id", flat=True)
    for pid in ids:
        done = await post_form(bo, f"/p/{pid}/bookmark", {}, page=f"/t/{thread.id}")
        assert done.status_code == 303
    first = await bo.get("/bookmarks")
    assert first.text.count('class="title"') == 20 and 'href="?page=2"' in first.text
    second = await bo.get("/bookmarks?page=2")
    assert second.text.count('class="title"') == 5 and 'href="?page=1"' in second.text


async def test_caucus_reactions_and_bookmarks_stay_in_the_caucus(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    admin = await signed_in(app, "ada", "admin")
    slug = await found(amara, "Tenants", listed=True, join_policy="invite")
    assert (await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})).status_code == 303
    assert (await post_form(bo, f"/caucuses/{slug}/accept", {})).status_code == 303
    tid = await start(amara, f"{slug}-talk", "Private plan")
    pid = post_id_from(await reply(amara, tid, "Secret meeting place"))
    assert (
        await post_form(bo, f"/p/{pid}/react", {"kind": "agree"}, f"/t/{tid}")
    ).status_code == 303
    assert (await post_form(bo, f"/p/{pid}/bookmark", {}, f"/t/{tid}")).status_code == 303
    assert "Secret meeting place" in (await bo.get("/bookmarks")).text
    # An outsider (an admin too) cannot react, bookmark or see who reacted: 404 like nothing.
    headers = {"X-CSRF-Token": await csrf_of(admin)}
    for path in (f"/p/{pid}/react", f"/p/{pid}/bookmark"):
        hidden = await post_form(admin, path, {"kind": "agree"}, page="/account")
        missing = await post_form(admin, path.replace(str(pid), "999999"), {"kind": "agree"})
        assert hidden.status_code == 404 and hidden.text == missing.text
    assert (await admin.get(f"/p/{pid}/reactions")).status_code == 404
    for method, url in (
        ("POST", f"{API}/posts/{pid}/reactions/agree"),
        ("GET", f"{API}/posts/{pid}/reactions"),
        ("DELETE", f"{API}/bookmarks/{pid}"),
    ):
        answer = await admin.request(method, url, headers=headers)
        assert answer.status_code == 404, (method, url)
    made = await admin.post(f"{API}/bookmarks", json={"post_id": pid}, headers=headers)
    assert made.status_code == 404
    # Bo leaves: the bookmark drops off the list (page and API), and the reaction list is closed.
    assert (await post_form(bo, f"/caucuses/{slug}/leave", {})).status_code == 303
    listed = await bo.get("/bookmarks")
    assert "Secret meeting place" not in listed.text and "Tenants" not in listed.text
    assert (await bo.get(f"{API}/bookmarks")).json()["bookmarks"] == []
    assert (await bo.get(f"/p/{pid}/reactions")).status_code == 404


async def test_thread_page_loads_reactions_and_bookmarks_in_constant_queries(
    app: Starlette, queries: list[str]
) -> None:
    channel = await make_channel()
    reader = await signed_in(app, "reader")
    author = await signed_in(app, "writer")
    writer = await Member.get(handle_key="writer")
    small = await bulk_thread(channel, writer.id, 10)
    large = await bulk_thread(channel, writer.id, 1000)
    for thread in (small, large):
        ids = (
            await Post.filter(thread_id=thread.id)
            .order_by("seq")
            .limit(6)
            .values_list("id", flat=True)
        )
        for pid in ids:
            await post_form(reader, f"/p/{pid}/react", {"kind": "agree"}, page="/account")
            await post_form(author, f"/p/{pid}/react", {"kind": "heart"}, page="/account")
            await post_form(reader, f"/p/{pid}/bookmark", {}, page="/account")
    counts = []
    for thread in (small, large, small, large):
        queries.clear()
        page = await reader.get(f"/t/{thread.id}")
        assert page.status_code == 200
        assert page.text.count('data-bookmark="') >= 10
        assert page.text.count('aria-pressed="true">Bookmarked') == 6
        # Each of the six posts: one agree (the reader's, pressed) and one heart (not theirs).
        assert page.text.count('<span class="n">1</span>') == 12
        pressed = 'data-kind="agree" aria-pressed="true"'
        assert page.text.count(pressed) == 6
        assert page.text.count('data-kind="heart" aria-pressed="true"') == 0
        counts.append(len(queries))
    assert counts[0] == counts[1] and counts[2] == counts[3]
    # First visit: session (with seats), thread (with marker, draft and the reader's marks), posts,
    # decisions, and the read marker moved; repeat visits find posts and decisions cached.
    assert counts[0] <= 5, queries
    assert not any("FROM reaction" in q and "post_id IN" in q for q in queries)


async def test_marks_of_rows_written_before_they_named_their_thread(app: Starlette) -> None:
    """Reactions and bookmarks from before migration 0016 get their thread from their post."""
    import importlib

    migration = importlib.import_module("forum.migrations.0016_marks")
    channel = await make_channel()
    reader = await signed_in(app, "reader")
    writer = await Member.get(handle_key="reader")
    thread = await bulk_thread(channel, writer.id, 3)
    pid = (await Post.filter(thread_id=thread.id).order_by("seq").first()).id  # type: ignore[union-attr]
    await post_form(reader, f"/p/{pid}/react", {"kind": "thanks"}, page="/account")
    await post_form(reader, f"/p/{pid}/bookmark", {}, page="/account")
    conn = Tortoise.get_connection("default")
    # As the release before 0016 left them: no thread (the column's default).
    await conn.execute_script(
        "UPDATE reaction SET thread_id = 0; UPDATE bookmark SET thread_id = 0"
    )
    page = (await reader.get(f"/t/{thread.id}")).text
    assert 'aria-pressed="true">Bookmarked' not in page
    await migration.backfill(conn)
    page = (await reader.get(f"/t/{thread.id}")).text
    assert 'aria-pressed="true">Bookmarked' in page
    assert 'data-kind="thanks" aria-pressed="true"' in page


async def test_clicks_at_once_count_once_each(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "Vote now"))
    token = await csrf_of(bo)
    answers = await asyncio.gather(
        *(bo.post(f"/p/{pid}/bookmark", data={"csrf": token}) for _ in range(2)),
        *(
            client.post(f"{API}/posts/{pid}/reactions/agree", headers={"X-CSRF-Token": csrf})
            for client, csrf in ((bo, token), (amara, await csrf_of(amara)), (bo, token))
        ),
    )
    assert [a.status_code for a in answers] == [303, 303, 200, 200, 200]
    assert await Reaction.filter(post_id=pid).count() == 2
    assert (await Post.get(id=pid)).reaction_counts == "agree:2"
    # Two toggles at once land on one state or the other, never on a broken count.
    assert await Bookmark.filter(post_id=pid).count() in (0, 1)


async def test_visitors_see_counts_on_public_posts_but_not_who_reacted(app: Starlette) -> None:
    from forum.services import channels

    await channels.create_channel(None, "Notices", "notices", public=True)
    amara = await signed_in(app, "amara")
    tid = await start(amara, "notices", "A public notice")
    pid = post_id_from(await reply(amara, tid, "Come to the rally"))
    await post_form(amara, f"/p/{pid}/react", {"kind": "solidarity"}, page=f"/t/{tid}")
    async with make_client(app) as visitor:
        page = await visitor.get(f"/t/{tid}")
        assert page.status_code == 200
        assert '<span class="n">1</span>' in page.text and 'id="post-acts"' not in page.text
        assert f'formaction="/p/{pid}/react"' not in page.text and "Who reacted" not in page.text
        assert (await visitor.get(f"/p/{pid}/reactions")).status_code in (303, 401)
        assert (await visitor.get(f"{API}/posts/{pid}/reactions")).status_code == 401
    assert "Who reacted" in (await amara.get(f"/t/{tid}")).text
