"""The caucus privacy matrix, declared once, and the seeded world it is checked against.

The promise: a caucus's posts, member list, join requests, flags, edit history, log, and (when
unlisted) its very existence are visible to its ACTIVE members only: not to site admins, not to
facilitators, not through search, feeds, notifications, websockets, exports, lists, counts or
error messages. Missing and unreadable answer alike.

How to read and change the matrix (`TABLE` below):
- one line per (resource, surface); one column per role, in `ROLES` order;
- `A` = allow (the viewer gets it), `-` = deny (404 identical to a missing id/slug, or absent
  from lists, search, notifications, sockets);
- a line whose only cell is `n/a` or `pending` covers every role; its reason goes in `REASONS`.
To add a role: add it to `ROLES`, add a column to every line, and seat it in `seed_world`.
To add a resource or surface: add it to `RESOURCES`/`SURFACES`, add its lines here and its check
in test_matrix.py `CHECKS`. `test_matrix_is_complete` fails until every cell is declared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from forum.app import create_app
from forum.models import Member, Notification, Post, Session, Thread
from forum.models.members import TOKEN_SCOPES
from forum.services import accounts, caucuses, channels, decisions, moderation, posting
from forum.services.context import Ctx
from forum.settings import Settings
from tests.conftest import BASE, make_member, postgres_copy

# ---- the matrix -------------------------------------------------------------------------------

ROLES: tuple[str, ...] = (
    "anonymous",  # no session at all
    "pending",  # an account waiting for approval (holding a session anyway: defence in depth)
    "member",  # an active member in no caucus of these
    "caucus_member",  # an active member of the caucus
    "caucus_convener",  # the caucus's convener
    "other_caucus_member",  # convener of another caucus, outsider here
    "facilitator",  # site facilitator, outsider here
    "admin",  # site admin, outsider here
    "suspended_caucus_member",  # was active in the caucus, then suspended site-wide
    "former_caucus_member",  # left one caucus, was removed from the other
    "join_requester",  # asked to join the listed caucus, not admitted yet
    "invitee",  # invited to the unlisted caucus, not accepted yet
)

RESOURCES: tuple[str, ...] = (
    "caucus_thread",  # a thread in a caucus channel (title, existence)
    "caucus_post",  # a post in it (its text)
    "caucus_member_list",  # who is in the caucus
    "join_requests",  # who asked to join (and who is invited), with their notes
    "unlisted_caucus",  # an unlisted caucus's page, name, size and existence
    "listed_caucus",  # a listed caucus's page, name and size (known to every active member)
    "caucus_post_history",  # the earlier text of an edited caucus post
    "caucus_moderation_log",  # the caucus's own log
    "caucus_flags",  # flags on caucus posts, their notes and outcomes, the caucus review queue
    "caucus_decision",  # a caucus's decision: its title, result, statement, register, export
)

SURFACES: tuple[str, ...] = (
    "html",  # the pages
    "json_api",  # /api/v1 (session cookie and bearer token)
    "search",  # /search and /api/v1/search
    "notifications",  # /notifications and /api/v1/notifications (and the unread count)
    "lists_and_counts",  # home, /channels, /caucuses, /moderation/log, counts and sizes
    "error_messages",  # hidden == missing for the same viewer, ids guessed in order, unsafe verbs
    "feeds_exports",  # Atom feeds (answer as an anonymous reader would), exports (none yet)
    "websocket",  # /ws topics
)

# fmt: off
TABLE = """
# resource             surface           anon pend memb cmem conv othr faci admn susp form rqst invt
caucus_thread          html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          search            -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          notifications     -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          lists_and_counts  -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_thread          feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_thread          websocket         -    -    -    A    A    -    -    -    -    -    -    -

caucus_post            html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            search            -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            notifications     -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            lists_and_counts  -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_post            feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_post            websocket         -    -    -    A    A    -    -    -    -    -    -    -

caucus_member_list     html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_member_list     json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_member_list     search            -    -    -    -    -    -    -    -    -    -    -    -
caucus_member_list     notifications     n/a
caucus_member_list     lists_and_counts  -    -    -    -    -    -    -    -    -    -    -    -
caucus_member_list     error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_member_list     feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_member_list     websocket         n/a

