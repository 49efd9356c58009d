"""Every cell of the caucus privacy matrix (declared in conftest.py), asserted against one seeded
world per module and backend: `{backend}-{role}-{resource}-{surface}`, backend sqlite or postgres.

allow: the viewer gets the thing (status 200 and its canary word).
deny: a page or JSON answer identical (status and body) to the one for a missing id or slug, or
the thing's canaries absent from lists, search, notifications and socket frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from forum.models import Caucus, Member, Notification, Post, Session, Thread
from forum.services import accounts, moderation
from tests.conftest import BASE
from tests.privacy.conftest import (
    CSRF_MESSAGE,
    HANDLES,
    MATRIX,
    MISSING_CHANNEL,
    MISSING_HANDLE,
    MISSING_ID,
    MISSING_SLUG,
    QUIET,
    REASONS,
    RESOURCES,
    ROLES,
    SURFACES,
    TABLE_PROBLEMS,
    CaucusWorld,
    Socket,
    Viewer,
    World,
    ctx_for,
    has_route,
    viewer_for,
    walk_routes,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACTIVE = ("caucus_member", "caucus_convener")
API = "/api/v1"

# Cells that currently fail: each one is a leak or a wrong answer in product code, kept visible
# by a strict xfail until the product is fixed (then the xfail itself fails: remove it here).
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {}


# ---- comparing answers ------------------------------------------------------------------------


def _show(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path} -> {response.status_code}"


def _normalise(text: str, *ids: object) -> str:
    """Blank out echoed form values (a refused reply form shows the parent id it was sent)."""
    for ident in ids:
        text = text.replace(f'value="{ident}"', 'value="ID"')
    return text


def assert_same(
    hidden: httpx.Response,
    missing: httpx.Response,
    statuses: tuple[int, ...] = (404,),
    echoed: tuple[object, ...] = (),
) -> None:
    """A hidden thing must answer exactly like a thing that does not exist."""
    assert hidden.status_code in statuses, (
        f"{_show(hidden)}, expected one of {statuses}: {hidden.text[:300]}"
    )
    assert hidden.status_code == missing.status_code, f"{_show(hidden)} but {_show(missing)}"
    assert hidden.headers.get("location") == missing.headers.get("location"), _show(hidden)
    ours = _normalise(hidden.text, *echoed)
    theirs = _normalise(missing.text, *echoed)
    assert ours == theirs, f"{_show(hidden)}: body differs from {_show(missing)}"


async def page_same(v: Viewer, url: str, missing: str) -> None:
    assert_same(await v.get(url), await v.get(missing))


async def form_same(
    v: Viewer,
    url: str,
    missing: str,
    data: dict[str, str] | None = None,
    statuses: tuple[int, ...] = (404,),
    echoed: tuple[object, ...] = (),
) -> None:
    hidden_r = await v.form(url, data)
    missing_r = await v.form(missing, data)
    assert CSRF_MESSAGE not in hidden_r.text, f"{_show(hidden_r)}: the CSRF token was refused"
    assert_same(hidden_r, missing_r, statuses, echoed)


def need_api(w: World, method: str, path: str) -> None:
    if not has_route(w.app, method, API + path):
        pytest.skip(f"{method} {API}{path} is not routed (yet)")


async def api_same(
    v: Viewer,
    method: str,
    url: str,
    missing: str,
    body: dict[str, Any] | None = None,
    statuses: tuple[int, ...] = (401, 404),
) -> None:
    """Cookie and bearer: 404 like a missing id (401 when the caller has no valid identity,
    which is the same answer whatever is asked)."""
    for bearer in v.api_modes():
        hidden_r = await v.api(method, API + url, bearer=bearer, body=body)
        missing_r = await v.api(method, API + missing, bearer=bearer, body=body)
        assert_same(hidden_r, missing_r, statuses)


async def api_json(v: Viewer, url: str) -> list[dict[str, Any]]:
    """The JSON bodies of a GET by cookie and by bearer, both required to be 200."""
    out = []
    for bearer in v.api_modes():
        r = await v.api("GET", API + url, bearer=bearer)
        assert r.status_code == 200, f"{_show(r)} {'bearer' if bearer else 'cookie'}: {r.text}"
        out.append(r.json())
    return out


def absent(texts: dict[str, str], *canaries: str) -> None:
    for where, text in texts.items():
        for canary in canaries:
            assert canary not in text, f"{canary!r} leaks on {where}"


async def member_count(cw: CaucusWorld) -> int:
    return (await Caucus.get(id=cw.caucus_id)).member_count


def plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


# ---- collecting what a surface shows ----------------------------------------------------------


async def search_results(w: World, v: Viewer, q: str) -> list[str]:
    """Each hit (HTML list item or JSON hit) of /search and /api/v1/search for `q`."""
    page = await v.get("/search", params={"q": q})
    assert page.status_code == 200, _show(page)
    section = page.text.split('<ol class="list">', 1)
    hits = re.findall(r"<li>.*?</li>", section[1].split("</ol>", 1)[0], re.S) if section[1:] else []
    if has_route(w.app, "GET", API + "/search"):
        for bearer in v.api_modes():
            r = await v.api("GET", f"{API}/search?q={q}", bearer=bearer)
            if r.status_code == 401:  # a token that no longer works shows nothing
                continue
            assert r.status_code == 200, _show(r)
            hits += [json.dumps(hit) for hit in r.json()["hits"]]
    return hits


async def notification_texts(w: World, v: Viewer) -> list[str]:
    """Each notification (text and link) on /notifications and /api/v1/notifications; also
    checks that the unread badge counts only what the member may see."""
    out: list[str] = []
    page = await v.get("/notifications")
    if page.status_code == 200:
        section = page.text.split('id="notification-list">', 1)[1].split("</ul>", 1)[0]
        out += re.findall(r"<li.*?</li>", section, re.S)
    else:
        assert page.status_code == 303 and "/login" in page.headers["location"], _show(page)
    if has_route(w.app, "GET", API + "/notifications"):
        for bearer in v.api_modes():
            r = await v.api("GET", API + "/notifications", bearer=bearer)
            if r.status_code == 401:
                continue
            assert r.status_code == 200, _show(r)
            body = r.json()
            items = body["notifications"]
            out += [json.dumps(n) for n in items]
            if body["next"] is None:
                unread = sum(1 for n in items if not n["read"])
                assert body["unread"] == unread, f"{v.role}: badge counts notifications not shown"
    return out


async def list_pages(w: World, v: Viewer) -> dict[str, str]:
    """Every page that lists or counts things, as this viewer sees it."""
    urls = ["/", "/channels", "/caucuses", "/moderation/log"]
    texts = {url: (await v.get(url)).text for url in urls}
    for path in ("/channels", "/statements"):
        if has_route(w.app, "GET", API + path):
            texts[API + path] = (await v.api("GET", API + path)).text
    return texts


async def socket_answers(w: World, v: Viewer, topic: str, after: int | None = None) -> Any:
    if not has_route(w.app, "WS", "/ws"):
        pytest.skip("/ws is not routed (yet)")
    async with Socket(w.app, v.cookie) as ws:
        return await ws.exchange({"op": "subscribe", "topic": topic, "after": after})


async def socket_same_as_missing(w: World, v: Viewer, topic: str) -> None:
    kind = topic.split(":", 1)[0]
    hidden = await socket_answers(w, v, topic)
    missing = await socket_answers(w, v, f"{kind}:{MISSING_ID}")
    assert hidden and hidden[0].get("op") == "error", f"{v.role} followed {topic}: {hidden}"
    scrub = json.dumps(hidden).replace(topic, "TOPIC")
    assert scrub == json.dumps(missing).replace(f"{kind}:{MISSING_ID}", "TOPIC"), (hidden, missing)


async def socket_subscribed(w: World, v: Viewer, topic: str) -> list[dict[str, Any]]:
    frames = await socket_answers(w, v, topic, after=0)
    assert frames and frames[0] == {"op": "subscribed", "topic": topic, "seq": 0}, frames
    return frames


# ---- the checks, one per (resource, surface) --------------------------------------------------

Check = Callable[[World, Viewer, bool], Awaitable[None]]
CHECKS: dict[tuple[str, str], Check] = {}


def check(resource: str, surface: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[(resource, surface)] = fn
        return fn

    return register


def deny_only(allow: bool) -> None:
    assert not allow, "this check has no allow case: nobody sees it through this surface"


# html ------------------------------------------------------------------------------------------


@check("caucus_thread", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        pairs = [
            (f"/t/{c.thread_id}", f"/t/{MISSING_ID}"),
            (f"/t/{c.thread_id}/reply", f"/t/{MISSING_ID}/reply"),
            (f"/c/{c.channel_slug}", f"/c/{MISSING_CHANNEL}"),
            (f"/c/{c.channel_slug}/new", f"/c/{MISSING_CHANNEL}/new"),
        ]
        for url, missing in pairs:
            if allow:
                r = await v.get(url)
                assert r.status_code == 200, _show(r)
                if "/new" not in url:
                    assert c.title in r.text, url
            else:
                await page_same(v, url, missing)


@check("caucus_post", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        if allow:
            page = await v.get(f"/t/{c.thread_id}")
            assert c.post_word in page.text and c.new_word in page.text
            link = await v.get(f"/p/{c.root_post_id}")
            assert link.status_code == 303
            assert link.headers["location"].startswith(f"/t/{c.thread_id}")
            branch = await v.get(f"/t/{c.thread_id}/p/{c.reply_post_id}")
            assert branch.status_code == 200 and "Thanks" in branch.text
            assert (await v.get(f"/p/{c.root_post_id}/reactions")).status_code == 200
            continue
        for pid in (c.root_post_id, c.reply_post_id, c.edited_post_id):
            await page_same(v, f"/p/{pid}", f"/p/{MISSING_ID}")
            await page_same(v, f"/t/{c.thread_id}/p/{pid}", f"/t/{MISSING_ID}/p/{MISSING_ID}")
            await page_same(
                v, f"/t/{w.open_thread_id}/p/{pid}", f"/t/{w.open_thread_id}/p/{MISSING_ID}"
            )


@check("caucus_member_list", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        page = await v.get(f"/caucuses/{c.slug}")
        if allow:
            assert page.status_code == 200 and f"@{QUIET}" in page.text
        else:
            assert f"@{QUIET}" not in page.text, f"/caucuses/{c.slug} lists its members"


@check("join_requests", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        page = await v.get(f"/caucuses/{c.slug}")
        if allow:
            assert page.status_code == 200 and c.request_marker in page.text
        else:
            assert c.request_marker not in page.text, f"/caucuses/{c.slug} shows its requests"


@check("unlisted_caucus", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    u = w.U
    if allow:
        page = await v.get(f"/caucuses/{u.slug}")
        assert page.status_code == 200 and u.name in page.text
    else:
        await page_same(v, f"/caucuses/{u.slug}", f"/caucuses/{MISSING_SLUG}")


@check("listed_caucus", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    c = w.L
    if allow:
        page = await v.get(f"/caucuses/{c.slug}")
        assert page.status_code == 200 and c.name in page.text
        if v.role not in ACTIVE:  # its size, and nothing of its content
            assert plural(await member_count(c), "member") in page.text
            absent({c.slug: page.text}, c.title_word, f"@{QUIET}", "(site-wide)")
    else:
        await page_same(v, f"/caucuses/{c.slug}", f"/caucuses/{MISSING_SLUG}")


@check("caucus_post_history", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        url = f"/p/{c.edited_post_id}/history"
        if allow:
            page = await v.get(url)
            assert page.status_code == 200 and c.old_word in page.text
        else:
            await page_same(v, url, f"/p/{MISSING_ID}/history")


@check("caucus_moderation_log", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        url = f"/caucuses/{c.slug}/log"
        if allow:
            page = await v.get(url)
            assert page.status_code == 200
            for marker in c.log_markers:
                assert marker in page.text, marker
        else:
            await page_same(v, url, f"/caucuses/{MISSING_SLUG}/log")


# json_api --------------------------------------------------------------------------------------


@check("caucus_thread", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/threads/{thread_id}")
    need_api(w, "GET", "/channels/{slug}/threads")
    for c in w.caucuses:
        if allow:
            for body in await api_json(v, f"/threads/{c.thread_id}"):
                assert body["thread"]["title"] == c.title
            for body in await api_json(v, f"/channels/{c.channel_slug}/threads"):
                assert [t["title"] for t in body["threads"]] == [c.title]
            for body in await api_json(v, f"/channels/{c.channel_slug}"):
                assert body["name"] == c.name
        else:
            await api_same(v, "GET", f"/channels/{c.channel_slug}", f"/channels/{MISSING_CHANNEL}")
            await api_same(v, "GET", f"/threads/{c.thread_id}", f"/threads/{MISSING_ID}")
            await api_same(
                v,
                "GET",
                f"/channels/{c.channel_slug}/threads",
                f"/channels/{MISSING_CHANNEL}/threads",
            )
    absent(await list_pages(w, v), w.L.channel_slug, w.U.channel_slug)


@check("caucus_post", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/posts/{post_id}")
    for c in w.caucuses:
        if allow:
            for body in await api_json(v, f"/posts/{c.root_post_id}"):
                assert c.post_word in body["html"]
            for body in await api_json(v, f"/threads/{c.thread_id}"):
                assert c.post_word in json.dumps(body["posts"])
        else:
            for pid in (c.root_post_id, c.reply_post_id, c.edited_post_id):
                await api_same(v, "GET", f"/posts/{pid}", f"/posts/{MISSING_ID}")
                await api_same(
                    v,
                    "GET",
                    f"/threads/{w.open_thread_id}?focus={pid}",
                    f"/threads/{w.open_thread_id}?focus={MISSING_ID}",
                    statuses=(401, 404),
                )


def knows(role: str, c: CaucusWorld) -> bool:
    """Whether this role may know the caucus exists (its html line in the matrix)."""
    resource = "listed_caucus" if c.key == "L" else "unlisted_caucus"
    return MATRIX[(role, resource, "html")] == "allow"


async def api_refused(v: Viewer, c: CaucusWorld, url: str, missing: str, *canaries: str) -> None:
    """Refused: exactly like a missing slug to those who may not know the caucus; to those
    who know it (a listed caucus), an error without any of its content."""
    if not knows(v.role, c):
        await api_same(v, "GET", url, missing)
        return
    for bearer in v.api_modes():
        r = await v.api("GET", API + url, bearer=bearer)
        assert r.status_code in (401, 403, 404), _show(r)
        absent({url: r.text}, *canaries)


async def _api_caucus(w: World, v: Viewer, c: CaucusWorld, allow: bool) -> None:
    need_api(w, "GET", "/caucuses/{slug}")
    need_api(w, "GET", "/caucuses")
    listing = v.api_modes() if v.role != "anonymous" else []
    if allow:
        for body in await api_json(v, f"/caucuses/{c.slug}"):
            assert body["name"] == c.name
            if v.role in ACTIVE or c.key == "L":  # sizes: listed caucuses and members only
                assert body["member_count"] == await member_count(c)
            else:
                assert "member_count" not in body, body
            if v.role not in ACTIVE:
                assert "channels" not in body, body
        for body in await api_json(v, "/caucuses"):
            assert c.slug in [x["slug"] for x in body["caucuses"]]
    else:
        await api_same(v, "GET", f"/caucuses/{c.slug}", f"/caucuses/{MISSING_SLUG}")
        for bearer in listing:
            r = await v.api("GET", f"{API}/caucuses", bearer=bearer)
            absent({"/api/v1/caucuses": r.text}, c.slug, c.name_word)
    absent(await list_pages(w, v), c.channel_slug)


@check("unlisted_caucus", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _api_caucus(w, v, w.U, allow)


@check("listed_caucus", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _api_caucus(w, v, w.L, allow)


@check("caucus_member_list", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/caucuses/{slug}/members")
    for c in w.caucuses:
        url = f"/caucuses/{c.slug}/members"
        if allow:
            for body in await api_json(v, url):
                assert QUIET in [m["handle"] for m in body["members"]]
        else:
            await api_refused(v, c, url, f"/caucuses/{MISSING_SLUG}/members", QUIET)


@check("join_requests", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/caucuses/{slug}/members")
    canaries = ("larkspurplea", '"ivy"')
    for c in w.caucuses:
        url = f"/caucuses/{c.slug}/members"
        if allow:
            for body in await api_json(v, url):
                if c.key == "L":
                    assert ("rex", "rexnote larkspurplea") in [
                        (r["handle"], r["note"]) for r in body["requests"]
                    ]
                else:
                    assert "ivy" in [r["handle"] for r in body["invited"]]
        elif v.role in ACTIVE:  # a member reads the members, not the requests
            for body in await api_json(v, url):
                assert "requests" not in body and "invited" not in body
                absent({url: json.dumps(body)}, *canaries)
        else:
            await api_refused(v, c, url, f"/caucuses/{MISSING_SLUG}/members", *canaries)


@check("caucus_moderation_log", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/caucuses/{slug}/log")
    for c in w.caucuses:
        url = f"/caucuses/{c.slug}/log"
        if allow:
            for body in await api_json(v, url):
                text = json.dumps(body["entries"], ensure_ascii=False)
                for marker in c.log_markers:
                    assert marker in text, marker
        else:
            await api_refused(v, c, url, f"/caucuses/{MISSING_SLUG}/log", *c.log_markers)
    if has_route(w.app, "GET", API + "/moderation/log"):  # the open log, for everyone
        for bearer in v.api_modes():
            r = await v.api("GET", f"{API}/moderation/log", bearer=bearer)
            absent({"/api/v1/moderation/log": r.text}, "(site-wide)", "umbrahide", "removed by")


@check("caucus_flags", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/review")
    for bearer in v.api_modes():
        opened = await v.api("GET", f"{API}/review", bearer=bearer)
        done = await v.api("GET", f"{API}/review?status=resolved", bearer=bearer)
        if allow:
            assert w.L.flag_note in opened.json()["items"][0]["flag_notes"], opened.text
            assert w.U.flag_note in done.text and "umbradismissal" in done.text
        else:
            assert opened.status_code in (200, 401, 403), _show(opened)
            texts = {"/review": opened.text, "/review?status=resolved": done.text}
            absent(texts, *_flag_canaries(w))
            caucus_threads = {c.thread_id for c in w.caucuses}
            for r in (opened, done):
                items = r.json().get("items", []) if r.status_code == 200 else []
                assert not [
                    i for i in items if (i["post"] or {}).get("thread_id") in caucus_threads
                ]


@check("caucus_post_history", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    need_api(w, "GET", "/posts/{post_id}/revisions")
    for c in w.caucuses:
        url = f"/posts/{c.edited_post_id}/revisions"
        if allow:
            for body in await api_json(v, url):
                assert [r["body"] for r in body["revisions"]] == [f"A {c.old_word}."]
        else:
            await api_same(v, "GET", url, f"/posts/{MISSING_ID}/revisions")


# search ----------------------------------------------------------------------------------------


async def _search(w: World, v: Viewer, allow: bool, q: str, c: CaucusWorld, mark: str) -> None:
    hits = await search_results(w, v, q)
    if allow:
        assert any(mark in h for h in hits), f"{v.role} cannot find {q!r}: {hits}"
    else:
        assert not any(f"/t/{c.thread_id}#" in h for h in hits), f"{q!r} finds {hits}"
        assert not any(c.name in h or c.title in h for h in hits), f"{q!r} finds {hits}"


@check("caucus_thread", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        await _search(w, v, allow, c.title_word, c, f"/t/{c.thread_id}#")


@check("caucus_post", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        await _search(w, v, allow, c.post_word, c, f"/t/{c.thread_id}#p{c.root_post_id}")


@check("caucus_member_list", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)
    assert await search_results(w, v, QUIET) == []


@check("join_requests", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)
    assert await search_results(w, v, "larkspurplea") == []


@check("unlisted_caucus", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _search(w, v, allow, w.U.name_word, w.U, w.U.name)


@check("listed_caucus", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _search(w, v, allow, w.L.name_word, w.L, w.L.name)


@check("caucus_post_history", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)  # an edit replaces the indexed text: earlier words are found by nobody
    for c in w.caucuses:
        assert await search_results(w, v, c.old_word) == []


# notifications ---------------------------------------------------------------------------------


@check("caucus_thread", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    for c in w.caucuses:
        if allow:  # members mentioned in a caucus thread are told
            assert any(c.title in n for n in notes), f"{v.role} was not told: {notes}"
        else:  # non-members mentioned there are not
            assert not any(c.title_word in n or f"/t/{c.thread_id}" in n for n in notes), notes


@check("caucus_post", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    for c in w.caucuses:
        links = (f"/t/{c.thread_id}#p{c.root_post_id}", f"/t/{c.thread_id}#p{c.reply_post_id}")
        if allow:
            assert any(link in n for n in notes for link in links), notes
        else:
            assert not any(f"/t/{c.thread_id}" in n for n in notes), notes


@check("join_requests", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    if allow:
        assert any(f"@rex asked to join {w.L.name}" in n for n in notes), notes
    else:
        assert not any("asked to join" in n for n in notes), notes


@check("unlisted_caucus", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    if allow:
        assert any(w.U.name_word in n for n in notes), notes
    else:
        assert not any(w.U.name_word in n or w.U.slug in n for n in notes), notes


@check("listed_caucus", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    if allow:
        assert any(w.L.name_word in n for n in notes), notes
    else:
        assert not any(w.L.name_word in n or w.L.slug in n for n in notes), notes


# lists_and_counts ------------------------------------------------------------------------------


async def _open_counts_exclude_caucuses(w: World, v: Viewer, pages: dict[str, str]) -> None:
    """Open channel counts count open threads only, and caucus channels are never listed."""
    absent(pages, w.L.channel_slug, w.U.channel_slug)
    if v.role in ("anonymous", "pending", "suspended_caucus_member"):
        return
    channels = pages["/channels"]
    assert '<a class="title" href="/c/general">General</a>' in channels
    general = channels.split('href="/c/general"', 1)[1].split("</li>", 1)[0]
    assert plural(await Thread.filter(channel__slug="general").count(), "thread") in general


@check("caucus_thread", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    await _open_counts_exclude_caucuses(w, v, pages)
    for c in w.caucuses:
        if allow:  # the caucus page lists its threads
            assert c.title in (await v.get(f"/caucuses/{c.slug}")).text
        else:
            absent({**pages, c.slug: (await v.get(f"/caucuses/{c.slug}")).text}, c.title_word)


@check("caucus_post", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    for c in w.caucuses:
        count = (await Thread.get(id=c.thread_id)).post_count
        page = (await v.get(f"/caucuses/{c.slug}")).text
        if allow:
            row = page.split(f'data-thread="{c.thread_id}"', 1)[1].split("</li>", 1)[0]
            assert plural(count, "post") in row
        else:
            absent({**pages, c.slug: page}, c.post_word, f'data-thread="{c.thread_id}"')


@check("caucus_member_list", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)
    absent(await list_pages(w, v), f"@{QUIET}")
    # A member's profile names their caucuses only to those who sit in them too (who read the
    # member list anyway); whoever else looks, admins and facilitators too, learns nothing.
    profile = (await v.get(f"/m/{QUIET}")).text
    main = profile.split('<main id="main"', 1)[-1].split("</main>", 1)[0]
    if v.role in ACTIVE:
        assert w.L.name in main and w.U.name in main
        absent({f"/m/{QUIET}": main}, "Oriole")
    else:
        absent({f"/m/{QUIET}": main}, w.L.name_word, w.U.name_word, "aucus")


@check("join_requests", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)
    absent(await list_pages(w, v), "larkspurplea", "asked to join", w.U.request_marker)


@check("unlisted_caucus", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    if allow:
        # Its members find it on /caucuses and among their own caucuses on their home page;
        # nowhere else lists it.
        assert w.U.name in pages["/caucuses"]
        home = pages["/"]
        sidebar = (
            home.split('id="ch-h"', 1)[1].split("</aside>", 1)[0] if 'id="ch-h"' in home else ""
        )
        absent({k: t for k, t in pages.items() if k not in ("/caucuses", "/")}, w.U.name_word)
        absent({"/ (outside one's own caucuses)": home.replace(sidebar, "")}, w.U.name_word)
    else:
        absent(pages, w.U.name_word, w.U.slug)


@check("listed_caucus", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    c = w.L
    if allow:  # name, description and size for every active member
        listing = pages["/caucuses"]
        assert f'href="/caucuses/{c.slug}">{c.name}</a>' in listing
        entry = listing.split(f'href="/caucuses/{c.slug}"', 1)[1].split("</li>", 1)[0]
        assert plural(await member_count(c), "member") in entry
    else:
        absent(pages, c.name_word, c.slug)


@check("caucus_moderation_log", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    public_log = pages["/moderation/log"]
    absent(
        {"/moderation/log": public_log},
        "(site-wide)",
        "removed by a convener",
        "caucus remove",
        "umbrahide",
        w.L.title_word,
        w.U.title_word,
    )
    for c in w.caucuses:
        page = (await v.get(f"/caucuses/{c.slug}")).text
        if allow:  # "Recent acts in this caucus"
            for marker in c.log_markers:
                assert marker in page, marker
        else:
            absent({**pages, c.slug: page}, "(site-wide)", "removed by a convener")


# error_messages --------------------------------------------------------------------------------


async def _sweep(v: Viewer, template: str, known: set[int], hidden: set[int]) -> None:
    """Guess ids: every id there is, its neighbours and the first few (ids are random, so a
    sweep from 1 finds nothing); each answer is a readable page or exactly the missing answer,
    and every hidden id gives the missing answer."""
    missing = await v.get(template.format(MISSING_ID))
    guesses = {1, 2, 3} | known | {i + 1 for i in known} | {i - 1 for i in known if i > 1}
    for ident in sorted(guesses):
        r = await v.get(template.format(ident))
        if ident in hidden or r.status_code not in (200, 303):
            assert_same(r, missing)


@check("caucus_thread", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        for c in w.caucuses:
            assert (await v.get(f"/t/{c.thread_id}")).status_code == 200
        return
    known = {int(i) for i in await Thread.all().values_list("id", flat=True)}  # type: ignore[call-overload]
    await _sweep(v, "/t/{}", known, {c.thread_id for c in w.caucuses})
    for c in w.caucuses:
        tid = c.thread_id
        await form_same(v, f"/t/{tid}/posts", f"/t/{MISSING_ID}/posts", {"body": "probe"})
        await page_same(v, f"/t/{tid}/moderate", f"/t/{MISSING_ID}/moderate")
        await form_same(
            v,
            f"/t/{tid}/moderate",
            f"/t/{MISSING_ID}/moderate",
            {"action": "lock", "reason": "probe"},
        )
        await form_same(
            v,
            f"/c/{c.channel_slug}/threads",
            f"/c/{MISSING_CHANNEL}/threads",
            {"title": "probe", "body": "probe"},
        )
        if has_route(w.app, "POST", API + "/threads/{thread_id}/posts"):
            await api_same(
                v, "POST", f"/threads/{tid}/posts", f"/threads/{MISSING_ID}/posts", {"body": "x"}
            )
        if has_route(w.app, "POST", API + "/threads/{thread_id}/moderation"):
            await api_same(
                v,
                "POST",
                f"/threads/{tid}/moderation",
                f"/threads/{MISSING_ID}/moderation",
                {"action": "lock", "reason": "probe"},
            )
        if has_route(w.app, "POST", API + "/channels/{slug}/threads"):
            await api_same(
                v,
                "POST",
                f"/channels/{c.channel_slug}/threads",
                f"/channels/{MISSING_CHANNEL}/threads",
                {"title": "probe", "body": "probe"},
            )
        # Following a caucus thread or channel: refused exactly like a missing one, whatever
        # the level asked (a valid one included).
        for level in ("watching", "muted", "none", "bogus"):
            await form_same(v, f"/t/{tid}/follow", f"/t/{MISSING_ID}/follow", {"level": level})
            await form_same(
                v,
                f"/c/{c.channel_slug}/follow",
                f"/c/{MISSING_CHANNEL}/follow",
                {"level": level},
            )
        if has_route(w.app, "PUT", API + "/threads/{thread_id}/follow"):
            for method, body in (("GET", None), ("PUT", {"level": "watching"}), ("DELETE", None)):
                await api_same(
                    v, method, f"/threads/{tid}/follow", f"/threads/{MISSING_ID}/follow", body
                )
                await api_same(
                    v,
                    method,
                    f"/channels/{c.channel_slug}/follow",
                    f"/channels/{MISSING_CHANNEL}/follow",
                    body,
                )


@check("caucus_post", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        for c in w.caucuses:
            assert (await v.get(f"/p/{c.root_post_id}")).status_code == 303
        return
    hidden = {p for c in w.caucuses for p in (c.root_post_id, c.reply_post_id, c.edited_post_id)}
    known = {int(i) for i in await Post.all().values_list("id", flat=True)}  # type: ignore[call-overload]
    in_caucuses = await Post.filter(thread__channel__caucus_id__isnull=False).values_list(
        "id", flat=True
    )
    await _sweep(v, "/p/{}", known, {int(i) for i in in_caucuses})  # type: ignore[call-overload]
    open_tid, m = w.open_thread_id, MISSING_ID
    for pid in sorted(hidden):
        await page_same(v, f"/p/{pid}/edit", f"/p/{m}/edit")
        await page_same(v, f"/t/{open_tid}/reply?to={pid}", f"/t/{open_tid}/reply?to={m}")
        await form_same(v, f"/p/{pid}/edit", f"/p/{m}/edit", {"body": "probe"})
        await form_same(v, f"/p/{pid}/delete", f"/p/{m}/delete")
        for page in ("flag", "moderate"):
            await page_same(v, f"/p/{pid}/{page}", f"/p/{m}/{page}")
        for verb, data in (
            ("flag", {"reason": "spam"}),
            ("hide", {"reason": "probe"}),
            ("restore", {"reason": "probe"}),
            ("appeal", {"note": "probe"}),
        ):
            await form_same(v, f"/p/{pid}/{verb}", f"/p/{m}/{verb}", data)
        # Reactions and bookmarks: refused like a missing post, and who reacted is hidden.
        await form_same(v, f"/p/{pid}/react", f"/p/{m}/react", {"kind": "agree"})
        await form_same(v, f"/p/{pid}/bookmark", f"/p/{m}/bookmark")
        await page_same(v, f"/p/{pid}/reactions", f"/p/{m}/reactions")
        if has_route(w.app, "GET", API + "/posts/{post_id}/reactions"):
            await api_same(v, "GET", f"/posts/{pid}/reactions", f"/posts/{m}/reactions")
            for method in ("POST", "DELETE"):
                await api_same(
                    v, method, f"/posts/{pid}/reactions/agree", f"/posts/{m}/reactions/agree"
                )
            await api_same(v, "DELETE", f"/bookmarks/{pid}", f"/bookmarks/{m}")
            for bearer in v.api_modes():
                b1 = await v.api("POST", f"{API}/bookmarks", bearer=bearer, body={"post_id": pid})
                b2 = await v.api("POST", f"{API}/bookmarks", bearer=bearer, body={"post_id": m})
                assert_same(b1, b2, (401, 404))
        # Replying under a hidden post answers like replying under a missing one.
        r1 = await v.form(f"/t/{open_tid}/posts", {"body": "probe", "parent_id": str(pid)})
        r2 = await v.form(f"/t/{open_tid}/posts", {"body": "probe", "parent_id": str(m)})
        assert_same(r1, r2, (400, 404), echoed=(pid, m))
        if has_route(w.app, "PATCH", API + "/posts/{post_id}"):
            await api_same(v, "PATCH", f"/posts/{pid}", f"/posts/{m}", {"body": "probe"})
            await api_same(v, "DELETE", f"/posts/{pid}", f"/posts/{m}")
        for verb, body in (
            ("flags", {"reason": "spam"}),
            ("hide", {"reason": "probe"}),
            ("restore", {"reason": "probe"}),
            ("appeal", {"note": "probe"}),
        ):
            if has_route(w.app, "POST", API + "/posts/{post_id}/" + verb):
                await api_same(v, "POST", f"/posts/{pid}/{verb}", f"/posts/{m}/{verb}", body)
        if has_route(w.app, "POST", API + "/threads/{thread_id}/posts"):
            for bearer in v.api_modes():
                a = await v.api(
                    "POST",
                    f"{API}/threads/{open_tid}/posts",
                    bearer=bearer,
                    body={"body": "probe", "parent_id": pid},
                )
                b = await v.api(
                    "POST",
                    f"{API}/threads/{open_tid}/posts",
                    bearer=bearer,
                    body={"body": "probe", "parent_id": m},
                )
                assert_same(a, b, (400, 401, 404))


@check("caucus_member_list", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        for c in w.caucuses:
            assert f"@{QUIET}" in (await v.get(f"/caucuses/{c.slug}")).text
        return
    for c in w.caucuses:  # no oracle of who sits in the caucus
        for verb in ("remove", "appoint"):
            await form_same(
                v,
                f"/caucuses/{c.slug}/members/{QUIET}/{verb}",
                f"/caucuses/{c.slug}/members/{MISSING_HANDLE}/{verb}",
                statuses=(403, 404),
            )
        base = f"/caucuses/{c.slug}/members"
        if has_route(w.app, "DELETE", API + "/caucuses/{slug}/members/{handle}"):
            await api_same(
                v, "DELETE", f"{base}/{QUIET}", f"{base}/{MISSING_HANDLE}", None, (401, 403, 404)
            )
        if has_route(w.app, "POST", API + "/caucuses/{slug}/members/{handle}/appoint"):
            await api_same(
                v,
                "POST",
                f"{base}/{QUIET}/appoint",
                f"{base}/{MISSING_HANDLE}/appoint",
                None,
                (401, 403, 404),
            )


@check("join_requests", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        for c in w.caucuses:
            assert c.request_marker in (await v.get(f"/caucuses/{c.slug}")).text
        return
    probes = [(w.L, "rex", "admit"), (w.L, "rex", "decline"), (w.U, "ivy", "remove")]
    for c, handle, verb in probes:  # no oracle of who asked or who is invited
        await form_same(
            v,
            f"/caucuses/{c.slug}/members/{handle}/{verb}",
            f"/caucuses/{c.slug}/members/{MISSING_HANDLE}/{verb}",
            statuses=(403, 404),
        )
        base = f"/caucuses/{c.slug}/members"
        if verb == "remove":
            if has_route(w.app, "DELETE", API + "/caucuses/{slug}/members/{handle}"):
                await api_same(
                    v,
                    "DELETE",
                    f"{base}/{handle}",
                    f"{base}/{MISSING_HANDLE}",
                    None,
                    (401, 403, 404),
                )
        elif has_route(w.app, "POST", API + "/caucuses/{slug}/members/{handle}/" + verb):
            await api_same(
                v,
                "POST",
                f"{base}/{handle}/{verb}",
                f"{base}/{MISSING_HANDLE}/{verb}",
                None,
                (401, 403, 404),
            )


async def _caucus_probes(w: World, v: Viewer, c: CaucusWorld) -> None:
    """Every caucus address answers an outsider exactly like a caucus that does not exist."""
    s, m = c.slug, MISSING_SLUG
    for suffix in ("", "/log"):
        await page_same(v, f"/caucuses/{s}{suffix}", f"/caucuses/{m}{suffix}")
    posts: list[tuple[str, dict[str, str]]] = [
        ("/join", {"note": "probe"}),
        ("/leave", {}),
        ("/accept", {}),
        ("/step-down", {}),
        ("/invite", {"handle": "mo"}),
        ("/archive", {"reason": "probe"}),
        ("/members/cam/appoint", {}),
    ]
    for suffix, data in posts:
        await form_same(v, f"/caucuses/{s}{suffix}", f"/caucuses/{m}{suffix}", data)
    for suffix in ("", "/members", "/log"):
        if has_route(w.app, "GET", API + "/caucuses/{slug}" + suffix):
            await api_same(v, "GET", f"/caucuses/{s}{suffix}", f"/caucuses/{m}{suffix}")
    api_posts: list[tuple[str, dict[str, str] | None]] = [
        ("/join", {"note": "probe"}),
        ("/leave", None),
        ("/accept", None),
        ("/step-down", None),
        ("/invite", {"handle": "mo"}),
        ("/archive", {"reason": "probe"}),
        ("/members/cam/appoint", None),
    ]
    for suffix, body in api_posts:
        if has_route(w.app, "POST", API + "/caucuses/{slug}" + suffix.replace("cam", "{handle}")):
            await api_same(v, "POST", f"/caucuses/{s}{suffix}", f"/caucuses/{m}{suffix}", body)
    discuss = {"thread_id": str(w.open_thread_id)}
    r1 = await v.form("/caucuses/discuss", {**discuss, "caucus": s})
    r2 = await v.form("/caucuses/discuss", {**discuss, "caucus": m})
    assert_same(r1, r2)


@check("unlisted_caucus", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        assert (await v.get(f"/caucuses/{w.U.slug}")).status_code == 200
        return
    await _caucus_probes(w, v, w.U)


@check("listed_caucus", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        assert (await v.get(f"/caucuses/{w.L.slug}")).status_code == 200
        return
    await _caucus_probes(w, v, w.L)


@check("caucus_post_history", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        if allow:
            assert (await v.get(f"/p/{c.edited_post_id}/history")).status_code == 200
            continue
        for pid in (c.root_post_id, c.edited_post_id):
            await page_same(v, f"/p/{pid}/history", f"/p/{MISSING_ID}/history")
            if has_route(w.app, "GET", API + "/posts/{post_id}/revisions"):
                await api_same(
                    v, "GET", f"/posts/{pid}/revisions", f"/posts/{MISSING_ID}/revisions"
                )


@check("caucus_moderation_log", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        url = f"/caucuses/{c.slug}/log"
        if allow:
            assert (await v.get(url)).status_code == 200
        else:
            await page_same(v, url, f"/caucuses/{MISSING_SLUG}/log")


# websocket -------------------------------------------------------------------------------------


@check("caucus_thread", "websocket")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        for topic in (f"thread:{c.thread_id}", f"channel:{c.channel_id}"):
            if allow:
                await socket_subscribed(w, v, topic)
            else:
                await socket_same_as_missing(w, v, topic)


@check("caucus_post", "websocket")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        topic = f"thread:{c.thread_id}"
        if allow:  # replayed from the start: the posts' HTML
            frames = await socket_subscribed(w, v, topic)
            assert any(c.post_word in f.get("html", "") for f in frames), frames
        else:
            await socket_same_as_missing(w, v, topic)


async def _socket_channel(w: World, v: Viewer, c: CaucusWorld, allow: bool) -> None:
    topic = f"channel:{c.channel_id}"
    if allow:
        await socket_subscribed(w, v, topic)
    else:
        await socket_same_as_missing(w, v, topic)


@check("unlisted_caucus", "websocket")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _socket_channel(w, v, w.U, allow)


@check("listed_caucus", "websocket")
async def _(w: World, v: Viewer, allow: bool) -> None:
    await _socket_channel(w, v, w.L, allow)


# caucus_flags ----------------------------------------------------------------------------------


async def _review_pages(v: Viewer) -> dict[str, str]:
    return {url: (await v.get(url)).text for url in ("/review", "/review?status=resolved")}


def _flag_canaries(w: World) -> tuple[str, ...]:
    return (
        w.L.flag_note,
        w.U.flag_note,
        "umbradismissal",
        f'id="item-{w.L.flag_item_id}"',
        f'id="item-{w.U.flag_item_id}"',
    )


@check("caucus_flags", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await _review_pages(v)
    if allow:  # the conveners' review queue: the open flag, and the one they dismissed
        assert w.L.flag_note in pages["/review"]
        assert w.U.flag_note in pages["/review?status=resolved"]
        assert "umbradismissal" in pages["/review?status=resolved"]
    else:
        absent(pages, *_flag_canaries(w))


@check("caucus_flags", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    deny_only(allow)
    for word in ("larkspurflag", "umbraflag", "umbradismissal"):
        assert await search_results(w, v, word) == []


@check("caucus_flags", "notifications")
async def _(w: World, v: Viewer, allow: bool) -> None:
    notes = await notification_texts(w, v)
    if allow:  # the flagger is told the outcome
        assert any("umbradismissal" in n for n in notes), notes
    else:
        assert not any("umbradismissal" in n or "Your flag" in n for n in notes), notes


@check("caucus_flags", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = {**await list_pages(w, v), **await _review_pages(v)}
    if allow:
        item = pages["/review"].split(f'id="item-{w.L.flag_item_id}"', 1)[1].split("</li>", 1)[0]
        assert "1 flag: other" in item and f'href="/p/{w.L.root_post_id}"' in item
    else:
        absent(pages, *_flag_canaries(w))


@check("caucus_flags", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    if allow:
        assert f'id="item-{w.L.flag_item_id}"' in (await v.get("/review")).text
        return
    for c in w.caucuses:  # review items are guessed in order too
        for verb, data in (("claim", {}), ("resolve", {"resolution": "dismissed", "reason": "x"})):
            await form_same(
                v, f"/review/{c.flag_item_id}/{verb}", f"/review/{MISSING_ID}/{verb}", data
            )
            if has_route(w.app, "POST", API + "/review/{item_id}/" + verb):
                await api_same(
                    v,
                    "POST",
                    f"/review/{c.flag_item_id}/{verb}",
                    f"/review/{MISSING_ID}/{verb}",
                    data or None,
                )


# feeds_exports ---------------------------------------------------------------------------------

FEED = "/c/{}/feed.atom"
# Routes that publish feeds or exports, each covered by the feeds_exports checks below.
# The decision export is checked by caucus_decision x feeds_exports.
FEED_ROUTES = {"/c/{slug}/feed.atom", "/d/{decision_id}/result.csv"}


def _feed_canaries(w: World, resource: str) -> tuple[str, ...]:
    L, U = w.L, w.U
    return {
        "caucus_thread": (L.title_word, U.title_word),
        "caucus_post": (L.post_word, U.post_word),
        "caucus_member_list": (f"@{QUIET}",),
        "join_requests": ("larkspurplea", U.request_marker),
        "unlisted_caucus": (U.name_word, U.slug),
        "listed_caucus": (L.name_word, L.slug),
        "caucus_post_history": (L.old_word, U.old_word),
        "caucus_moderation_log": ("(site-wide)", "umbrahide", "removed by a convener"),
        "caucus_flags": (L.flag_note, U.flag_note, "umbradismissal"),
    }[resource]


def _feed_check(resource: str) -> Check:
    async def run(w: World, v: Viewer, allow: bool) -> None:
        deny_only(allow)  # a feed reader carries no session: feeds answer as anonymous
        if not has_route(w.app, "GET", FEED.format("{slug}")):
            pytest.skip("no feed is routed (yet)")
        public = await v.get(FEED.format("notices"))
        assert public.status_code == 200 and "tulipword" in public.text, _show(public)
        texts = {FEED.format("notices"): public.text}
        for c in w.caucuses:  # a caucus channel's feed is missing, even for its members
            hidden = await v.get(FEED.format(c.channel_slug))
            assert_same(hidden, await v.get(FEED.format(MISSING_CHANNEL)))
            texts[FEED.format(c.channel_slug)] = hidden.text
        absent(texts, *_feed_canaries(w, resource))

    return run


for _resource in RESOURCES:
    CHECKS[(_resource, "feeds_exports")] = _feed_check(_resource)


# ---- the matrix itself ------------------------------------------------------------------------


def _cells() -> list[Any]:
    out = []
    for resource in RESOURCES:
        for surface in SURFACES:
            for role in ROLES:
                key = (role, resource, surface)
                marks = []
                if key in KNOWN_FAILURES:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[key]))
                out.append(pytest.param(role, resource, surface, id="-".join(key), marks=marks))
    return out


@pytest.mark.parametrize(("role", "resource", "surface"), _cells())
async def test_cell(world: World, role: str, resource: str, surface: str) -> None:
    outcome = MATRIX.get((role, resource, surface))
    assert outcome is not None, "undeclared cell: see test_matrix_is_complete"
    if outcome in ("n/a", "pending"):
        pytest.skip(REASONS[(resource, surface)])
    await CHECKS[(resource, surface)](world, world.viewers[role], outcome == "allow")


async def test_matrix_is_complete() -> None:
    """Every role x resource x surface has a declared outcome, every n/a or pending line has its
    reason, and every asserted line has its check."""
    problems = list(TABLE_PROBLEMS)
    for resource in RESOURCES:
        for surface in SURFACES:
            outcomes = {MATRIX.get((role, resource, surface)) for role in ROLES}
            if None in outcomes:
                missing = [r for r in ROLES if (r, resource, surface) not in MATRIX]
                problems.append(f"{resource} x {surface}: no outcome for {missing}")
            elif outcomes & {"allow", "deny"} and (resource, surface) not in CHECKS:
                problems.append(f"{resource} x {surface}: declared but no check in CHECKS")
            elif outcomes <= {"n/a", "pending"} and (resource, surface) not in REASONS:
                problems.append(f"{resource} x {surface}: n/a without a reason")
    for key in CHECKS:
        if key[0] not in RESOURCES or key[1] not in SURFACES:
            problems.append(f"check for unknown cell {key}")
    for role, _resource, _surface in MATRIX:
        if role not in ROLES:
            problems.append(f"outcome for unknown role {role}")
    assert set(ROLES) == set(world_roles()), "every role needs a viewer in seed_world"
    assert not problems, "\n".join(problems)


def world_roles() -> list[str]:
    return list(HANDLES)


# ---- rows that must be filled in when the product grows ---------------------------------------

# Every /api/v1 route, placed in the matrix: the json_api/error_messages checks that cover it, or
# why it carries no caucus data. A new endpoint fails test_every_api_route_is_placed until it is
# placed here (and, when it carries caucus data, checked in CHECKS).
SITE_ONLY = "no caucus data: "
API_PRIVACY: dict[str, str] = {
    "GET /api/v1/threads/{thread_id}/drafts": "the caller's own drafts, in a thread they may "
    "reply to: a caucus thread is 404 to outsiders exactly as a missing one (tests/test_drafts.py)",
    "PUT /api/v1/threads/{thread_id}/draft": "as the drafts list (tests/test_drafts.py)",
    "POST /api/v1/password-reset": SITE_ONLY + "the same answer for any address or handle",
    "POST /api/v1/email/confirm": SITE_ONLY + "a token from the member's own mailbox",
    "POST /api/v1/me/email": SITE_ONLY + "the caller's own address",
    "GET /api/v1/decisions": "caucus_decision search, json_api (the organisation's register "
    "never lists caucus decisions; a caucus's register is 404 to outsiders)",
    "GET /api/v1/decisions/{decision_id}": "caucus_decision json_api",
    "GET /api/v1/threads/{thread_id}/decisions": "caucus_decision json_api",
    "POST /api/v1/threads/{thread_id}/decisions": "caucus_decision error_messages",
    "PATCH /api/v1/decisions/{decision_id}": "caucus_decision error_messages",
    "POST /api/v1/decisions/{decision_id}/open": "caucus_decision error_messages",
    "POST /api/v1/decisions/{decision_id}/votes": "caucus_decision error_messages",
    "POST /api/v1/decisions/{decision_id}/close": "caucus_decision error_messages",
    "POST /api/v1/decisions/{decision_id}/close-at": "caucus_decision error_messages",
    "PUT /api/v1/decisions/{decision_id}/statement": "caucus_decision error_messages",
    "GET /api/v1/openapi.json": SITE_ONLY + "the document",
    "GET /api/v1/me": SITE_ONLY + "the caller's own account (badge: former-member xfail test)",
    "GET /api/v1/tokens": SITE_ONLY + "the caller's own API tokens (tests/test_tokens.py)",
    "POST /api/v1/tokens": SITE_ONLY + "the caller's own API tokens (tests/test_tokens.py)",
    "DELETE /api/v1/tokens/{token_id}": SITE_ONLY
    + "the caller's own tokens; another's id is 404 (tests/test_tokens.py)",
    "GET /api/v1/me/email-preferences": SITE_ONLY
    + "the caller's own email cadences (tests/test_mail_notify.py)",
    "PATCH /api/v1/me/email-preferences": SITE_ONLY
    + "the caller's own email cadences (tests/test_mail_notify.py)",
    "GET /api/v1/channels": "lists_and_counts, json_api (caucus channels never listed)",
    "GET /api/v1/channels/{slug}": "caucus_thread json_api",
    "GET /api/v1/channels/{slug}/threads": "caucus_thread json_api",
    "POST /api/v1/channels/{slug}/threads": "caucus_thread error_messages",
    "GET /api/v1/threads/{thread_id}": "caucus_thread, caucus_post json_api",
    "POST /api/v1/threads/{thread_id}/posts": "caucus_thread, caucus_post error_messages",
    "GET /api/v1/posts/{post_id}": "caucus_post json_api",
    "PATCH /api/v1/posts/{post_id}": "caucus_post error_messages",
    "DELETE /api/v1/posts/{post_id}": "caucus_post error_messages",
    "GET /api/v1/posts/{post_id}/revisions": "caucus_post_history json_api, error_messages",
    "GET /api/v1/statements": "lists_and_counts (seeded open threads only)",
    "POST /api/v1/statements": SITE_ONLY + "admins publish into open channels",
    "GET /api/v1/statements/{statement_id}/versions": SITE_ONLY + "seeded open threads only",
    "GET /api/v1/notifications": "notifications",
    "POST /api/v1/notifications/read": SITE_ONLY + "the caller's own notifications",
    "GET /api/v1/search": "search",
    "GET /api/v1/caucuses": "unlisted_caucus, listed_caucus json_api",
    "POST /api/v1/caucuses": "founding: duplicate names among known caucuses only (test_caucuses)",
    "GET /api/v1/caucuses/{slug}": "unlisted_caucus, listed_caucus json_api, error_messages",
    "GET /api/v1/caucuses/{slug}/members": "caucus_member_list, join_requests json_api",
    "GET /api/v1/caucuses/{slug}/log": "caucus_moderation_log json_api",
    "POST /api/v1/caucuses/{slug}/join": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/caucuses/{slug}/leave": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/caucuses/{slug}/accept": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/caucuses/{slug}/step-down": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/caucuses/{slug}/invite": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/caucuses/{slug}/members/{handle}/admit": "join_requests error_messages",
    "POST /api/v1/caucuses/{slug}/members/{handle}/decline": "join_requests error_messages",
    "POST /api/v1/caucuses/{slug}/members/{handle}/appoint": "caucus_member_list error_messages",
    "DELETE /api/v1/caucuses/{slug}/members/{handle}": "member_list, join_requests errors",
    "POST /api/v1/caucuses/{slug}/archive": "unlisted_caucus, listed_caucus error_messages",
    "POST /api/v1/posts/{post_id}/flags": "caucus_post error_messages",
    "GET /api/v1/review": "caucus_flags json_api",
    "POST /api/v1/review/{item_id}/claim": "caucus_flags error_messages",
    "POST /api/v1/review/{item_id}/resolve": "caucus_flags error_messages",
    "POST /api/v1/posts/{post_id}/hide": "caucus_post error_messages",
    "POST /api/v1/posts/{post_id}/restore": "caucus_post error_messages",
    "POST /api/v1/posts/{post_id}/appeal": "caucus_post error_messages",
    "POST /api/v1/threads/{thread_id}/moderation": "caucus_thread error_messages",
    "POST /api/v1/members/{handle}/warn": SITE_ONLY + "a site-wide notice, logged openly",
    "GET /api/v1/moderation/log": "caucus_moderation_log json_api (never caucus entries)",
    # Confidential reports: their own matrix, every role x surface (tests/test_reports_api.py).
    "POST /api/v1/reports": "reports matrix; a caucus post_id one cannot read is dropped, "
    "exactly as a missing one",
    "GET /api/v1/reports": "reports matrix (lists)",
    "GET /api/v1/reports/{report_id}": "reports matrix (json)",
    "POST /api/v1/reports/{report_id}/acts": "reports matrix (acts)",
    "GET /api/v1/committee": SITE_ONLY + "the public roster",
    "GET /api/v1/posts/{post_id}/reactions": "caucus_post error_messages; tests/privacy/"
    "test_people.py",
    "POST /api/v1/posts/{post_id}/reactions/{kind}": "caucus_post error_messages",
    "DELETE /api/v1/posts/{post_id}/reactions/{kind}": "caucus_post error_messages",
    "GET /api/v1/bookmarks": "the caller's own bookmarks, narrowed to posts they read "
    "(tests/test_reactions.py: a caucus left drops its posts)",
    "POST /api/v1/bookmarks": "caucus_post error_messages",
    "DELETE /api/v1/bookmarks/{post_id}": "caucus_post error_messages",
    "GET /api/v1/members": "no caucus data (tests/privacy/test_people.py, every role)",
    "GET /api/v1/following": "the caller's own follows, narrowed to what they read "
    "(tests/privacy/test_follows.py: never a caucus thread to a non-member)",
    "GET /api/v1/threads/{thread_id}/follow": "caucus_thread error_messages",
    "PUT /api/v1/threads/{thread_id}/follow": "caucus_thread error_messages",
    "DELETE /api/v1/threads/{thread_id}/follow": "caucus_thread error_messages",
    "GET /api/v1/channels/{slug}/follow": "caucus_thread error_messages",
    "PUT /api/v1/channels/{slug}/follow": "caucus_thread error_messages",
    "DELETE /api/v1/channels/{slug}/follow": "caucus_thread error_messages",
    "GET /api/v1/members/{handle}": "shared caucuses only (tests/privacy/test_people.py)",
    # Site invites carry no caucus data; admins only, with a token's admin scope
    # (tests/test_invites.py).
    "GET /api/v1/invites": "site invites, admins only (tests/test_invites.py)",
    "POST /api/v1/invites": "site invites, admins only (tests/test_invites.py)",
    "DELETE /api/v1/invites/{invite_id}": "site invites, admins only (tests/test_invites.py)",
}


async def test_every_api_route_is_placed_in_the_matrix(world: World) -> None:
    routed = {
        f"{method} {r.path}"
        for r in walk_routes(list(world.app.routes))
        if r.path.startswith(API + "/")
        for method in r.methods
    }
    new, gone = sorted(routed - set(API_PRIVACY)), sorted(set(API_PRIVACY) - routed)
    assert not new, (
        "new /api/v1 routes: check them in tests/privacy/test_matrix.py (json_api or "
        "error_messages of the resources they carry) and place them in API_PRIVACY:\n"
        + "\n".join(new)
    )
    assert not gone, "API_PRIVACY lists routes that no longer exist:\n" + "\n".join(gone)


async def test_every_feed_or_export_route_is_covered(world: World) -> None:
    words = ("feed", "rss", "atom", "export", ".xml", ".csv", ".json", "download")
    found = {
        r.path
        for r in walk_routes(list(world.app.routes))
        if any(x in r.path for x in words) and r.path != API + "/openapi.json"
    }
    assert found <= FEED_ROUTES, (
        "new feeds or exports: add them to the feeds_exports checks (FEED_ROUTES): "
        f"{sorted(found - FEED_ROUTES)}"
    )


# ---- beyond single cells ----------------------------------------------------------------------


async def test_websocket_member_topics_are_private(world: World) -> None:
    """member:{id} carries notifications and seat changes: only that member follows it."""
    if not has_route(world.app, "WS", "/ws"):
        pytest.skip("/ws is not routed (yet)")
    others = [world.member_ids["caucus_convener"], world.member_ids["join_requester"]]
    for role, viewer in world.viewers.items():
        for member_id in others:
            if member_id == viewer.member_id:
                continue
            await socket_same_as_missing(world, viewer, f"member:{member_id}")
        if role in ACTIVE:
            await socket_subscribed(world, viewer, f"member:{viewer.member_id}")


async def test_removed_member_loses_access_on_the_very_next_request(world: World) -> None:
    """Removal by a convener: the next page, API call (cookie or token) and socket delivery
    no longer reach the caucus."""
    lee, cora, u = world.leaver, world.viewers["caucus_convener"], world.U
    assert lee is not None
    thread = f"/t/{u.thread_id}"
    assert (await lee.get(thread)).status_code == 200
    assert (await lee.get(f"/caucuses/{u.slug}")).status_code == 200
    api_ok = has_route(world.app, "GET", API + "/threads/{thread_id}")
    if api_ok:
        for bearer in lee.api_modes():
            r = await lee.api("GET", f"{API}/threads/{u.thread_id}", bearer=bearer)
            assert r.status_code == 200
    ws_ok = has_route(world.app, "WS", "/ws")
    socket = Socket(world.app, lee.cookie) if ws_ok else None
    if socket is not None:
        await socket.__aenter__()
        frames = await socket.exchange({"op": "subscribe", "topic": f"thread:{u.thread_id}"})
        assert frames and frames[0]["op"] == "subscribed", frames
    try:
        removed = await cora.form(f"/caucuses/{u.slug}/members/{lee.handle}/remove")
        assert removed.status_code == 303, removed.text
        await page_same(lee, thread, f"/t/{MISSING_ID}")
        await page_same(lee, f"/caucuses/{u.slug}", f"/caucuses/{MISSING_SLUG}")
        await page_same(lee, f"/p/{u.root_post_id}", f"/p/{MISSING_ID}")
        assert await search_results(world, lee, u.post_word) == []
        if api_ok:
            await api_same(lee, "GET", f"/threads/{u.thread_id}", f"/threads/{MISSING_ID}")
            await api_same(lee, "GET", f"/posts/{u.root_post_id}", f"/posts/{MISSING_ID}")
        if socket is not None:
            revoked = await socket.frame()
            assert revoked == {"op": "revoked", "topic": f"thread:{u.thread_id}"}, revoked
    finally:
        if socket is not None:
            await socket.__aexit__(None, None, None)


async def test_invitee_is_not_shown_the_size_of_an_unlisted_caucus(world: World) -> None:
    """An invitee knows the unlisted caucus's name (to decide), not its size: sizes are for
    listed caucuses and for members."""
    ivy, u = world.viewers["invitee"], world.U
    size = plural(await member_count(u), "member")
    page = (await ivy.get(f"/caucuses/{u.slug}")).text
    listing = (await ivy.get("/caucuses")).text
    entry = listing.split(f'href="/caucuses/{u.slug}"', 1)[1].split("</li>", 1)[0]
    assert size not in page and size not in entry


async def test_former_member_is_not_told_of_acts_in_a_caucus_they_left(world: World) -> None:
    fred, cora, u = world.viewers["former_caucus_member"], world.viewers["caucus_convener"], world.U
    assert fred.member_id is not None
    before = (await fred.api("GET", f"{API}/me")).json()["unread_notifications"]
    socket = Socket(world.app, fred.cookie)
    await socket.__aenter__()
    try:
        frames = await socket.exchange({"op": "subscribe", "topic": f"member:{fred.member_id}"})
        assert frames and frames[0]["op"] == "subscribed", frames
        hidden = await cora.form(f"/p/{u.former_post_id}/hide", {"reason": "probe hide"})
        assert hidden.status_code == 303, hidden.text
        me = (await fred.api("GET", f"{API}/me")).json()
        listed = (await fred.api("GET", f"{API}/notifications")).json()["notifications"]
        visible_unread = sum(1 for n in listed if not n["read"])
        assert me["unread_notifications"] == visible_unread, (
            f"badge {me['unread_notifications']} but {visible_unread} unread to see"
        )
        assert await socket.exchange({"op": "ping"}) == [], "a frame about the caucus arrived"
    finally:
        await socket.__aexit__(None, None, None)
        await moderation.restore(
            await ctx_for(world.app, await Member.get(handle="cora")),
            u.former_post_id,
            "probe over",
        )
        await Notification.filter(member_id=fred.member_id, kind="moderation").delete()
        await Member.filter(id=fred.member_id).update(unread_notifications=before)


async def test_a_convener_who_steps_down_no_longer_sees_requests(world: World) -> None:
    """Join requests are for conveners: stepping down ends that view on the very next request."""
    cora, lark = world.viewers["caucus_convener"], world.L
    appointed = await cora.form(f"/caucuses/{lark.slug}/members/{QUIET}/appoint")
    assert appointed.status_code == 303, appointed.text
    quiet = await Member.get(handle=QUIET)
    token = await accounts.start_session(quiet, "step-down", None)
    session = await Session.filter(member_id=quiet.id).order_by("-id").first()
    assert session is not None
    headers = {"cookie": f"forum_session={token}"}
    transport = httpx.ASGITransport(app=world.app, client=("127.0.0.1", 4321))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as q:
        assert lark.request_marker in (await q.get(f"/caucuses/{lark.slug}")).text
        stepped = await q.post(
            f"/caucuses/{lark.slug}/step-down", data={"csrf": session.csrf_token}
        )
        assert stepped.status_code == 303, stepped.text
        page = (await q.get(f"/caucuses/{lark.slug}")).text
        assert f"@{QUIET}" in page and lark.request_marker not in page
        refused = await q.post(
            f"/caucuses/{lark.slug}/members/rex/admit", data={"csrf": session.csrf_token}
        )
        assert refused.status_code == 403


async def test_health_check_reveals_nothing(world: World) -> None:
    for viewer in world.viewers.values():
        response = await viewer.get("/healthz")
        assert (response.status_code, response.text) == (200, "ok")


HIDDEN_TEXT = "An aside to hide."


async def test_a_hidden_caucus_post_shows_its_notice_not_its_text(world: World) -> None:
    """Inside the caucus, a hidden post's text is for its author and the conveners: a plain
    member reads the notice on the thread page, the API, its history and the socket replay."""
    quinn, pid, u = await viewer_for(world, QUIET), world.U.hidden_post_id, world.U
    async with quinn.client:
        page = await quinn.get(f"/t/{u.thread_id}")
        assert page.status_code == 200 and f'id="p{pid}"' in page.text
        assert HIDDEN_TEXT not in page.text
        assert (await quinn.get(f"/p/{pid}/history")).status_code == 403
        for bearer in quinn.api_modes():
            body = (await quinn.api("GET", f"{API}/posts/{pid}", bearer=bearer)).json()
            assert body["hidden"] and body["html"] is None and "body" not in body
        if has_route(world.app, "WS", "/ws"):
            frames = await socket_subscribed(world, quinn, f"thread:{u.thread_id}")
            assert not any(HIDDEN_TEXT in json.dumps(f) for f in frames)
    for author_or_convener in ("caucus_member", "caucus_convener"):
        page = await world.viewers[author_or_convener].get(f"/t/{u.thread_id}")
        assert HIDDEN_TEXT in page.text


@pytest.mark.parametrize(
    "page",
    ["edit", "flag"],
)
async def test_hidden_text_is_not_printed_by_post_forms(world: World, page: str) -> None:
    quinn, pid = await viewer_for(world, QUIET), world.U.hidden_post_id
    async with quinn.client:
        response = await quinn.get(f"/p/{pid}/{page}")
    assert HIDDEN_TEXT not in response.text, f"/p/{pid}/{page} -> {response.status_code}"


# caucus decisions ------------------------------------------------------------------------------


def _decision_canaries(c: CaucusWorld) -> tuple[str, str]:
    return c.decision_word, c.statement_word


@check("caucus_decision", "html")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        pairs = [
            (f"/d/{c.decision_id}", f"/d/{MISSING_ID}"),
            (f"/caucuses/{c.slug}/decisions", f"/caucuses/{MISSING_SLUG}/decisions"),
            (f"/t/{c.thread_id}/decide", f"/t/{MISSING_ID}/decide"),
            (f"/d/{c.decision_id}/edit", f"/d/{MISSING_ID}/edit"),
        ]
        if allow:
            page = await v.get(f"/d/{c.decision_id}")
            assert page.status_code == 200 and c.decision_word in page.text
            assert "Carried" in page.text and c.statement_word in page.text
            register = await v.get(f"/caucuses/{c.slug}/decisions")
            assert c.decision_word in register.text
            assert c.decision_word in (await v.get(f"/t/{c.thread_id}")).text
        else:
            for url, missing in pairs:
                await page_same(v, url, missing)


@check("caucus_decision", "json_api")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        if allow:
            for body in await api_json(v, f"/decisions/{c.decision_id}"):
                assert body["outcome"] == "carried" and body["result"]["counts"]["agree"] == 1
                assert body["open_ballots"] == []  # secret: nobody is named
            for body in await api_json(v, f"/decisions?caucus={c.slug}"):
                assert [d["id"] for d in body["decisions"]] == [c.decision_id]
            for body in await api_json(v, f"/threads/{c.thread_id}/decisions"):
                assert c.decision_word in json.dumps(body)
            continue
        await api_same(v, "GET", f"/decisions/{c.decision_id}", f"/decisions/{MISSING_ID}")
        await api_same(v, "GET", f"/decisions?caucus={c.slug}", f"/decisions?caucus={MISSING_SLUG}")
        await api_same(
            v, "GET", f"/threads/{c.thread_id}/decisions", f"/threads/{MISSING_ID}/decisions"
        )


@check("caucus_decision", "search")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        found = await v.get(f"/decisions?q={c.decision_word}")
        texts = {"/decisions": found.text}
        for bearer in v.api_modes():
            r = await v.api("GET", f"{API}/decisions?q={c.decision_word}", bearer=bearer)
            texts[f"api {bearer}"] = r.text
        # The organisation's register never lists a caucus's decision, whoever searches (the
        # searched word is echoed in the form: look for the statement and the link instead).
        absent(texts, c.statement_word, f"/d/{c.decision_id}")
        mine = await v.get(f"/caucuses/{c.slug}/decisions?q={c.statement_word}")
        if allow:
            assert c.decision_word in mine.text
        else:
            missing = await v.get(f"/caucuses/{MISSING_SLUG}/decisions?q={c.statement_word}")
            assert_same(mine, missing)


@check("caucus_decision", "lists_and_counts")
async def _(w: World, v: Viewer, allow: bool) -> None:
    pages = await list_pages(w, v)
    pages["/decisions"] = (await v.get("/decisions")).text
    for c in w.caucuses:
        absent(pages, *_decision_canaries(c))
        caucus_page = (await v.get(f"/caucuses/{c.slug}/decisions")).text
        if allow:
            assert c.decision_word in caucus_page and "1 of " in caucus_page
        else:
            absent({c.slug: caucus_page}, *_decision_canaries(c))


@check("caucus_decision", "error_messages")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        did = c.decision_id
        if allow:
            late = await v.form(f"/d/{did}/vote", {"position": "agree"})
            assert late.status_code == 409 and "Voting has closed" in late.text
            continue
        for verb, data in (
            ("vote", {"position": "agree"}),
            ("close", {"reason": "x"}),
            ("statement", {"statement": "x"}),
            ("close-at", {"closes_at": "2030-01-01T00:00", "reason": "x"}),
            ("open", {}),
        ):
            await form_same(v, f"/d/{did}/{verb}", f"/d/{MISSING_ID}/{verb}", data, (404, 401, 403))
        await form_same(
            v,
            f"/t/{c.thread_id}/decisions",
            f"/t/{MISSING_ID}/decisions",
            {"kind": "motion", "title": "x"},
            (404, 401, 403),
        )
        for method, tail, body in (
            ("POST", "/votes", {"position": "agree"}),
            ("POST", "/close", {"reason": "x"}),
            ("POST", "/close-at", {"closes_at": "2030-01-01T00:00:00Z", "reason": "x"}),
            ("POST", "/open", None),
            ("PATCH", "", {"kind": "motion", "title": "x"}),
            ("PUT", "/statement", {"statement": "x"}),
        ):
            await api_same(
                v, method, f"/decisions/{did}{tail}", f"/decisions/{MISSING_ID}{tail}", body
            )
        await api_same(
            v,
            "POST",
            f"/threads/{c.thread_id}/decisions",
            f"/threads/{MISSING_ID}/decisions",
            {"kind": "motion", "title": "x"},
        )


@check("caucus_decision", "feeds_exports")
async def _(w: World, v: Viewer, allow: bool) -> None:
    for c in w.caucuses:
        export = await v.get(f"/d/{c.decision_id}/result.csv")
        if allow:
            assert export.status_code == 200 and c.statement_word in export.text
        else:
            await page_same(v, f"/d/{c.decision_id}/result.csv", f"/d/{MISSING_ID}/result.csv")
