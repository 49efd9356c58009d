"""Every rule of the policy, asked directly, for every role of a fixed cast, against a fixed set
of things: each face of each rule (`can_*` answers, `check_*` raises, `filter_*` narrows a
query) must agree with the table below. And no role or seat is read outside forum/policy/.

Targets are small records named like the models they stand for (the policy reads only their
fields and `type(...).__name__`); the filter faces run against a real database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum import policy
from forum.errors import DomainError, Forbidden, NotFound, Unauthenticated
from forum.models import Caucus as CaucusModel
from forum.models import Channel as ChannelModel
from forum.models import Member as MemberModel
from forum.models import ModerationAction as LogModel
from forum.models import Notification as NotificationModel
from forum.models import ReviewItem as ReviewModel
from forum.models import Thread as ThreadModel
from forum.policy import Action, Actor
from tests.conftest import csrf_token, make_member, signed_in

ROOT = Path(__file__).resolve().parents[1]

# ---- the cast ---------------------------------------------------------------------------------

OPEN_PUBLIC, OPEN_MEMBERS, LISTED, UNLISTED, ARCHIVED = 1, 2, 10, 11, 12
NOBODY = 99  # the author of posts nobody in the cast wrote

CAST: dict[str, Actor] = {
    "anonymous": Actor(),
    "pending": Actor(1, "pen", "member", "pending"),
    # Suspended while holding a seat: the seat gives them nothing (but they may still leave).
    "suspended": Actor(2, "sus", "member", "suspended", seats={LISTED: "member"}),
    "member": Actor(3, "mem", "member", "active"),
    "facilitator": Actor(4, "fac", "facilitator", "active"),
    "admin": Actor(5, "adm", "admin", "active"),
    "caucus_member": Actor(
        6, "cm", "member", "active", seats={LISTED: "member", UNLISTED: "member"}
    ),
    "convener": Actor(
        7,
        "conv",
        "member",
        "active",
        seats={LISTED: "convener", UNLISTED: "convener", ARCHIVED: "convener"},
    ),
    "requested": Actor(8, "req", "member", "active", pending_seats=frozenset({LISTED})),
    "invited": Actor(9, "inv", "member", "active", pending_seats=frozenset({UNLISTED})),
}
ROLES = tuple(CAST)
ACTIVE = frozenset(
    {"member", "facilitator", "admin", "caucus_member", "convener", "requested", "invited"}
)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
SITE_MODS = frozenset({"facilitator", "admin"})
IN_CAUCUS = frozenset({"caucus_member", "convener"})
NONE: frozenset[str] = frozenset()


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


# ---- the things -------------------------------------------------------------------------------


@dataclass
class Channel:
    id: int
    caucus_id: int | None
    public: bool = False
    archived: bool = False


@dataclass
class Thread:
    id: int
    channel: Channel
    locked: bool = False


@dataclass
class Post:
    id: int
    thread: Thread
    author_id: int | None = NOBODY
    hidden: bool = False
    deleted: bool = False


@dataclass
class Caucus:
    id: int
    listed: bool
    join_policy: str
    archived_at: datetime | None = None


@dataclass
class CaucusMembership:
    caucus_id: int
    member_id: int
    role: str = "member"
    status: str = "active"


@dataclass
class Member:
    id: int
    role: str = "member"
    status: str = "active"


@dataclass
class ModerationAction:
    caucus_id: int | None


@dataclass
class ReviewItem:
    caucus_id: int | None


GONE = datetime(2026, 1, 1, tzinfo=UTC)
CH = {
    "public channel": Channel(1, None, public=True),
    "members-only channel": Channel(2, None),
    "listed caucus channel": Channel(3, LISTED),
    "unlisted caucus channel": Channel(4, UNLISTED),
    "archived caucus channel": Channel(5, ARCHIVED, archived=True),
}
TH = {
    "public thread": Thread(1, CH["public channel"]),
    "members-only thread": Thread(2, CH["members-only channel"]),
    "locked thread": Thread(3, CH["members-only channel"], locked=True),
    "listed caucus thread": Thread(4, CH["listed caucus channel"]),
    "unlisted caucus thread": Thread(5, CH["unlisted caucus channel"]),
    "archived caucus thread": Thread(6, CH["archived caucus channel"]),
}
MEMBERS_THREAD = TH["members-only thread"]
PO = {
    "post": Post(1, MEMBERS_THREAD),
    "public post": Post(2, TH["public thread"]),
    "own post": Post(3, MEMBERS_THREAD, author_id=3),
    "hidden post": Post(4, MEMBERS_THREAD, hidden=True),
    "own hidden post": Post(5, MEMBERS_THREAD, author_id=3, hidden=True),
    "deleted post": Post(6, MEMBERS_THREAD, deleted=True),
    "own post in a locked thread": Post(7, TH["locked thread"], author_id=3),
    "caucus post": Post(8, TH["listed caucus thread"]),
    "hidden caucus post": Post(9, TH["unlisted caucus thread"], hidden=True),
}
CA = {
    "listed caucus": Caucus(LISTED, listed=True, join_policy="request"),
    "unlisted caucus": Caucus(UNLISTED, listed=False, join_policy="invite"),
    "archived caucus": Caucus(ARCHIVED, listed=True, join_policy="request", archived_at=GONE),
}
TARGETS: dict[str, Any] = {**CH, **TH, **PO, **CA}

# Who reads (or knows of) each thing: a refusal is NotFound for everyone else.
READERS: dict[str, frozenset[str]] = {
    "public channel": frozenset(ROLES),
    "members-only channel": ACTIVE,
    "listed caucus channel": IN_CAUCUS,
    "unlisted caucus channel": IN_CAUCUS,
    "archived caucus channel": roles("convener"),
    "public thread": frozenset(ROLES),
    "members-only thread": ACTIVE,
    "locked thread": ACTIVE,
    "listed caucus thread": IN_CAUCUS,
    "unlisted caucus thread": IN_CAUCUS,
    "archived caucus thread": roles("convener"),
    "listed caucus": ACTIVE,
    "unlisted caucus": IN_CAUCUS | {"invited"},
    "archived caucus": roles("convener"),
    **{name: ACTIVE for name, p in PO.items() if p.thread is MEMBERS_THREAD},
    "public post": frozenset(ROLES),
    "own post in a locked thread": ACTIVE,
    "caucus post": IN_CAUCUS,
    "hidden caucus post": IN_CAUCUS,
}

# ---- the table: (action, target) -> the roles allowed -----------------------------------------

ALLOW: dict[tuple[Action, str], frozenset[str]] = {
    # channels
    **{(Action.READ, name): READERS[name] for name in CH},
    (Action.MODERATE, "public channel"): SITE_MODS,
    (Action.MODERATE, "members-only channel"): SITE_MODS,
    (Action.MODERATE, "listed caucus channel"): roles("convener"),
    (Action.MODERATE, "unlisted caucus channel"): roles("convener"),
    (Action.MODERATE, "archived caucus channel"): roles("convener"),
    (Action.START_THREAD, "public channel"): ACTIVE,
    (Action.START_THREAD, "members-only channel"): ACTIVE,
    (Action.START_THREAD, "listed caucus channel"): IN_CAUCUS,
    (Action.START_THREAD, "unlisted caucus channel"): IN_CAUCUS,
    (Action.START_THREAD, "archived caucus channel"): NONE,
    # threads
    **{(Action.READ, name): READERS[name] for name in TH},
    (Action.REPLY, "public thread"): ACTIVE,
    (Action.REPLY, "members-only thread"): ACTIVE,
    (Action.REPLY, "locked thread"): SITE_MODS,
    (Action.REPLY, "listed caucus thread"): IN_CAUCUS,
    (Action.REPLY, "unlisted caucus thread"): IN_CAUCUS,
    (Action.REPLY, "archived caucus thread"): NONE,
    (Action.MODERATE, "public thread"): SITE_MODS,
    (Action.MODERATE, "members-only thread"): SITE_MODS,
    (Action.MODERATE, "locked thread"): SITE_MODS,
    (Action.MODERATE, "listed caucus thread"): roles("convener"),
    (Action.MODERATE, "unlisted caucus thread"): roles("convener"),
    (Action.MODERATE, "archived caucus thread"): roles("convener"),
    # posts
    **{(Action.READ, name): READERS[name] for name in PO},
    (Action.EDIT, "post"): NONE,
    (Action.EDIT, "public post"): NONE,
    (Action.EDIT, "own post"): roles("member"),
    (Action.EDIT, "hidden post"): NONE,
    (Action.EDIT, "own hidden post"): NONE,
    (Action.EDIT, "deleted post"): NONE,
    (Action.EDIT, "own post in a locked thread"): NONE,
    (Action.EDIT, "caucus post"): NONE,
    (Action.DELETE, "post"): NONE,
    (Action.DELETE, "own post"): roles("member"),
    (Action.DELETE, "own hidden post"): roles("member"),
    (Action.DELETE, "own post in a locked thread"): roles("member"),
    (Action.DELETE, "deleted post"): NONE,
    (Action.FLAG, "post"): ACTIVE,
    (Action.FLAG, "public post"): ACTIVE,
    (Action.FLAG, "own post"): ACTIVE - {"member"},
    (Action.FLAG, "hidden post"): ACTIVE,
    (Action.FLAG, "caucus post"): IN_CAUCUS,
    (Action.SEE_HIDDEN, "post"): SITE_MODS,
    (Action.SEE_HIDDEN, "own post"): SITE_MODS | {"member"},
    (Action.SEE_HIDDEN, "hidden post"): SITE_MODS,
    (Action.SEE_HIDDEN, "own hidden post"): SITE_MODS | {"member"},
    (Action.SEE_HIDDEN, "deleted post"): SITE_MODS,
    (Action.SEE_HIDDEN, "caucus post"): roles("convener"),
    (Action.SEE_HIDDEN, "hidden caucus post"): roles("convener"),
    (Action.VIEW_HISTORY, "post"): ACTIVE,
    (Action.VIEW_HISTORY, "public post"): frozenset(ROLES),
    (Action.VIEW_HISTORY, "hidden post"): SITE_MODS,
    (Action.VIEW_HISTORY, "own hidden post"): SITE_MODS | {"member"},
    (Action.VIEW_HISTORY, "deleted post"): SITE_MODS,
    (Action.VIEW_HISTORY, "hidden caucus post"): roles("convener"),
    (Action.APPEAL, "post"): NONE,
    (Action.APPEAL, "own post"): NONE,
    (Action.APPEAL, "own hidden post"): roles("member"),
    (Action.APPEAL, "hidden post"): NONE,
    # Reactions: active readers, never on hidden or deleted posts or in a locked thread.
    (Action.REACT, "post"): ACTIVE,
    (Action.REACT, "public post"): ACTIVE,
    (Action.REACT, "own post"): ACTIVE,
    (Action.REACT, "hidden post"): NONE,
    (Action.REACT, "own hidden post"): NONE,
    (Action.REACT, "deleted post"): NONE,
    (Action.REACT, "own post in a locked thread"): NONE,
    (Action.REACT, "caucus post"): IN_CAUCUS,
    (Action.REACT, "hidden caucus post"): NONE,
    # Bookmarks: active readers, any post not deleted.
    (Action.BOOKMARK, "post"): ACTIVE,
    (Action.BOOKMARK, "public post"): ACTIVE,
    (Action.BOOKMARK, "hidden post"): ACTIVE,
    (Action.BOOKMARK, "deleted post"): NONE,
    (Action.BOOKMARK, "own post in a locked thread"): ACTIVE,
    (Action.BOOKMARK, "caucus post"): IN_CAUCUS,
    (Action.BOOKMARK, "hidden caucus post"): IN_CAUCUS,
    (Action.OPEN_MODERATION, "post"): SITE_MODS,
    (Action.OPEN_MODERATION, "own hidden post"): SITE_MODS | {"member"},
    (Action.OPEN_MODERATION, "caucus post"): roles("convener"),
    (Action.MODERATE, "post"): SITE_MODS,
    (Action.MODERATE, "own post"): SITE_MODS,
    (Action.MODERATE, "public post"): SITE_MODS,
    (Action.MODERATE, "caucus post"): roles("convener"),
    (Action.MODERATE, "hidden caucus post"): roles("convener"),
    # Following: active members who read the thread or channel, nobody else.
    **{(Action.FOLLOW, name): READERS[name] & ACTIVE for name in (*CH, *TH)},
    # caucuses
    (Action.READ, "listed caucus"): READERS["listed caucus"],
    (Action.READ, "unlisted caucus"): READERS["unlisted caucus"],
    (Action.READ, "archived caucus"): READERS["archived caucus"],
    (Action.KNOW, "listed caucus"): READERS["listed caucus"],
    (Action.KNOW, "unlisted caucus"): READERS["unlisted caucus"],
    (Action.KNOW, "archived caucus"): READERS["archived caucus"],
    (Action.READ_MEMBERS, "listed caucus"): IN_CAUCUS,
    (Action.READ_MEMBERS, "unlisted caucus"): IN_CAUCUS,
    (Action.READ_MEMBERS, "archived caucus"): roles("convener"),
    (Action.READ_REQUESTS, "listed caucus"): roles("convener"),
    (Action.READ_REQUESTS, "unlisted caucus"): roles("convener"),
    (Action.READ_REQUESTS, "archived caucus"): roles("convener"),
    (Action.SEE_SIZE, "listed caucus"): ACTIVE,
    (Action.SEE_SIZE, "unlisted caucus"): IN_CAUCUS,
    (Action.SEE_SIZE, "archived caucus"): roles("convener"),
    (Action.REQUEST_JOIN, "listed caucus"): ACTIVE - IN_CAUCUS - {"requested"},
    (Action.REQUEST_JOIN, "unlisted caucus"): NONE,
    (Action.REQUEST_JOIN, "archived caucus"): NONE,
    (Action.LEAVE, "listed caucus"): IN_CAUCUS | {"requested", "suspended"},
    (Action.LEAVE, "unlisted caucus"): IN_CAUCUS | {"invited"},
    (Action.LEAVE, "archived caucus"): roles("convener"),
    (Action.GOVERN, "listed caucus"): roles("convener"),
    (Action.GOVERN, "unlisted caucus"): roles("convener"),
    (Action.GOVERN, "archived caucus"): NONE,
    (Action.ARCHIVE, "listed caucus"): roles("admin"),
    (Action.ARCHIVE, "unlisted caucus"): NONE,
    (Action.ARCHIVE, "archived caucus"): NONE,
    (Action.ACCEPT_INVITATION, "listed caucus"): roles("requested"),
    (Action.ACCEPT_INVITATION, "unlisted caucus"): roles("invited"),
    (Action.ACCEPT_INVITATION, "archived caucus"): NONE,
}

SITE: dict[tuple[Action, str], frozenset[str]] = {
    (Action.FOUND_CAUCUS, "-"): ACTIVE,
    (Action.USE_ACCOUNT, "-"): SIGNED_IN,
    (Action.TAKE_PART, "-"): ACTIVE,
    (Action.ADMIN_MEMBERS, "-"): roles("admin"),
    (Action.SET_ROLE, "-"): roles("admin"),
    (Action.INVITE, "-"): roles("admin"),
    (Action.REVOKE_INVITE, "-"): roles("admin"),
    (Action.CREATE_CHANNEL, "-"): roles("admin"),
    (Action.PUBLISH_STATEMENT, "-"): roles("admin"),
    (Action.SUSPEND, "-"): SITE_MODS,
    (Action.SUSPEND, "an admin"): roles("admin"),
    (Action.SUSPEND, "a member"): SITE_MODS,
    (Action.SUSPEND, "the facilitator themself"): roles("admin"),
    (Action.REVIEW_SITE, "-"): SITE_MODS,
    (Action.REVIEW, "-"): SITE_MODS | {"convener"},
    (Action.SEE_PROFILE, "-"): ACTIVE,
    (Action.SEE_DIRECTORY, "-"): ACTIVE,
    (Action.SEE_MAIL_LOG, "-"): roles("admin"),
    (Action.SEE_PROFILE, "a member"): ACTIVE,
    (Action.SEE_PROFILE, "a pending member"): roles("admin"),
    (Action.READ, "open log entry"): ACTIVE,
    (Action.READ, "listed caucus log entry"): IN_CAUCUS,
    (Action.READ, "open review item"): SITE_MODS,
    (Action.READ, "listed caucus review item"): roles("convener"),
    (Action.MODERATE, "open review item"): SITE_MODS,
    (Action.MODERATE, "listed caucus review item"): roles("convener"),
}
SITE_TARGETS: dict[str, Any] = {
    "-": None,
    "an admin": Member(50, role="admin"),
    "a member": Member(51),
    "the facilitator themself": Member(4, role="facilitator"),
    "a pending member": Member(52, status="pending"),
    "open log entry": ModerationAction(None),
    "listed caucus log entry": ModerationAction(LISTED),
    "open review item": ReviewItem(None),
    "listed caucus review item": ReviewItem(LISTED),
}
# Hidden targets (a refusal is NotFound): the log entries and review items one may not read.
SITE_READERS: dict[str, frozenset[str]] = {
    "open log entry": ACTIVE,
    "listed caucus log entry": IN_CAUCUS,
    "open review item": SITE_MODS,
    "listed caucus review item": roles("convener"),
}

# The check_ face of each rule, by action and the kind of its target.
P, T, Ch, Ca = policy.posts, policy.threads, policy.channels, policy.caucuses
Mo, Me = policy.moderation, policy.members
CHECKS: dict[tuple[Action, str], Callable[..., None]] = {
    (Action.READ, "Channel"): Ch.check_read_channel,
    (Action.MODERATE, "Channel"): Ch.check_moderate_channel,
    (Action.START_THREAD, "Channel"): Ch.check_start_thread,
    (Action.READ, "Thread"): T.check_read_thread,
    (Action.REPLY, "Thread"): T.check_reply,
    (Action.MODERATE, "Thread"): T.check_moderate_thread,
    (Action.READ, "Post"): P.check_read_post,
    (Action.EDIT, "Post"): P.check_edit,
    (Action.DELETE, "Post"): P.check_delete,
    (Action.FLAG, "Post"): P.check_flag,
    (Action.SEE_HIDDEN, "Post"): P.check_see_hidden,
    (Action.VIEW_HISTORY, "Post"): P.check_view_history,
    (Action.APPEAL, "Post"): P.check_appeal,
    (Action.OPEN_MODERATION, "Post"): P.check_open_moderation,
    (Action.REACT, "Post"): P.check_react,
    (Action.BOOKMARK, "Post"): P.check_bookmark,
    (Action.SEE_DIRECTORY, "NoneType"): lambda a, _t: Me.check_see_directory(a),
    (Action.MODERATE, "Post"): P.check_moderate_post,
    (Action.READ, "Caucus"): Ca.check_know,
    (Action.KNOW, "Caucus"): Ca.check_know,
    (Action.READ_MEMBERS, "Caucus"): Ca.check_read_members,
    (Action.READ_REQUESTS, "Caucus"): Ca.check_read_requests,
    (Action.LEAVE, "Caucus"): Ca.check_leave,
    (Action.GOVERN, "Caucus"): Ca.check_govern,
    (Action.ARCHIVE, "Caucus"): Ca.check_archive,
    (Action.FOUND_CAUCUS, "NoneType"): lambda a, _t: Ca.check_found(a),
    (Action.USE_ACCOUNT, "NoneType"): lambda a, _t: Me.check_use_account(a),
    (Action.TAKE_PART, "NoneType"): lambda a, _t: Me.check_active_member(a),
    (Action.ADMIN_MEMBERS, "NoneType"): lambda a, _t: Me.check_administer(a),
    (Action.SEE_MAIL_LOG, "NoneType"): lambda a, _t: policy.mail.check_see_mail_log(a),
    (Action.SUSPEND, "NoneType"): Me.check_suspend,
    (Action.SUSPEND, "Member"): Me.check_suspend,
    (Action.SEE_PROFILE, "NoneType"): Me.check_see_profile,
    (Action.SEE_PROFILE, "Member"): Me.check_see_profile,
    (Action.REVIEW, "NoneType"): lambda a, _t: Mo.check_review(a),
    (Action.READ, "ModerationAction"): Mo.check_read_log_entry,
    (Action.READ, "ReviewItem"): Mo.check_review_item,
}

CELLS = [
    (role, action, name) for table in (ALLOW, SITE) for (action, name) in table for role in ROLES
]


def _target(name: str) -> Any:
    return TARGETS[name] if name in TARGETS else SITE_TARGETS[name]


def _allowed(action: Action, name: str) -> frozenset[str]:
    return ALLOW.get((action, name), SITE.get((action, name), NONE))


def _readers(action: Action, name: str) -> frozenset[str]:
    if name in SITE_READERS:
        return SITE_READERS[name]
    if action in (Action.READ_MEMBERS, Action.READ_REQUESTS):
        # A caucus's member list and requests are hidden things in themselves.
        return ALLOW[(Action.READ_MEMBERS, name)]
    return READERS.get(name, frozenset(ROLES))


def _expected_error(role: str, action: Action, name: str) -> type[DomainError]:
    if role not in _readers(action, name):
        return NotFound
    return Unauthenticated if role == "anonymous" else Forbidden


@pytest.mark.parametrize(("role", "action", "name"), CELLS)
def test_rule(role: str, action: Action, name: str) -> None:
    """`can` answers as the table says; `require` and the rule's own `check_*` raise NotFound
    for what the role may not read, Unauthenticated or Forbidden for what they may."""
    actor, target = CAST[role], _target(name)
    allowed = role in _allowed(action, name)
    assert policy.can(actor, action, target) is allowed, (role, action, name)
    check = CHECKS.get((action, type(target).__name__))
    faces: list[Callable[[], None]] = [lambda: policy.require(actor, action, target)]
    if check is not None:
        faces.append(lambda: check(actor, target))
    for face in faces:
        if allowed:
            face()
        else:
            with pytest.raises(_expected_error(role, action, name)):
                face()


def test_an_invitation_only_caucus_says_so_to_those_who_ask_to_join() -> None:
    from forum.errors import Invalid

    with pytest.raises(Invalid, match="invitation only"):
        policy.caucuses.check_request_join(CAST["invited"], CA["unlisted caucus"])


def test_every_action_has_a_rule_and_every_rule_a_row() -> None:
    covered = {action for action, _ in (*ALLOW, *SITE)}
    seat_rules = {Action.APPOINT, Action.REMOVE_SEAT}  # tested below: their target is a seat
    assert set(Action) - covered == seat_rules
    assert set(Action) == set(policy.rules._RULES)


def test_seat_rules_belong_to_the_caucus_conveners() -> None:
    plain = CaucusMembership(LISTED, member_id=6)
    own = CaucusMembership(LISTED, member_id=7, role="convener")
    other_convener = CaucusMembership(LISTED, member_id=70, role="convener")
    for role, actor in CAST.items():
        convener = role == "convener"
        assert policy.can(actor, Action.APPOINT, plain) is convener, role
        assert policy.can(actor, Action.REMOVE_SEAT, plain) is convener, role
        assert policy.can(actor, Action.APPOINT, other_convener) is False
        assert policy.can(actor, Action.APPOINT, own) is False
        assert policy.can(actor, Action.REMOVE_SEAT, own) is False
    conv = CAST["convener"]
    assert policy.caucuses.can_step_down(conv, CA["listed caucus"], [own, other_convener])
    assert not policy.caucuses.can_step_down(conv, CA["listed caucus"], [own, plain])


# ---- the view model ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(PO))
def test_the_post_view_says_what_each_rule_says(role: str, name: str) -> None:
    actor, post = CAST[role], PO[name]
    view = policy.post_view(actor, post)
    readable = role in READERS[name]
    assert view.may_read is readable
    assert view.may_see_hidden is (post.hidden and policy.can(actor, Action.SEE_HIDDEN, post))
    text = readable and not post.deleted and (not post.hidden or view.may_see_hidden)
    assert view.may_read_text is text
    assert view.may_edit is policy.can(actor, Action.EDIT, post)
    assert view.may_delete is policy.can(actor, Action.DELETE, post)
    assert view.may_flag is (not post.deleted and policy.can(actor, Action.FLAG, post))
    assert view.may_reply is (not post.deleted and policy.can(actor, Action.REPLY, post.thread))
    assert view.may_moderate is policy.can(actor, Action.MODERATE, post)
    assert view.may_appeal is policy.can(actor, Action.APPEAL, post)
    assert view.may_view_history is policy.can(actor, Action.VIEW_HISTORY, post)
    # Viewers of one kind see one view: what the live push shares a frame by.
    twins = [
        a
        for a in CAST.values()
        if policy.posts.viewer_kind(a, post) == policy.posts.viewer_kind(actor, post)
    ]
    assert all(policy.post_view(t, post) == view for t in twins)
    # A page asks once per kind of post and gets the same answer.
    assert policy.PostViews(actor, post.thread).of(post) == view


def test_hidden_text_is_read_by_its_author_and_its_moderators_only() -> None:
    hidden = PO["own hidden post"]
    readers = {
        role for role, actor in CAST.items() if policy.post_view(actor, hidden).may_read_text
    }
    assert readers == {"member", "facilitator", "admin"}
    caucus = PO["hidden caucus post"]
    readers = {
        role for role, actor in CAST.items() if policy.post_view(actor, caucus).may_read_text
    }
    assert readers == {"convener"}  # not the site's admins or facilitators


# ---- the filter faces agree with the answers, on a real database ------------------------------


async def test_filters_fetch_exactly_what_each_role_may_read(app: Starlette) -> None:
    author = await make_member("author")
    made: dict[int, CaucusModel] = {}
    for ident, caucus in CA.items():
        made[caucus.id] = await CaucusModel.create(
            id=caucus.id,
            name=ident,
            name_key=ident,
            slug=ident.replace(" ", "-"),
            listed=caucus.listed,
            join_policy=caucus.join_policy,
            archived_at=caucus.archived_at,
        )
    channels = {}
    for name, ch in CH.items():
        channels[name] = await ChannelModel.create(
            name=name,
            slug=name.replace(" ", "-"),
            caucus_id=ch.caucus_id,
            public=ch.public,
            archived=ch.archived,
        )
    for name, th in TH.items():
        channel = channels[next(n for n, c in CH.items() if c is th.channel)]
        await ThreadModel.create(title=name, channel=channel, author=author, locked=th.locked)
    for caucus_id in (None, LISTED, UNLISTED):
        await LogModel.create(action="hide_post", caucus_id=caucus_id, reason="r", target_label="t")
        await ReviewModel.create(kind="post", caucus_id=caucus_id)
        await NotificationModel.create(
            member=author, kind="reply", text="t", url="/", caucus_id=caucus_id
        )

    for role, actor in CAST.items():
        readable = {c.name for c in await ChannelModel.all() if policy.can(actor, Action.READ, c)}
        fetched = {c.name for c in await policy.channels.filter_channels(actor, ChannelModel.all())}
        assert fetched == readable == {n for n in CH if role in READERS[n]}, role
        threads = await policy.threads.filter_threads(
            actor, ThreadModel.all().select_related("channel")
        )
        assert {t.title for t in threads} == {n for n in TH if role in READERS[n]}, role
        known = {c.name for c in await policy.caucuses.filter_caucuses(actor, CaucusModel.all())}
        assert known == {n for n in CA if role in READERS[n]}, role
        log = await LogModel.filter(policy.visible_log(actor)).values_list("caucus_id", flat=True)
        assert set(log) == {
            c
            for c in (None, LISTED, UNLISTED)
            if policy.can(actor, Action.READ, ModerationAction(c))
        }, role
        items = await ReviewModel.filter(policy.review_scope(actor)).values_list(
            "caucus_id", flat=True
        )
        assert set(items) == {
            c for c in (None, LISTED, UNLISTED) if policy.can(actor, Action.READ, ReviewItem(c))
        }, role
        told = await NotificationModel.filter(
            policy.notifications.filter_notifications(actor)
        ).values_list("caucus_id", flat=True)
        mine = set(actor.seats) | set(actor.pending_seats)
        assert set(told) == {c for c in (None, LISTED, UNLISTED) if c is None or c in mine}, role


# ---- the route declarations are enforced ------------------------------------------------------


async def test_a_route_declared_for_members_refuses_a_pending_member(app: Starlette) -> None:
    client = await signed_in(app, "sue")
    try:
        assert (await client.get("/caucuses")).status_code == 200
        assert (await client.get("/api/v1/moderation/log")).status_code == 200
        await MemberModel.filter(handle_key="sue").update(status="pending")
        # Declared "member": refused before the handler runs, whatever the handler would show.
        assert (await client.get("/caucuses")).status_code == 403
        assert (await client.get("/api/v1/caucuses")).status_code == 403
        assert (await client.get("/api/v1/moderation/log")).status_code == 403
        # Declared "signed-in": their own account still answers.
        assert (await client.get("/notifications")).status_code == 200
        assert (await client.get("/api/v1/me")).status_code == 200
    finally:
        await client.aclose()


async def test_a_route_declared_signed_in_refuses_the_anonymous(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="https://forum.test") as client:
        assert (await client.get("/api/v1/notifications")).status_code == 401
        page = await client.get("/notifications")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        # An unsafe request still proves its origin first: a forged form gets the CSRF refusal.
        forged = await client.post("/caucuses", data={"name": "x"})
        assert forged.status_code == 403
        token = await csrf_token(client)
        signed_out = await client.post("/caucuses", data={"name": "x", "csrf": token})
        assert signed_out.status_code == 401
        assert "sign in" in signed_out.text.lower()


# ---- no role or seat decision outside the policy ----------------------------------------------

# A decision on a role or a seat: reading an actor's role or seats, comparing a role, or asking
# for a seat. Showing a role as text ({{ member.role }}) is not a decision.
DECISIONS = re.compile(
    r"""
      \bactor\.(?:role|seats|pending_seats|status|is_member)\b  # the Actor's role, seats, status
    | \.seat\(                                     # Actor.seat(...)
    | \bview\.seat\s*(?:==|!=)                     # comparing a seat label
    | \brole\b\s*(?:==|!=|\bin\b\s*[\(\[\{])       # role == "admin", role in ("...")
    | \.role\s*(?:==|!=)                           # seat.role == "convener"
    | (?:==|!=)\s*\w+\.role\b                      # r == m.role
    | selectattr\(\s*['"]role['"]                  # counting roles in a template
    | \bseats\[                                    # indexing the seats
    | \bin\s+\w+\.(?:seats|pending_seats)\b        # membership in the seats
    """,
    re.VERBOSE,
)
# Lines that decide nothing: building an Actor from rows, and forms that show the current value.
ALLOWED_LINES = (
    re.compile(r"seats\[member_id\]\[caucus_id\] = role"),  # notifications.actors_for
    re.compile(r"^\s*seats=seats\[m\.id\],$"),  # notifications.actors_for
    re.compile(r"seats\[caucus_id\] = role$"),  # accounts.actor_of (the Actor from its rows)
    re.compile(
        r"<option\{% if r == m\.role %\} selected"
    ),  # the role picker shows the current role
    re.compile(r"\bif policy\.is_admin_account\(member\) and role != \"admin\""),  # last-admin rule
)


def _sources() -> list[Path]:
    forum = [
        p
        for p in (ROOT / "forum").rglob("*.py")
        if "policy" not in p.relative_to(ROOT / "forum").parts[:1] and "migrations" not in p.parts
    ]
    return [*forum, *(ROOT / "templates").rglob("*.html"), *(ROOT / "static" / "js").glob("*.js")]


def test_no_role_or_seat_is_decided_outside_the_policy() -> None:
    found = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DECISIONS.search(line) and not any(a.search(line) for a in ALLOWED_LINES):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "ask forum.policy instead of reading roles or seats:\n" + "\n".join(found)


def test_the_decision_check_sees_the_old_ways() -> None:
    """The pattern catches what it is for (so a silent regex never passes everything)."""
    for line in (
        "if ctx.actor.seats:",
        "seat = actor.seat(c.id)",
        "if c.id in actor.pending_seats:",
        "{% if view.seat == 'convener' %}",
        "{% if seat.role != 'convener' %}",
        "if member.role == 'admin':",
        "{% if c.id in actor.seats %}",
        "{% if actor.is_member %}",
        "{% if view.members|selectattr('role', 'equalto', 'convener')|list|length > 1 %}",
    ):
        assert DECISIONS.search(line), line
    for line in ("{{ member.role|capitalize }}", "role=m.role,", '"role": member.role,'):
        assert not DECISIONS.search(line), line


# ---- outgoing mail ----------------------------------------------------------------------------


@dataclass
class OutboxMessage:
    kind: str
    member_id: int | None = NOBODY


@pytest.mark.parametrize("role", ROLES)
def test_mail_bodies_with_personal_links_are_withheld_even_from_admins(role: str) -> None:
    actor = CAST[role]
    admin = role == "admin"
    for kind in ("reset", "confirm", "email-change", "notify", "digest", "bounce", "unknown"):
        assert not policy.mail.can_read_mail_body(actor, OutboxMessage(kind)), (role, kind)
    assert policy.mail.can_read_mail_body(actor, OutboxMessage("test")) is admin
    # An admin reads messages sent to themself, whatever their kind.
    own = OutboxMessage("reset", member_id=actor.member_id)
    assert policy.mail.can_read_mail_body(actor, own) is admin


# ---- group mentions ---------------------------------------------------------------------------

# A caucus is addressed only inside its own (unarchived) channels by its own active members;
# @facilitators only in an open channel, by an active member.
CAUCUS_MENTION: dict[tuple[str, str], frozenset[str]] = {
    ("listed caucus channel", "listed caucus"): IN_CAUCUS,
    ("unlisted caucus channel", "unlisted caucus"): IN_CAUCUS,
    ("archived caucus channel", "archived caucus"): NONE,
    ("listed caucus channel", "unlisted caucus"): NONE,
    ("unlisted caucus channel", "listed caucus"): NONE,
    ("public channel", "listed caucus"): NONE,
    ("members-only channel", "unlisted caucus"): NONE,
}
FACILITATORS_MENTION: dict[str, frozenset[str]] = {
    "public channel": ACTIVE,
    "members-only channel": ACTIVE,
    "listed caucus channel": NONE,
    "unlisted caucus channel": NONE,
    "archived caucus channel": NONE,
}


@pytest.mark.parametrize(("channel", "caucus"), list(CAUCUS_MENTION))
def test_who_may_mention_a_caucus_where(channel: str, caucus: str) -> None:
    for role, actor in CAST.items():
        allowed = policy.follows.can_mention_caucus(actor, CH[channel], CA[caucus])  # type: ignore[arg-type]
        assert allowed is (role in CAUCUS_MENTION[(channel, caucus)]), (role, channel, caucus)


@pytest.mark.parametrize("channel", list(FACILITATORS_MENTION))
def test_who_may_mention_the_facilitators_where(channel: str) -> None:
    for role, actor in CAST.items():
        allowed = policy.follows.can_mention_facilitators(actor, CH[channel])  # type: ignore[arg-type]
        assert allowed is (role in FACILITATORS_MENTION[channel]), (role, channel)
