"""Drafts kept on the server follow their author across devices, and nobody else sees them."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from forum.models import Draft
from forum.services import channels
from tests.conftest import csrf_token, make_client, post_form, signed_in


async def _thread(author: httpx.AsyncClient, slug: str = "general") -> tuple[int, int]:
    made = await post_form(
        author,
        f"/c/{slug}/threads",
        {"title": "Drafting", "body": "opening"},
        page=f"/c/{slug}/new",
    )
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    replied = await post_form(author, f"/t/{tid}/posts", {"body": "a post"}, page=f"/t/{tid}")
    return tid, int(replied.headers["location"].rsplit("/", 1)[1])


async def _put(client: httpx.AsyncClient, tid: int, body: object, page: str) -> httpx.Response:
    token = await csrf_token(client, page)
    return await client.put(
        f"/api/v1/threads/{tid}/draft", json=body, headers={"x-csrf-token": token}
    )


async def test_a_draft_follows_its_author_and_goes_when_posted(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid, pid = await _thread(amara)
    saved = await _put(amara, tid, {"body": "Half a <thought> about"}, f"/t/{tid}")
    assert saved.status_code == 200 and saved.json() == {"kept": True}
    to_post = await _put(
        amara, tid, {"body": "An answer in progress", "parent_id": pid}, f"/t/{tid}"
    )
    assert to_post.json() == {"kept": True}

    # Another device of the same member (a second session) finds both, without the script.
    async with make_client(app) as laptop:
        from tests.conftest import login

        assert (await login(laptop, "amara")).status_code == 303
        page = (await laptop.get(f"/t/{tid}")).text
        assert "Half a &lt;thought&gt; about</textarea>" in page
        reply_page = (await laptop.get(f"/t/{tid}/reply?to={pid}")).text
        assert "An answer in progress</textarea>" in reply_page
        listed = (await laptop.get(f"/api/v1/threads/{tid}/drafts")).json()["drafts"]
        assert {(d["parent_id"], d["body"]) for d in listed} == {
            (None, "Half a <thought> about"),
            (pid, "An answer in progress"),
        }
    # Nobody else sees them.
    assert "Half a" not in (await bo.get(f"/t/{tid}")).text
    assert (await bo.get(f"/api/v1/threads/{tid}/drafts")).json() == {"drafts": []}

    # Posting the reply forgets its draft, and only that one.
    posted = await post_form(
        amara,
        f"/t/{tid}/posts",
        {"body": "An answer, done", "parent_id": str(pid)},
        page=f"/t/{tid}",
    )
    assert posted.status_code == 303
    assert await Draft.filter(parent_key=pid).count() == 0
    assert await Draft.filter(parent_key=0).count() == 1
    # An empty text forgets the draft.
    assert (await _put(amara, tid, {"body": "  "}, f"/t/{tid}")).json() == {"kept": False}
    assert await Draft.all().count() == 0


async def test_drafts_refuse_what_one_may_not_reply_to(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    founded = await post_form(
        amara,
        "/caucuses",
        {"name": "Tenants", "listed": "0", "join_policy": "invite"},
        page="/caucuses",
    )
    slug = founded.headers["location"].rsplit("/", 1)[1]
    ctid, cpid = await _thread(amara, f"{slug}-talk")
    # An outsider cannot keep a draft in a caucus thread: the same 404 as for nothing.
    hidden = await _put(bo, ctid, {"body": "x"}, "/")
    missing = await _put(bo, 2_000_000_000, {"body": "x"}, "/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    tid, _ = await _thread(amara)
    elsewhere = await _put(amara, tid, {"body": "x", "parent_id": cpid}, f"/t/{tid}")
    assert elsewhere.status_code == 400 and "not in this thread" in elsewhere.text
    too_long = await _put(amara, tid, {"body": "x" * 100_001}, f"/t/{tid}")
    assert too_long.status_code in (400, 413)
    assert await Draft.all().count() == 0
    async with make_client(app) as anonymous:
        refused = await anonymous.put(f"/api/v1/threads/{tid}/draft", json={"body": "x"})
        assert refused.status_code in (401, 403)
