"""The URL map itself: every route declares who may reach it, every route is exercised by some
test, and every unsafe route refuses a request that carries a session but no CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.models import Member, Post, Thread
from forum.services import accounts, caucuses, channels, posting
from forum.services.context import Ctx
from forum.settings import Settings
from forum.web.access import RULES
from tests.conftest import BASE, make_member
from tests.privacy.conftest import CSRF_MESSAGE, RouteInfo, walk_routes

TESTS = Path(__file__).resolve().parents[1]
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
API = "/api/v1"


def routes_of(settings: Settings) -> list[RouteInfo]:
    return walk_routes(list(create_app(settings).routes))


# ---- every route declares its access ----------------------------------------------------------


def test_every_route_declares_access(settings: Settings) -> None:
    undeclared = []
    for route in routes_of(settings):
        rule = getattr(route.endpoint, "__access__", None)
        if rule not in RULES:
            methods = ",".join(sorted(route.methods)) or "WS"
            undeclared.append(f"{methods} {route.path} ({route.endpoint!r}: {rule!r})")
    assert not undeclared, "routes without @access(...):\n" + "\n".join(undeclared)


# ---- every route is exercised by some test ----------------------------------------------------

# A path parameter as tests write it: an f-string field ({thread_id}, {a1['id']}, {}) or a
# literal value (42, general).
PARAM = r"(?:\{[^{}\n]*\}|[^/\"'\s?#{}]+)"
# What shows a request's method near its path (helpers included: post_form, Viewer.form).
METHOD_HINTS = {
    "GET": None,  # a GET is what a bare path is
    "POST": re.compile(r"post\(|post_form\(|\.form\(|\"POST\"|'POST'|method=\"post\"", re.I),
    "PATCH": re.compile(r"patch\(|\"PATCH\"|'PATCH'", re.I),
    "PUT": re.compile(r"put\(|\"PUT\"|'PUT'", re.I),
    "DELETE": re.compile(r"delete\(|\"DELETE\"|'DELETE'", re.I),
    "WS": re.compile(r"websocket|Socket\(|/ws\b", re.I),
}
HINT_WINDOW = 300  # characters before the path in which its method must be named


def path_pattern(template: str) -> re.Pattern[str]:
    """`/t/{thread_id}/reply` as tests spell it; an /api/v1 path may follow a prefix variable
    (f"{API}/threads/{tid}")."""

    def body(path: str) -> str:
        parts = re.split(r"\{[^}]+\}", path)
        return PARAM.join(re.escape(p) for p in parts)

    if template == "/":
        return re.compile(r"[\"']/[\"'?#]")
    options = [r"[\"'}]" + body(template)]
    if template.startswith(API + "/"):
        options.append(r"\}" + body(template[len(API) :]))
    end = r"(?=[\"'?#{]|$)"
    return re.compile("(?:" + "|".join(options) + ")" + end, re.M)


def read_test_sources() -> dict[str, str]:
    this = Path(__file__).resolve()
    return {
        str(p.relative_to(TESTS)): p.read_text(encoding="utf-8")
        for p in sorted(TESTS.rglob("*.py"))
        if p.resolve() != this
    }


def exercised(route: RouteInfo, method: str, sources: dict[str, str]) -> bool:
    pattern = path_pattern(route.path)
    hint = METHOD_HINTS.get(method)
    for text in sources.values():
        for match in pattern.finditer(text):
            if hint is None:
                return True
            window = text[max(0, match.start() - HINT_WINDOW) : match.end() + 40]
            if hint.search(window):
                return True
    return False


def test_every_route_is_exercised_by_a_test(settings: Settings) -> None:
    """Each route path (with its method) appears in at least one test file under tests/, its
    parameters written as literals or f-string fields."""
    sources = read_test_sources()
    missing = []
    for route in routes_of(settings):
        for method in sorted(route.methods) or ["WS"]:
            if not exercised(route, method, sources):
                missing.append(f"{method} {route.path}")
    assert not missing, "routes no test file exercises:\n" + "\n".join(missing)


def test_the_exercise_finder_is_not_fooled() -> None:
    route = RouteInfo("/t/{thread_id}", frozenset({"GET"}), None)
    assert exercised(route, "GET", {"a": 'await c.get(f"/t/{thread.id}")'})
    assert exercised(route, "GET", {"a": 'await c.get("/t/42?after=x")'})
    assert not exercised(route, "GET", {"a": 'await c.get(f"/t/{tid}/reply")'})
    reply = RouteInfo("/t/{thread_id}/posts", frozenset({"POST"}), None)
    assert exercised(reply, "POST", {"a": 'await post_form(c, f"/t/{tid}/posts", {})'})
    assert not exercised(reply, "POST", {"a": 'links = ["/t/1/posts"]'})
    api = RouteInfo(f"{API}/posts/{{post_id}}", frozenset({"PATCH"}), None)
    assert exercised(api, "PATCH", {"a": "await c.patch(f\"{API}/posts/{a1['id']}\", json={})"})
    assert not exercised(api, "PATCH", {"a": 'await c.patch(f"{API}/posts/{p}/revisions")'})
    home = RouteInfo("/", frozenset({"GET"}), None)
    assert exercised(home, "GET", {"a": 'await c.get("/")'})
    assert not exercised(home, "GET", {"a": 'await c.get("/x")'})


# ---- every unsafe route checks the CSRF token -------------------------------------------------


async def _seed(app: Starlette) -> dict[str, str]:
    """An admin who convenes a caucus and wrote a post, and another member: real targets, so a
    route that looked anything up before checking the token would act, not 404."""
    admin = await make_member("ada", "admin")
    await make_member("bo")
    await channels.create_channel(None, "General", "general")
    ctx = Ctx(services=app.state.services, actor=await accounts.load_actor(admin), member=admin)
    thread = await posting.start_thread(ctx, "general", "A thread", "A post.")
    caucus = await caucuses.found(ctx, "Csrf Caucus")
    post = await Post.get(thread_id=thread.id)
    token = await accounts.start_session(admin, "csrf-walk", None)
    return {
        "thread_id": str(thread.id),
        "post_id": str(post.id),
        "caucus": caucus.slug,
        "token": token,
    }


def _fill(path: str, seeded: dict[str, str]) -> str:
    """Path parameters pointing at real things the admin may act on."""
    slug = seeded["caucus"] if path.startswith("/caucuses/") else "general"
    verbs = {
        "/caucuses/": "appoint",
        "/admin/": "suspend",
        "/p/": "hide",
        "/review/": "claim",
    }
    verb = next((v for prefix, v in verbs.items() if path.startswith(prefix)), "x")
    values = {
        "thread_id": seeded["thread_id"],
        "post_id": seeded["post_id"],
        "slug": slug,
        "handle": "bo",
        "verb": verb,
        "item_id": "1",
        "statement_id": "1",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "1"), path)


# The one route a POST reaches without a CSRF token: RFC 8058 one-click unsubscribe, which a
# mail provider POSTs from its own servers; its signed token is its authority (a forged or
# altered one is refused: tests/test_mail_notify.py).
NO_CSRF = frozenset({"/unsubscribe/{token}"})


@pytest.mark.parametrize("who", ["session", "anonymous"])
async def test_every_unsafe_route_refuses_a_missing_csrf_token(
    app: Starlette, settings: Settings, who: str
) -> None:
    seeded = await _seed(app)
    cookies = {"forum_session": seeded["token"]} if who == "session" else {}
    headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4321))
    refused, walked = [], 0
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
        for route in routes_of(settings):
            if route.path in NO_CSRF:
                continue
            for method in sorted(set(route.methods) & set(UNSAFE)):
                url = _fill(route.path, seeded)
                api = route.path.startswith(API + "/")
                if api:
                    body = None if method == "DELETE" else {"body": "x", "title": "x"}
                    response = await client.request(method, url, json=body)
                else:
                    response = await client.request(method, url, data={"body": "x", "x": "1"})
                walked += 1
                anyone = getattr(route.endpoint, "__access__", None) == "anyone"
                if api and who == "anonymous" and anyone:
                    # Open to anonymous callers (asking for a reset link, following an
                    # emailed link): the body is checked, and this one is refused.
                    ok = response.status_code == 400
                elif api and who == "anonymous":
                    ok = response.status_code == 401  # signing in comes first for the API
                else:
                    ok = response.status_code == 403 and CSRF_MESSAGE in response.text
                if not ok:
                    refused.append(f"{method} {url} -> {response.status_code}")
    assert walked > 20
    assert not refused, "unsafe routes that did not refuse a missing CSRF token:\n" + "\n".join(
        refused
    )
    # Nothing happened.
    post = await Post.get(id=int(seeded["post_id"]))
    thread = await Thread.get(id=int(seeded["thread_id"]))
    assert not post.hidden and not post.deleted and not thread.locked
    assert (await Member.get(handle="bo")).status == "active"
    assert await Thread.all().count() == 1 and await Post.all().count() == 1