join_requests          html              -    -    -    -    A    -    -    -    -    -    -    -
join_requests          json_api          -    -    -    -    A    -    -    -    -    -    -    -
join_requests          search            -    -    -    -    -    -    -    -    -    -    -    -
join_requests          notifications     -    -    -    -    A    -    -    -    -    -    -    -
join_requests          lists_and_counts  -    -    -    -    -    -    -    -    -    -    -    -
join_requests          error_messages    -    -    -    -    A    -    -    -    -    -    -    -
join_requests          feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
join_requests          websocket         n/a

unlisted_caucus        html              -    -    -    A    A    -    -    -    -    -    -    A
unlisted_caucus        json_api          -    -    -    A    A    -    -    -    -    -    -    A
unlisted_caucus        search            -    -    -    A    A    -    -    -    -    -    -    -
unlisted_caucus        notifications     -    -    -    A    A    -    -    -    -    -    -    A
unlisted_caucus        lists_and_counts  -    -    -    A    A    -    -    -    -    -    -    A
unlisted_caucus        error_messages    -    -    -    A    A    -    -    -    -    -    -    A
unlisted_caucus        feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
unlisted_caucus        websocket         -    -    -    A    A    -    -    -    -    -    -    -

listed_caucus          html              -    -    A    A    A    A    A    A    -    A    A    A
listed_caucus          json_api          -    -    A    A    A    A    A    A    -    A    A    A
listed_caucus          search            -    -    -    A    A    -    -    -    -    -    -    -
listed_caucus          notifications     -    -    -    A    A    -    -    -    -    -    -    -
listed_caucus          lists_and_counts  -    -    A    A    A    A    A    A    -    A    A    A
listed_caucus          error_messages    -    -    A    A    A    A    A    A    -    A    A    A
listed_caucus          feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
listed_caucus          websocket         -    -    -    A    A    -    -    -    -    -    -    -

caucus_post_history    html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_post_history    json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_post_history    search            -    -    -    -    -    -    -    -    -    -    -    -
caucus_post_history    notifications     n/a
caucus_post_history    lists_and_counts  n/a
caucus_post_history    error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_post_history    feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_post_history    websocket         n/a

caucus_moderation_log  html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_moderation_log  json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_moderation_log  search            n/a
caucus_moderation_log  notifications     n/a
caucus_moderation_log  lists_and_counts  -    -    -    A    A    -    -    -    -    -    -    -
caucus_moderation_log  error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_moderation_log  feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_moderation_log  websocket         n/a

caucus_flags           html              -    -    -    -    A    -    -    -    -    -    -    -
caucus_flags           json_api          -    -    -    -    A    -    -    -    -    -    -    -
caucus_flags           search            -    -    -    -    -    -    -    -    -    -    -    -
caucus_flags           notifications     -    -    -    A    -    -    -    -    -    -    -    -
caucus_flags           lists_and_counts  -    -    -    -    A    -    -    -    -    -    -    -
caucus_flags           error_messages    -    -    -    -    A    -    -    -    -    -    -    -
caucus_flags           feeds_exports     -    -    -    -    -    -    -    -    -    -    -    -
caucus_flags           websocket         n/a

