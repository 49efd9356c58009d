"""The JSON API as scripts use it: bearer tokens and cookie sessions (with the CSRF header),
threads and replies, edits and history, statements, search, notifications, and errors that keep
their documented shape and never reveal what the caller may not read."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from forum.errors import Invalid, NotFound
from forum.importers import StatementData
from forum.models import Caucus, Channel, Member, Post, Thread
from forum.models.members import TOKEN_SCOPES
from forum.services import accounts, channels, post_rows, statements, threads
from forum.services.context import Ctx
from forum.web import api
from tests.conftest import make_client, make_member, signed_in

API = "/api/v1"
NOT_FOUND = {
    "error": {"code": "not_found", "message": "There is nothing here, or you cannot see it."}
}


async def token_client(app: Starlette, handle: str, role: str = "member") -> httpx.AsyncClient:
    """A client calling the API with a personal token of a new member."""
    member = await make_member(handle, role)
    token = await accounts.create_api_token(member, "tests", scopes=TOKEN_SCOPES)
    client = make_client(app)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def page_csrf(client: httpx.AsyncClient) -> str:
    """The CSRF token a page hands its scripts: the `data-csrf` attribute of <body>."""
    page = await client.get("/")
    match = re.search(r'<body data-csrf="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields"}
    return error


async def start(client: httpx.AsyncClient, title: str = "Rotating chairs", **extra: Any) -> int:
    response = await client.post(
        f"{API}/channels/general/threads",
        json={"title": title, "body": "Should chairs rotate?", **extra},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def reply(
    client: httpx.AsyncClient, thread_id: int, body: str, parent: int | None = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"body": body, **extra}
    if parent is not None:
        data["parent_id"] = parent
    response = await client.post(f"{API}/threads/{thread_id}/posts", json=data)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def general(app: Starlette) -> Channel:
    return await channels.create_channel(None, "General", "general")


# ---- identity ------------------------------------------------------------------------------


async def test_me_needs_a_token_or_session(app: Starlette, client: httpx.AsyncClient) -> None:
    error_of(await client.get(f"{API}/me"), 401, "unauthenticated")
    client.headers["authorization"] = "Bearer not-a-token"
    error_of(await client.get(f"{API}/me"), 401, "unauthenticated")
    alice = await token_client(app, "alice")
    me = (await alice.get(f"{API}/me")).json()
    assert me["handle"] == "alice" and me["role"] == "member" and me["status"] == "active"
    cookie = await signed_in(app, "bob")
    assert (await cookie.get(f"{API}/me")).json()["handle"] == "bob"


async def test_anonymous_writes_are_401_not_a_csrf_403(
    client: httpx.AsyncClient, general: Channel
) -> None:
    error_of(
        await client.post(f"{API}/channels/general/threads", json={"title": "x", "body": "y"}),
        401,
        "unauthenticated",
    )
    error_of(await client.delete(f"{API}/posts/1"), 401, "unauthenticated")
    error_of(await client.post(f"{API}/notifications/read", json={}), 401, "unauthenticated")


# ---- threads and posts ------------------------------------------------------------------------


async def test_thread_reply_to_reply_edit_history_delete_with_tokens(
    app: Starlette, general: Channel
) -> None:
    alice = await token_client(app, "alice")
    bob = await token_client(app, "bob")
    thread_id = await start(alice)
    a = await reply(bob, thread_id, "A: yes, monthly.")
    a1 = await reply(alice, thread_id, "A1: monthly is too short", parent=a["id"])
    a1x = await reply(bob, thread_id, "A1x: quarterly then", parent=a1["id"])
    b = await reply(alice, thread_id, "B: what about continuity?")
    assert a1["parent_id"] == a["id"] and a1["depth"] == 1 and a1x["depth"] == 2

    page = (await bob.get(f"{API}/threads/{thread_id}")).json()
    assert page["thread"]["title"] == "Rotating chairs"
    assert page["thread"]["channel"] == {"slug": "general", "name": "General"}
    assert page["thread"]["author"] == {"handle": "alice", "display_name": "Alice"}
    posts = page["posts"]
    opening = posts[0]
    assert [p["id"] for p in posts] == [opening["id"], a["id"], a1["id"], a1x["id"], b["id"]]
    assert [p["depth"] for p in posts] == [0, 0, 1, 2, 0]
    assert [p["path"] for p in posts] == sorted(p["path"] for p in posts)
    assert page["next"] is None
    # The markdown source is only for those who may edit; others get the rendered text.
    assert "body" not in posts[0] and posts[0]["html"] == "<p>Should chairs rotate?</p>\n"
    assert posts[1]["body"] == "A: yes, monthly." and posts[1]["can"]["edit"] is True
    assert posts[0]["can"] == {
        "reply": True,
        "edit": False,
        "delete": False,
        "flag": True,
        "moderate": False,
    }

    edited = await alice.patch(f"{API}/posts/{a1['id']}", json={"body": "A1: **too** short"})
    assert edited.status_code == 200, edited.text
    assert "<strong>too</strong>" in edited.json()["html"] and edited.json()["edited_at"]
    error_of(
        await bob.patch(f"{API}/posts/{a1['id']}", json={"body": "mine now"}), 403, "forbidden"
    )
    history = (await bob.get(f"{API}/posts/{a1['id']}/revisions")).json()
    assert history["current_body"] == "A1: **too** short"
    assert [r["body"] for r in history["revisions"]] == ["A1: monthly is too short"]

    error_of(await bob.delete(f"{API}/posts/{a1['id']}"), 403, "forbidden")
    deleted = await alice.delete(f"{API}/posts/{a1['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    after = {p["id"]: p for p in (await bob.get(f"{API}/threads/{thread_id}")).json()["posts"]}
    assert after[a1["id"]]["deleted"] is True and after[a1["id"]]["html"] is None
    assert after[a1x["id"]]["html"] == "<p>A1x: quarterly then</p>\n"  # replies stay
    single = (await bob.get(f"{API}/posts/{a1x['id']}")).json()
    assert single["parent_id"] == a1["id"] and single["thread_id"] == thread_id


async def test_a_retried_key_returns_the_same_post(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice, key="t-1")
    assert await start(alice, key="t-1") == thread_id
    first = await reply(alice, thread_id, "Only once, please.", key="k-1")
    again = await reply(alice, thread_id, "Only once, please.", key="k-1")
    assert again["id"] == first["id"]
    assert await Post.filter(thread_id=thread_id).count() == 2
    thread = (await alice.get(f"{API}/threads/{thread_id}")).json()["thread"]
    assert thread["post_count"] == 2


async def test_cursor_pages_through_a_long_thread(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice)
    opening = await Post.get(thread_id=thread_id)
    await Post.bulk_create(
        [
            Post(thread_id=thread_id, path=f"{n:04d}", depth=0, body=f"p{n}", html=f"p{n}")
            for n in range(1, 60)
        ]
    )
    post_rows.forget()  # rows written behind the services' back announce no event
    first = (await alice.get(f"{API}/threads/{thread_id}")).json()
    assert len(first["posts"]) == threads.PAGE and first["posts"][0]["id"] == opening.id
    assert first["next"] == first["posts"][-1]["path"]
    second = (await alice.get(f"{API}/threads/{thread_id}", params={"after": first["next"]})).json()
    assert len(second["posts"]) == 60 - threads.PAGE and second["next"] is None
    assert second["posts"][0]["path"] > first["next"]


async def test_hidden_posts_show_their_reason_not_their_text(
    app: Starlette, general: Channel
) -> None:
    alice = await token_client(app, "alice")
    bob = await token_client(app, "bob")
    thread_id = await start(alice)
    post = await reply(alice, thread_id, "Something regrettable.")
    await Post.filter(id=post["id"]).update(hidden=True, hidden_reason="Off topic")
    post_rows.forget()  # written behind the services' back: no event moved the sequence
    seen = (await bob.get(f"{API}/posts/{post['id']}")).json()
    assert seen["hidden"] is True and seen["hidden_reason"] == "Off topic"
    assert seen["html"] is None and "body" not in seen
    own = (await alice.get(f"{API}/posts/{post['id']}")).json()
    assert own["hidden_reason"] == "Off topic" and "regrettable" in own["html"]
    hits = (await bob.get(f"{API}/search", params={"q": "regrettable"})).json()["hits"]
    assert hits == []


async def test_cookie_session_needs_the_csrf_header(app: Starlette, general: Channel) -> None:
    bob = await signed_in(app, "bob")
    new = {"title": "From the browser", "body": "Hello"}
    refused = await bob.post(f"{API}/channels/general/threads", json=new)
    error_of(refused, 403, "forbidden")
    wrong = await bob.post(
        f"{API}/channels/general/threads", json=new, headers={"x-csrf-token": "nope"}
    )
    error_of(wrong, 403, "forbidden")
    assert await Thread.all().count() == 0
    headers = {"x-csrf-token": await page_csrf(bob)}
    made = await bob.post(f"{API}/channels/general/threads", json=new, headers=headers)
    assert made.status_code == 201, made.text
    response = await bob.post(
        f"{API}/threads/{made.json()['id']}/posts", json={"body": "A reply."}, headers=headers
    )
    assert response.status_code == 201
    post = response.json()
    error_of(await bob.delete(f"{API}/posts/{post['id']}"), 403, "forbidden")
    gone = await bob.delete(f"{API}/posts/{post['id']}", headers=headers)
    assert gone.status_code == 204
    # Reading needs no header.
    assert (await bob.get(f"{API}/threads/{made.json()['id']}")).status_code == 200


# ---- statements -----------------------------------------------------------------------------


async def test_statements_publish_by_admin_token_idempotent_and_amended(app: Starlette) -> None:
    await channels.create_channel(None, "Statements", "statements", public=True)
    publisher = await token_client(app, "press", "admin")
    member = await token_client(app, "amara")
    statement = {
        "title": "On the dissolution of the ISO",
        "body": "The ISO voted to dissolve itself.",
        "author": "Steering Group",
        "source_url": "https://example.org/iso",
        "published_at": "2019-04-01T10:00:00+02:00",
        "external_id": "iso-2019",
        "caption": "Photo via the ISO",
    }
    error_of(await member.post(f"{API}/statements", json=statement), 403, "forbidden")
    error_of(
        await make_client(app).post(f"{API}/statements", json=statement), 401, "unauthenticated"
    )

    created = await publisher.post(f"{API}/statements", json=statement)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["outcome"] == "created" and out["statement"]["version"] == 1
    assert out["statement"]["published_at"] == "2019-04-01T08:00:00+00:00"
    assert out["thread"]["seeded"] is True and out["thread"]["channel"]["slug"] == "statements"

    again = await publisher.post(f"{API}/statements", json=statement)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    amended = await publisher.post(
        f"{API}/statements",
        json={**statement, "body": "The ISO voted, after long debate, to dissolve itself."},
    )
    assert amended.status_code == 200 and amended.json()["outcome"] == "amended"
    assert amended.json()["statement"]["version"] == 2
    assert amended.json()["thread"]["id"] == out["thread"]["id"]

    # Public channel: anyone lists and reads it.
    listed = (await make_client(app).get(f"{API}/statements")).json()["statements"]
    assert [s["statement"]["id"] for s in listed] == [out["statement"]["id"]]
    page = (await member.get(f"{API}/threads/{out['thread']['id']}")).json()
    assert page["statement"]["version"] == 2 and page["statement"]["caption"] == "Photo via the ISO"
    versions = (await member.get(f"{API}/statements/{out['statement']['id']}/versions")).json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert "<ins>" in versions["versions"][0]["diff_html"]


async def test_statement_input_errors_name_their_field(app: Starlette) -> None:
    await channels.create_channel(None, "Statements", "statements")
    publisher = await token_client(app, "press", "admin")
    cases = [
        ({"body": "b", "author": "a"}, "title"),
        ({"title": "t", "body": "b", "author": 7}, "author"),
        ({"title": "t", "body": "b", "author": "a", "published_at": "yesterday"}, "published_at"),
        ({"title": "t", "body": "b", "author": "a", "published_at": 20240101}, "published_at"),
        ({"title": "t", "body": "b", "author": "a", "source_url": "ftp://x"}, "source_url"),
        ({"title": "t", "body": "b", "author": "a", "external_id": "x" * 301}, "external_id"),
        ({"title": "t", "body": "b", "author": "a", "channel": "nowhere"}, "channel"),
        ({"title": "t" * 301, "body": "b", "author": "a"}, "title"),
    ]
    for data, field in cases:
        error = error_of(await publisher.post(f"{API}/statements", json=data), 400, "invalid")
        assert field in error["fields"], (data, error)


# ---- search and notifications -----------------------------------------------------------------


async def test_search_finds_only_what_the_caller_may_read(
    app: Starlette, client: httpx.AsyncClient, general: Channel
) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice, title="Chairs")
    await reply(alice, thread_id, "Quarterly rotation of the facilitators")
    found = (await alice.get(f"{API}/search", params={"q": "facilitators"})).json()
    assert [h["thread_id"] for h in found["hits"]] == [thread_id]
    assert "<mark>facilitators</mark>" in found["hits"][0]["snippet_html"]
    assert found["hits"][0]["channel"] == {"slug": "general", "name": "General"}
    # Anonymous visitors read no private channel, so they find nothing in it.
    assert (await client.get(f"{API}/search", params={"q": "facilitators"})).json()["hits"] == []
    assert (await alice.get(f"{API}/search")).json()["hits"] == []
    error_of(await alice.get(f"{API}/search", params={"q": "x" * 201}), 400, "invalid")
    error_of(await alice.get(f"{API}/search", params={"q": "x", "page": "two"}), 400, "invalid")


async def test_a_mention_notifies_and_can_be_marked_read(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    bob = await token_client(app, "bob")
    thread_id = await start(alice)
    await reply(alice, thread_id, "What do you think, @bob?")
    inbox = (await bob.get(f"{API}/notifications")).json()
    assert inbox["unread"] == 1
    [note] = inbox["notifications"]
    assert note["kind"] == "mention" and note["thread_id"] == thread_id and note["read"] is False
    assert (await alice.get(f"{API}/notifications")).json()["notifications"] == []
    marked = await bob.post(f"{API}/notifications/read", json={"ids": [note["id"]]})
    assert marked.status_code == 200 and marked.json() == {"unread": 0}
    assert (await bob.get(f"{API}/notifications")).json()["notifications"][0]["read"] is True
    error_of(await bob.post(f"{API}/notifications/read", json={"ids": "all"}), 400, "invalid")
    error_of(await bob.post(f"{API}/notifications/read", json={"ids": [True]}), 400, "invalid")
    ok = await bob.post(f"{API}/notifications/read", json={"ids": [2**40]})
    assert ok.status_code == 200
    error_of(await make_client(app).get(f"{API}/notifications"), 401, "unauthenticated")


# ---- what may not be read ---------------------------------------------------------------------


async def test_unreadable_things_are_404_exactly_like_missing_ones(
    app: Starlette, client: httpx.AsyncClient, general: Channel
) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice)
    post_id = (await Post.get(thread_id=thread_id)).id
    # A caucus alice is not in, with a thread in its channel.
    caucus = await Caucus.create(name="Tenants", name_key="tenants", slug="tenants")
    private = await Channel.create(name="Tenants", slug="tenants-chat", caucus_id=caucus.id)
    secret = await Thread.create(channel_id=private.id, title="Secret plans")
    secret_post = await Post.create(thread_id=secret.id, path="0000", body="plans", html="plans")

    missing = [
        f"{API}/threads/999999",
        f"{API}/threads/{secret.id}",
        f"{API}/posts/{secret_post.id}",
        f"{API}/posts/{secret_post.id}/revisions",
        f"{API}/channels/nowhere",
        f"{API}/channels/tenants-chat",
        f"{API}/channels/tenants-chat/threads",
        f"{API}/threads/abc",
        f"{API}/threads/-1",
        f"{API}/threads/0",
        f"{API}/threads/{2**31}",
        f"{API}/threads/99999999999999999999",
        f"{API}/posts/1.5",
        f"{API}/statements/{2**40}/versions",
        f"{API}/no/such/endpoint",
    ]
    for path in missing:
        response = await alice.get(path)
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND, path
    writes = [
        alice.post(f"{API}/threads/{secret.id}/posts", json={"body": "hello"}),
        alice.post(f"{API}/channels/tenants-chat/threads", json={"title": "t", "body": "b"}),
        alice.patch(f"{API}/posts/{secret_post.id}", json={"body": "mine"}),
        alice.delete(f"{API}/posts/{secret_post.id}"),
    ]
    for call in writes:
        response = await call
        assert response.status_code == 404 and response.json() == NOT_FOUND
    # Anonymous visitors cannot read a members-only channel either.
    for path in (f"{API}/threads/{thread_id}", f"{API}/posts/{post_id}"):
        response = await client.get(path)
        assert response.status_code == 404 and response.json() == NOT_FOUND
    # Nothing of the caucus shows in lists.
    listed = (await alice.get(f"{API}/channels")).json()["channels"]
    assert [c["slug"] for c in listed] == ["general"]
    assert (await alice.get(f"{API}/search", params={"q": "plans"})).json()["hits"] == []


# ---- input validation -----------------------------------------------------------------------


async def test_bad_input_is_a_clear_4xx_never_a_500(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice)
    url = f"{API}/threads/{thread_id}/posts"
    bad_json = [
        ({"body": 5}, "body"),
        ({}, "body"),
        ({"body": None}, "body"),
        ({"body": ["x"]}, "body"),
        ({"body": "ok", "parent_id": "1"}, "parent_id"),
        ({"body": "ok", "parent_id": 1.0}, "parent_id"),
        ({"body": "ok", "parent_id": True}, "parent_id"),
        ({"body": "ok", "parent_id": 2**40}, "parent_id"),
        ({"body": "ok", "parent_id": -3}, "parent_id"),
        ({"body": "ok", "parent_id": 10**400}, "parent_id"),
        ({"body": "ok", "key": "no spaces please"}, "key"),
        ({"body": "ok", "key": 12}, "key"),
        ({"body": "x" * 50_001}, "body"),
        ({"body": "   "}, "body"),
    ]
    for data, field in bad_json:
        error = error_of(await alice.post(url, json=data), 400, "invalid")
        assert field in error.get("fields", {}), (data, error)
    for content in (b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"", b"{'a': 1}"):
        response = await alice.post(
            url, content=content, headers={"content-type": "application/json"}
        )
        error_of(response, 400, "invalid")
    form = await alice.post(url, data={"body": "as a form"})
    error_of(form, 400, "invalid")
    new_thread = f"{API}/channels/general/threads"
    for data, field in [
        ({"title": "", "body": "b"}, "title"),
        ({"title": "t" * 201, "body": "b"}, "title"),
        ({"title": {"a": 1}, "body": "b"}, "title"),
        ({"title": "t"}, "body"),
    ]:
        error = error_of(await alice.post(new_thread, json=data), 400, "invalid")
        assert field in error["fields"], (data, error)
    error_of(await alice.patch(f"{API}/posts/1", json={"body": 1}), 400, "invalid")
    too_big = await alice.post(url, json={"body": "x" * 300_000})
    error_of(too_big, 413, "too_large")
    for params in ({"page": "0"}, {"page": "x"}, {"page": "1" * 30}, {"page": "-1"}):
        response = await alice.get(f"{API}/channels/general/threads", params=params)
        error_of(response, 400, "invalid")
    for params in ({"after": "../../"}, {"after": "0" * 2000}, {"focus": "x"}, {"focus": "0"}):
        error_of(await alice.get(f"{API}/threads/{thread_id}", params=params), 400, "invalid")
    error_of(await alice.get(f"{API}/notifications", params={"before": "x"}), 400, "invalid")
    error_of(await alice.put(f"{API}/threads/{thread_id}"), 405, "method_not_allowed")
    error_of(
        await alice.get(f"{API}/threads/{thread_id}", params={"focus": "999"}), 404, "not_found"
    )


async def test_deeply_nested_json_is_a_400(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice)
    body = b'{"body": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await alice.post(
        f"{API}/threads/{thread_id}/posts",
        content=body,
        headers={"content-type": "application/json"},
    )
    error_of(response, 400, "invalid")


async def test_thread_page_service_refuses_overlong_cursors(
    app: Starlette, general: Channel
) -> None:
    """The API limits `after` to a path's length; the service should cope with any string."""
    member = await make_member("alice")
    ctx = Ctx(services=app.state.services, member=member, actor=await accounts.load_actor(member))
    thread = await Thread.create(channel_id=general.id, title="t", author_id=member.id)
    with pytest.raises(NotFound):
        await threads.thread_page(ctx, thread.id, after="0" * 900)