caucus_decision        html              -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        json_api          -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        search            -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        notifications     n/a
caucus_decision        lists_and_counts  -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        error_messages    -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        feeds_exports     -    -    -    A    A    -    -    -    -    -    -    -
caucus_decision        websocket         n/a
"""
# fmt: on

# Why a line is n/a or pending. Every such line needs one.
REASONS: dict[tuple[str, str], str] = {
    ("caucus_member_list", "notifications"): (
        "n/a: no notification lists members (admission goes to the admitted member only)"
    ),
    ("caucus_member_list", "websocket"): (
        "n/a: no topic carries member lists; member:{id} topics are checked by "
        "test_websocket_member_topics_are_private"
    ),
    ("join_requests", "websocket"): (
        "n/a: requests reach conveners as notification.created on their own member topic, "
        "checked by test_websocket_member_topics_are_private"
    ),
    ("caucus_post_history", "notifications"): (
        "n/a: an edit notifies newly mentioned readers only (covered by caucus_post)"
    ),
    ("caucus_post_history", "lists_and_counts"): "n/a: no list shows earlier texts",
    ("caucus_post_history", "websocket"): (
        "n/a: post.edited frames carry the current text only (covered by caucus_post)"
    ),
    ("caucus_moderation_log", "search"): "n/a: the log is not indexed by search",
    ("caucus_moderation_log", "notifications"): "n/a: log entries notify nobody",
    ("caucus_moderation_log", "websocket"): "n/a: no topic carries log entries",
    ("caucus_decision", "notifications"): (
        "n/a: decision notices name neither the caucus nor the thread (checked by "
        "test_decisions.test_reminders_a_day_before_and_closing_at_its_time), and go only to "
        "the caucus's members"
    ),
    ("caucus_decision", "websocket"): (
        "n/a: decision.updated frames go on the caucus thread's topic (covered by "
        "caucus_thread websocket)"
    ),
    ("caucus_flags", "websocket"): (
        "n/a: flags are not announced live; hiding a post is a post.hidden frame on the thread "
        "topic (covered by caucus_post)"
    ),
}

CELL_TOKENS = {"A": "allow", "-": "deny"}
WHOLE_LINE = ("n/a", "pending")


def parse_table(text: str) -> tuple[dict[tuple[str, str, str], str], list[str]]:
    """(role, resource, surface) -> allow | deny | n/a | pending, and any problems found."""
    cells: dict[tuple[str, str, str], str] = {}
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) < 3:
            problems.append(f"line {number}: too short: {raw!r}")
            continue
        resource, surface, marks = line[0], line[1], line[2:]
        if resource not in RESOURCES:
            problems.append(f"line {number}: unknown resource {resource!r}")
        if surface not in SURFACES:
            problems.append(f"line {number}: unknown surface {surface!r}")
        if (resource, surface) in seen:
            problems.append(f"line {number}: {resource} x {surface} declared twice")
        seen.add((resource, surface))
        if len(marks) == 1 and marks[0] in WHOLE_LINE:
            if (resource, surface) not in REASONS:
                problems.append(f"line {number}: {resource} x {surface} is {marks[0]}: no reason")
            for role in ROLES:
                cells[(role, resource, surface)] = marks[0]
            continue
        if len(marks) != len(ROLES):
            problems.append(
                f"line {number}: {resource} x {surface} has {len(marks)} cells for "
                f"{len(ROLES)} roles"
            )
            continue
        for role, mark in zip(ROLES, marks, strict=True):
            if mark not in CELL_TOKENS:
                problems.append(f"line {number}: {role}: unknown mark {mark!r}")
                continue
            cells[(role, resource, surface)] = CELL_TOKENS[mark]
    return cells, problems


MATRIX, TABLE_PROBLEMS = parse_table(TABLE)


def expected(role: str, resource: str, surface: str) -> str:
    return MATRIX[(role, resource, surface)]


# ---- the seeded world -------------------------------------------------------------------------

HANDLES: dict[str, str | None] = {
    "anonymous": None,
    "pending": "pia",
    "member": "mo",
    "caucus_member": "cam",
    "caucus_convener": "cora",
    "other_caucus_member": "otto",
    "facilitator": "fay",
    "admin": "ada",
    "suspended_caucus_member": "sus",
    "former_caucus_member": "fred",
    "join_requester": "rex",
    "invitee": "ivy",
}
# Members of both caucuses who are in no role: `quinn` never posts and is never mentioned, so
# "@quinn" appears only where the member list does; `lee` is removed by a test.
QUIET = "quinn"
LEAVER = "lee"

MISSING_ID = 987_654
MISSING_SLUG = "no-such-caucus-5e1f0a"
MISSING_CHANNEL = "no-such-caucus-5e1f0a-talk"
MISSING_HANDLE = "nobody-here"
CSRF_MESSAGE = "This form has expired or did not come from this site."


@dataclass
class CaucusWorld:
    """One caucus and its canaries: words that appear nowhere outside what they name."""

    key: str  # "L" or "U"
    name: str
    name_word: str
    slug: str = ""
    caucus_id: int = 0
    channel_slug: str = ""
    channel_id: int = 0
    thread_id: int = 0
    title: str = ""
    title_word: str = ""
    root_post_id: int = 0  # by the convener, mentioning every role's handle
    reply_post_id: int = 0  # by the caucus member, mentioning the convener
    edited_post_id: int = 0  # by the caucus member, edited once
    post_word: str = ""
    old_word: str = ""
    new_word: str = ""
    request_marker: str = ""  # what only the convener reads about requests/invitations
    log_markers: tuple[str, ...] = ()  # what only members read in the caucus log
    flag_note: str = ""  # the caucus member's flag on the root post, for the convener
    flag_item_id: int = 0
    hidden_post_id: int = 0  # hidden by the convener (U only)
    former_post_id: int = 0  # written by the former member while in U
    decision_id: int = 0  # a secret motion, closed, with an outcome statement
    decision_word: str = ""  # in its title
    statement_word: str = ""  # in its outcome statement


@dataclass
class Viewer:
    role: str
    handle: str | None
    member_id: int | None
    app: Starlette
    client: httpx.AsyncClient
    csrf: str
    cookie: str
    bearer: str | None = None

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, **kw)

    async def form(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(url, data={**(data or {}), "csrf": self.csrf})

    async def api(
        self,
        method: str,
        url: str,
        *,
        bearer: bool = False,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """An /api/v1 call with the session cookie (and CSRF header), or with the bearer token
        and no cookie at all."""
        headers: dict[str, str] = {}
        if bearer:
            assert self.bearer is not None
            headers["authorization"] = f"Bearer {self.bearer}"
            async with _client(self.app, {}) as bare:  # the token alone, no cookie
                return await bare.request(method, url, headers=headers, json=body)
        if method != "GET":
            headers["x-csrf-token"] = self.csrf
        return await self.client.request(method, url, headers=headers, json=body)

    def api_modes(self) -> list[bool]:
        """Cookie always; the bearer token too when the role has one."""
        return [False, True] if self.bearer else [False]


@dataclass
class World:
    app: Starlette
    L: CaucusWorld
    U: CaucusWorld
    other_slug: str
    open_thread_id: int
    open_post_id: int
    open_word: str
    viewers: dict[str, Viewer] = field(default_factory=dict)
    member_ids: dict[str, int] = field(default_factory=dict)
    leaver: Viewer | None = None
    convener_ids: dict[str, int] = field(default_factory=dict)

    @property
    def caucuses(self) -> tuple[CaucusWorld, CaucusWorld]:
        return (self.L, self.U)


async def ctx_for(app: Starlette, member: Member) -> Ctx:
    """A service context for a member as they are now (seats reloaded every time)."""
    fresh = await Member.get(id=member.id)
    return Ctx(services=app.state.services, actor=await accounts.load_actor(fresh), member=fresh)


async def _session(member: Member) -> tuple[str, str]:
    token = await accounts.start_session(member, "privacy-matrix", None)
    row = await Session.filter(member_id=member.id).order_by("-id").first()
    assert row is not None
    return token, row.csrf_token


def _client(app: Starlette, cookies: dict[str, str]) -> httpx.AsyncClient:
    """A client that always sends exactly these cookies (a Cookie header beats the jar)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4321))
    headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    return httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers)


async def _root_post(thread: Thread) -> int:
    post = await Post.filter(thread_id=thread.id, parent_id=None).order_by("path").first()
    assert post is not None
    return post.id


async def seed_world(app: Starlette) -> World:
    """Two caucuses (listed L, unlisted U) run by `cora`, a third (O) run by `otto`, an open
    channel, and one member in each role, seated by the real services."""
    members: dict[str, Member] = {}
    for role, handle in HANDLES.items():
        if handle is None:
            continue
        site_role = {"facilitator": "facilitator", "admin": "admin"}.get(role, "member")
        status = "pending" if role == "pending" else "active"
        members[role] = await make_member(handle, site_role, status)
    quiet = await make_member(QUIET)
    leaver = await make_member(LEAVER)
    conv, cam = members["caucus_convener"], members["caucus_member"]

    await channels.create_channel(None, "General", "general")
    await channels.create_channel(None, "Notices", "notices", public=True)
    await posting.start_thread(
        await ctx_for(app, members["member"]), "notices", "Public notice", "public tulipword"
    )
    open_thread = await posting.start_thread(
        await ctx_for(app, members["member"]), "general", "Open garden chat", "open daisyword"
    )

    L = CaucusWorld("L", "Larkspur Caucus", "Larkspur")
    U = CaucusWorld("U", "Umbra Caucus", "Umbra")
    made_l = await caucuses.found(
        await ctx_for(app, conv), L.name, "larkspur organising", listed=True
    )
    made_u = await caucuses.found(
        await ctx_for(app, conv), U.name, "umbra organising", listed=False, join_policy="invite"
    )
    made_o = await caucuses.found(await ctx_for(app, members["other_caucus_member"]), "Oriole")
    for cw, made in ((L, made_l), (U, made_u)):
        cw.slug, cw.caucus_id = made.slug, made.id
        cw.channel_slug = f"{made.slug}-talk"

    seated = [cam, quiet, members["suspended_caucus_member"], members["former_caucus_member"]]
    for member in seated:  # L admits by request
        await caucuses.request_join(await ctx_for(app, member), L.slug, "please")
        await caucuses.decide(await ctx_for(app, conv), L.slug, member.handle, "admit")
    for member in [*seated, leaver]:  # U admits by invitation
        await caucuses.decide(await ctx_for(app, conv), U.slug, member.handle, "invite")
        await caucuses.accept_invitation(await ctx_for(app, member), U.slug)
    await caucuses.request_join(
        await ctx_for(app, members["join_requester"]), L.slug, "rexnote larkspurplea"
    )
    await caucuses.decide(await ctx_for(app, conv), U.slug, members["invitee"].handle, "invite")

    everyone = " ".join(f"@{h}" for h in HANDLES.values() if h and h != conv.handle)
    words = {
        "L": ("meadowsweet", "bramblewort", "oldlarkdraft", "newlarkdraft"),
        "U": ("nightshade", "umbelwort", "oldumbradraft", "newumbradraft"),
    }
    for cw in (L, U):
        cw.title_word, cw.post_word, cw.old_word, cw.new_word = words[cw.key]
        cw.title = f"{cw.name_word} {cw.title_word} plan"
        thread = await posting.start_thread(
            await ctx_for(app, conv),
            cw.channel_slug,
            cw.title,
            f"Private words {cw.post_word} for {everyone}.",
        )
        cw.thread_id = thread.id
        cw.channel_id = thread.channel_id
        cw.root_post_id = await _root_post(thread)
        reply = await posting.reply(
            await ctx_for(app, cam), thread.id, f"Thanks @{conv.handle}.", cw.root_post_id
        )
        cw.reply_post_id = reply.id
        draft = await posting.reply(await ctx_for(app, cam), thread.id, f"A {cw.old_word}.")
        await posting.edit(await ctx_for(app, cam), draft.id, f"A {cw.new_word}.")
        cw.edited_post_id = draft.id

    # Each caucus adopts a motion by secret ballot and states the outcome.
    decision_words = {"L": ("cowslipvote", "lupinestate"), "U": ("hemlockvote", "yarrowstate")}
    for cw in (L, U):
        cw.decision_word, cw.statement_word = decision_words[cw.key]
        rules = decisions.Rules(
            kind="motion",
            title=f"Adopt the {cw.decision_word} plan",
            body="",
            options=[],
            closes_at=datetime.now(UTC) + timedelta(days=2),
            secret=True,
            quorum=10,
        )
        made_d = await decisions.propose(await ctx_for(app, conv), cw.thread_id, rules)
        cw.decision_id = made_d.id
        await decisions.vote(await ctx_for(app, cam), made_d.id, decisions.Choice(position="agree"))
        await decisions.close(await ctx_for(app, conv), made_d.id, "closereason votes in")
        await decisions.write_statement(
            await ctx_for(app, conv), made_d.id, f"Adopted: {cw.statement_word} follows."
        )

    # The future former member speaks in U while still a member.
    said = await posting.reply(
        await ctx_for(app, members["former_caucus_member"]), U.thread_id, "Old words fredword."
    )
    U.former_post_id = said.id

    # The caucus member flags the convener's opening post in each caucus; in U the convener
    # dismisses the flag (the flagger is told), and hides another post (logged in U's log).
    for cw in (L, U):
        cw.flag_note = f"flagnote {cw.name_word.lower()}flag"
        item = await moderation.flag(
            await ctx_for(app, cam), cw.root_post_id, "other", cw.flag_note
        )
        cw.flag_item_id = item.id
    await moderation.resolve(
        await ctx_for(app, conv), U.flag_item_id, "dismissed", "umbradismissal"
    )
    extra = await posting.reply(await ctx_for(app, cam), U.thread_id, "An aside to hide.")
    await moderation.hide(await ctx_for(app, conv), extra.id, "hidereason umbrahide")
    U.hidden_post_id = extra.id

    # The former member leaves L and is removed from U; the suspended member is suspended.
    former = members["former_caucus_member"]
    await caucuses.leave(await ctx_for(app, former), L.slug)
    await caucuses.decide(await ctx_for(app, conv), U.slug, former.handle, "remove")
    # A mention that raced the removal (on PostgreSQL a reply can compute its readers before
    # the removal commits and insert after forget_caucus ran): the row exists, and only the
    # notification filter keeps it from the former member. No badge bump: see the xfail tests.
    await Notification.create(
        member_id=former.id,
        kind="mention",
        text=f"@cam mentioned you in “{U.title}”",
        url=f"/t/{U.thread_id}#p{U.reply_post_id}",
        thread_id=U.thread_id,
        post_id=U.reply_post_id,
        caucus_id=U.caucus_id,
    )
    sus = members["suspended_caucus_member"]
    sus_token, _ = await _session(sus)  # a session from before, which suspension ends
    await accounts.suspend(await ctx_for(app, members["admin"]), sus.handle, "sorrel abuse", None)

    L.request_marker = "rexnote larkspurplea"
    U.request_marker = f"Invited: @{members['invitee'].handle}"
    L.log_markers = (f"@{sus.handle} (site-wide)",)
    U.log_markers = (
        f"@{sus.handle} (site-wide)",
        "removed by a convener",
        f"@{former.handle}",
        "umbrahide",
    )

    world = World(
        app=app,
        L=L,
        U=U,
        other_slug=made_o.slug,
        open_thread_id=open_thread.id,
        open_post_id=await _root_post(open_thread),
        open_word="daisyword",
        member_ids={role: m.id for role, m in members.items()},
    )
    anon_csrf = "privacy-anon-csrf-token-0123456789"
    for role in ROLES:
        member = members.get(role)
        cookies = {"forum_csrf": anon_csrf}
        csrf = anon_csrf
        if role == "suspended_caucus_member":
            # A stale cookie: the suspension ended the session, so this is an anonymous visitor.
            cookies["forum_session"] = sus_token
        elif member is not None:
            token, csrf = await _session(member)
            cookies["forum_session"] = token
        bearer = (
            await accounts.create_api_token(member, "matrix", scopes=TOKEN_SCOPES)
            if member
            else None
        )
        world.viewers[role] = Viewer(
            role=role,
            handle=member.handle if member else None,
            member_id=member.id if member else None,
            app=app,
            client=_client(app, cookies),
            csrf=csrf,
            cookie="; ".join(f"{k}={v}" for k, v in cookies.items()),
            bearer=bearer,
        )
    token, csrf = await _session(leaver)
    cookies = {"forum_csrf": anon_csrf, "forum_session": token}
    world.leaver = Viewer(
        role="leaver",
        handle=leaver.handle,
        member_id=leaver.id,
        app=app,
        client=_client(app, cookies),
        csrf=csrf,
        cookie="; ".join(f"{k}={v}" for k, v in cookies.items()),
        bearer=await accounts.create_api_token(leaver, "matrix", scopes=TOKEN_SCOPES),
    )
    return world