# ---- the document -------------------------------------------------------------------------


async def test_every_api_route_is_documented_and_declares_its_access(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    served = await client.get(f"{API}/openapi.json")
    assert served.status_code == 200
    doc = served.json()
    assert doc == api.document()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "cookie"}
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == API)
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    for route in mount.routes:
        assert isinstance(route, Route)
        assert getattr(route.endpoint, "__access__", None), route.path
        if route.path == "/openapi.json":
            continue
        for method in route.methods or ():
            if method != "HEAD":
                assert (method, route.path) in documented, (method, route.path)
    # Asking for a reset link and following an emailed link need no sign-in: no 401 there.
    anyone = {(e.method.lower(), e.path) for e in api.endpoints() if e.anonymous}
    assert anyone == {("post", "/password-reset"), ("post", "/email/confirm")}
    for path, ops in doc["paths"].items():
        for method, operation in ops.items():
            assert "default" in operation["responses"], (method, path)
            if method != "get" and (method, path) not in anyone:
                assert "401" in operation["responses"], (method, path)


async def test_suspended_members_tokens_stop_working(app: Starlette) -> None:
    alice = await token_client(app, "alice")
    assert (await alice.get(f"{API}/me")).status_code == 200
    await Member.filter(handle_key="alice").update(status="suspended")
    error_of(await alice.get(f"{API}/me"), 401, "unauthenticated")


async def test_a_replys_key_does_not_start_a_thread(app: Starlette, general: Channel) -> None:
    alice = await token_client(app, "alice")
    thread_id = await start(alice, title="First")
    await reply(alice, thread_id, "A reply with a key.", key="k-1")
    response = await alice.post(
        f"{API}/channels/general/threads", json={"title": "Second", "body": "New", "key": "k-1"}
    )
    error_of(response, 400, "invalid")


@pytest.mark.parametrize(
    "field,value",
    [
        ("external_id", "x" * 301),
        ("source_url", "https://example.org/" + "x" * 1000),
        ("caption", "c" * 301),
    ],
)
async def test_publish_service_refuses_values_longer_than_their_column(
    app: Starlette, field: str, value: str
) -> None:
    """The API caps these fields (400); the service itself (CLI imports) should refuse too."""
    await channels.create_channel(None, "Statements", "statements")
    fields: dict[str, Any] = {
        "title": "T",
        "body": "B",
        "author": "A",
        "source_url": None,
        "published_at": None,
        "external_id": None,
        "caption": None,
        field: value,
    }
    with pytest.raises(Invalid) as refused:
        await statements.publish(None, StatementData(**fields))
    assert field in refused.value.fields