async def viewer_for(world: World, handle: str) -> Viewer:
    """A signed-in viewer for any member of the world (a fresh session and token)."""
    member = await Member.get(handle_key=handle.lower())
    token, csrf = await _session(member)
    cookies = {"forum_csrf": "privacy-anon-csrf-token-0123456789", "forum_session": token}
    return Viewer(
        role=handle,
        handle=member.handle,
        member_id=member.id,
        app=world.app,
        client=_client(world.app, cookies),
        csrf=csrf,
        cookie="; ".join(f"{k}={v}" for k, v in cookies.items()),
        bearer=await accounts.create_api_token(member, "matrix", scopes=TOKEN_SCOPES),
    )


# Every test of the privacy suite runs on both backends: the hand-written SQL (page rows, search,
# the event table) differs between them, and a leak on either is a leak. A test's id names its
# backend: test_cell[sqlite-...], test_cell[postgres-...].
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def migrated_database(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A migrated database of its own on the backend `request.param`, removed afterwards."""
    if request.param == "sqlite":
        path = directory / "forum.sqlite3"
        shutil.copy(request.getfixturevalue("template_db"), path)
        yield f"sqlite://{path}"
    else:
        with postgres_copy(request.getfixturevalue("postgres_template")) as url:
            yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The per-test database of tests/conftest.py, on each backend in turn."""
    with migrated_database(request, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def world_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per module and backend (a fresh one per test would cost a CREATE DATABASE
    for each of the matrix's cells)."""
    with migrated_database(request, tmp_path_factory.mktemp("privacy")) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(world_database_url: str) -> AsyncIterator[World]:
    """One seeded world per test module and backend (its tests share the module's event
    loop)."""
    settings = Settings(
        database_url=world_database_url,
        base_url=BASE,
        secret_key="privacy",
        signup="invite",
        post_rate="10000/minute",
        new_member_post_rate="10000/minute",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        built = await seed_world(app)
        try:
            yield built
        finally:
            viewers = [*built.viewers.values(), built.leaver]
            for viewer in viewers:
                if viewer is not None:
                    await viewer.client.aclose()


# ---- routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    path: str  # the full path template, e.g. /api/v1/threads/{thread_id}
    methods: frozenset[str]  # empty for websockets
    endpoint: Any
    websocket: bool = False


def walk_routes(routes: list[BaseRoute], prefix: str = "") -> list[RouteInfo]:
    """Every route of the app, through Mounts, without the static files."""
    out: list[RouteInfo] = []
    for route in routes:
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles):
                continue
            out.extend(walk_routes(list(route.routes), prefix + route.path))
        elif isinstance(route, Route):
            methods = frozenset(route.methods or ()) - {"HEAD"}
            out.append(RouteInfo(prefix + route.path, methods, route.endpoint))
        elif isinstance(route, WebSocketRoute):
            out.append(RouteInfo(prefix + route.path, frozenset(), route.endpoint, True))
        else:  # a kind of route this walk does not know must not pass unseen
            out.append(RouteInfo(prefix + str(getattr(route, "path", route)), frozenset(), None))
    return out


def has_route(app: Starlette, method: str, template: str) -> bool:
    return any(
        r.path == template and (method in r.methods or (r.websocket and method == "WS"))
        for r in walk_routes(list(app.routes))
    )


# ---- a websocket client at the ASGI level (same event loop as the app and its database) -------


class Socket:
    def __init__(self, app: Starlette, cookie: str | None) -> None:
        headers = [(b"host", b"testserver"), (b"origin", BASE.encode())]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": "/ws",
            "raw_path": b"/ws",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 4321),
            "server": ("testserver", 80),
            "subprotocols": [],
            "state": {},
        }
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Socket:
        await self.inbox.put({"type": "websocket.connect"})
        self.task = asyncio.create_task(self.app(self.scope, self.inbox.get, self.outbox.put))
        first = await asyncio.wait_for(self.outbox.get(), 5)
        assert first["type"] == "websocket.accept", first
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)

    async def frame(self, timeout: float = 3) -> dict[str, Any]:
        message = await asyncio.wait_for(self.outbox.get(), timeout)
        if message["type"] == "websocket.close":
            return {"op": "closed", "code": message.get("code")}
        return json.loads(message["text"])

    async def exchange(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a frame, then a ping; every frame answered before the pong."""
        await self.inbox.put({"type": "websocket.receive", "text": json.dumps(frame)})
        await self.inbox.put({"type": "websocket.receive", "text": '{"op": "ping"}'})
        frames: list[dict[str, Any]] = []
        while True:
            got = await self.frame()
            if got.get("op") in ("pong", "closed"):
                return frames
            frames.append(got)
