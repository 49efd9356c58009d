"""Every access rule of the forum, in one place.

Each rule is written as a sentence above its code. The module is pure and synchronous: it looks
only at the Actor (loaded once per request or socket) and at already-loaded model objects, and it
never queries. Two faces of each rule: `can()` answers, `require()` raises. Lists, search, feeds
and counts narrow their queries with the `visible_*` scopes instead of filtering after a fetch.

Raising follows one principle: what the actor may not read is NotFound (indistinguishable from a
missing thing); what they can read but may not do is Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.errors import Forbidden, NotFound, Unauthenticated

if TYPE_CHECKING:
    from forum.models import Caucus, Channel, Member, ModerationAction, Post, ReviewItem, Thread


class Action(StrEnum):
    READ = "read"
    START_THREAD = "start_thread"
    REPLY = "reply"
    EDIT = "edit"
    DELETE = "delete"
    VIEW_HISTORY = "view_history"
    FLAG = "flag"
    MODERATE = "moderate"
    SEE_HIDDEN = "see_hidden"
    APPEAL = "appeal"
    OPEN_MODERATION = "open_moderation"
    # caucus actions
    KNOW = "know"
    READ_MEMBERS = "read_members"
    READ_REQUESTS = "read_requests"
    SEE_SIZE = "see_size"
    REQUEST_JOIN = "request_join"
    LEAVE = "leave"
    GOVERN = "govern"
    ARCHIVE = "archive"
    FOUND_CAUCUS = "found_caucus"
    # site actions
    ADMIN_MEMBERS = "admin_members"
    SUSPEND = "suspend"
    SET_ROLE = "set_role"
    INVITE = "invite"
    CREATE_CHANNEL = "create_channel"
    PUBLISH_STATEMENT = "publish_statement"
    REVIEW_SITE = "review_site"
    REVIEW = "review"
    SEE_PROFILE = "see_profile"
    USE_ACCOUNT = "use_account"


@dataclass(frozen=True)
class Actor:
    """Who is asking: loaded once per request (or socket) and never re-queried by rules."""

    member_id: int | None = None
    handle: str = ""
    role: str = "anonymous"  # anonymous | member | facilitator | admin
    status: str = "anonymous"  # anonymous | pending | active | suspended
    # caucus id -> seat role, for active seats only
    seats: dict[int, str] = field(default_factory=dict)
    # caucus ids where this member has asked to join or was invited (not yet a member)
    pending_seats: frozenset[int] = frozenset()

    @classmethod
    def anonymous(cls) -> Actor:
        return cls()

    @property
    def is_member(self) -> bool:
        """An active member: signed in, approved, not suspended."""
        return self.member_id is not None and self.status == "active"

    @property
    def signed_in(self) -> bool:
        return self.member_id is not None

    def seat(self, caucus_id: int | None) -> str | None:
        if caucus_id is None or not self.is_member:
            return None
        return self.seats.get(caucus_id)


# ---- scopes: what lists, search and feeds may fetch ---------------------------------------


@dataclass(frozen=True)
class ChannelScope:
    """Which channels an actor may read: all open ones, only public ones, plus some caucuses."""

    open_channels: bool
    caucus_ids: frozenset[int]

    def q(self, prefix: str = "") -> Q:
        """A tortoise filter for a query over channels (prefix "channel__" for threads)."""
        filters: dict[str, Any] = {f"{prefix}caucus_id__isnull": True}
        if not self.open_channels:
            filters[f"{prefix}public"] = True
        open_q = Q(**filters)
        if self.caucus_ids:
            mine: dict[str, Any] = {f"{prefix}caucus_id__in": sorted(self.caucus_ids)}
            return open_q | Q(**mine)
        return open_q


def visible_channels(actor: Actor) -> ChannelScope:
    """Active members read every open channel and the channels of caucuses they sit in.
    Everyone else (anonymous, pending, suspended) reads only public open channels."""
    if actor.is_member:
        return ChannelScope(open_channels=True, caucus_ids=frozenset(actor.seats))
    return ChannelScope(open_channels=False, caucus_ids=frozenset())


def visible_caucuses(actor: Actor) -> Q:
    """Active members know listed caucuses that are not archived, and any caucus they sit in or
    were invited to or asked to join. Nobody else knows any caucus. Site roles change nothing."""
    if not actor.is_member:
        return Q(id__in=[])
    mine = sorted(set(actor.seats) | set(actor.pending_seats))
    listed = Q(listed=True, archived_at__isnull=True)
    return listed | Q(id__in=mine) if mine else listed


def visible_log(actor: Actor) -> Q:
    """Active members read the moderation log of open channels and of their own caucuses."""
    if not actor.is_member:
        return Q(id__in=[])
    if actor.seats:
        return Q(caucus_id__isnull=True) | Q(caucus_id__in=sorted(actor.seats))
    return Q(caucus_id__isnull=True)


def review_scope(actor: Actor) -> Q:
    """Facilitators and admins review items from open channels; conveners review their
    caucus's items. Nobody reviews a caucus they do not convene."""
    convened = (
        sorted(c for c, r in actor.seats.items() if r == "convener") if actor.is_member else []
    )
    parts = Q(id__in=[])
    if is_site_moderator(actor):
        parts = Q(caucus_id__isnull=True)
    if convened:
        parts = parts | Q(caucus_id__in=convened)
    return parts


# ---- the rules ----------------------------------------------------------------------------


def is_site_moderator(actor: Actor) -> bool:
    """Facilitators and admins moderate the organisation's open channels."""
    return actor.is_member and actor.role in ("facilitator", "admin")


def is_admin(actor: Actor) -> bool:
    return actor.is_member and actor.role == "admin"


def is_admin_account(member: Member) -> bool:
    """Whether a member holds the admin role: the forum keeps at least one active admin."""
    return member.role == "admin"


def is_convener_seat(seat: Any) -> bool:
    """Whether a seat is an active convener's: a caucus keeps at least one."""
    return seat.status == "active" and seat.role == "convener"


def can_read_channel(actor: Actor, channel: Channel) -> bool:
    """A caucus channel is read by the caucus's active members only: no site role overrides it.
    An open channel is read by every active member, and by anyone when it is public."""
    if channel.caucus_id is not None:
        return actor.seat(channel.caucus_id) is not None
    return actor.is_member or bool(channel.public)


def can_moderate_channel(actor: Actor, channel: Channel) -> bool:
    """A caucus's conveners moderate its channels; facilitators and admins moderate open ones."""
    if channel.caucus_id is not None:
        return actor.seat(channel.caucus_id) == "convener"
    return is_site_moderator(actor)


def _thread_channel(thread: Thread) -> Channel:
    return thread.channel


def _kind(target: Any) -> str:
    """The model a target stands for (page rows name theirs with `__policy_kind__`)."""
    return getattr(target, "__policy_kind__", None) or type(target).__name__


def can(actor: Actor, action: Action, target: Any = None) -> bool:
    """Answer whether `actor` may do `action` to `target` (a model object or None)."""
    rule = _RULES.get(action)
    if rule is None:  # an action without a rule is refused, never allowed by default
        return False
    return rule(actor, target)


def require(actor: Actor, action: Action, target: Any = None) -> None:
    """Raise unless allowed: NotFound if the actor may not even read the target, Forbidden if
    they can read it but may not do this, Unauthenticated when signing in would help."""
    if can(actor, action, target):
        return
    if not _can_see(actor, action, target):
        raise NotFound()
    if not actor.signed_in:
        raise Unauthenticated()
    raise Forbidden()


def _can_see(actor: Actor, action: Action, target: Any) -> bool:
    name = _kind(target)
    if name == "Thread":
        return can_read_channel(actor, _thread_channel(target))
    if name == "Post":
        return _read_post(actor, target)
    if name == "Channel":
        return can_read_channel(actor, target)
    if name == "Caucus":
        # A caucus's member list and requests are themselves hidden things: outsiders who know
        # a listed caucus get the same 404 for them as for anything missing.
        if action in (Action.READ_MEMBERS, Action.READ_REQUESTS):
            return _read_members(actor, target)
        return _know_caucus(actor, target)
    # Site-level actions have no hidden target: show "forbidden" (or sign-in) rather than 404.
    return True


# Thread rules ------------------------------------------------------------------------------


def _read_thread(actor: Actor, thread: Thread) -> bool:
    """A thread is read by whoever reads its channel."""
    return can_read_channel(actor, _thread_channel(thread))


def _caucus_archived(channel: Channel) -> bool:
    return bool(channel.archived)


def _start_thread(actor: Actor, channel: Channel) -> bool:
    """Active members who read a channel start threads in it, unless its caucus is archived."""
    return actor.is_member and can_read_channel(actor, channel) and not _caucus_archived(channel)


def _reply(actor: Actor, thread: Thread) -> bool:
    """Active members who read a thread reply to it while it is unlocked; its moderators may
    reply to a locked thread (to explain the lock)."""
    channel = _thread_channel(thread)
    if not (actor.is_member and can_read_channel(actor, channel)) or _caucus_archived(channel):
        return False
    return not thread.locked or can_moderate_channel(actor, channel)


def _moderate_thread(actor: Actor, thread: Thread) -> bool:
    return can_moderate_channel(actor, _thread_channel(thread))


# Post rules --------------------------------------------------------------------------------


def _read_post(actor: Actor, post: Post) -> bool:
    """A post is read by whoever reads its thread (a hidden post shows its notice, not its text)."""
    return _read_thread(actor, post.thread)


def _own(actor: Actor, post: Post) -> bool:
    return actor.member_id is not None and post.author_id == actor.member_id


def _edit_post(actor: Actor, post: Post) -> bool:
    """Authors edit their own posts while active, while the post is neither deleted nor hidden
    and the thread is unlocked."""
    thread: Thread = post.thread
    return (
        _own(actor, post)
        and _reply(actor, thread)
        and not post.deleted
        and not post.hidden
        and not thread.locked
    )


def _delete_post(actor: Actor, post: Post) -> bool:
    """Authors delete their own posts while active and able to read them."""
    return _own(actor, post) and actor.is_member and _read_post(actor, post) and not post.deleted


def _see_hidden(actor: Actor, post: Post) -> bool:
    """A hidden post's text is read by its author and by the moderators of its channel."""
    return _read_post(actor, post) and (_own(actor, post) or _moderate_thread(actor, post.thread))


def _view_history(actor: Actor, post: Post) -> bool:
    """Edit history is read by whoever reads the post, unless it is hidden or deleted, in which
    case only those who may see hidden text read it."""
    if post.hidden or post.deleted:
        return _see_hidden(actor, post)
    return _read_post(actor, post)


def _flag(actor: Actor, post: Post) -> bool:
    """Any active member who reads a post may flag it, except their own."""
    return actor.is_member and _read_post(actor, post) and not _own(actor, post)


def _appeal(actor: Actor, post: Post) -> bool:
    """The author of a hidden post may appeal it."""
    return actor.is_member and _own(actor, post) and post.hidden and _read_post(actor, post)


def _open_moderation(actor: Actor, post: Post) -> bool:
    """A post's moderation page is opened by its moderators, and by its author while it is
    hidden (to appeal)."""
    return _moderate_post(actor, post) or _appeal(actor, post)


def _moderate_post(actor: Actor, post: Post) -> bool:
    return _moderate_thread(actor, post.thread)


# Caucus rules ------------------------------------------------------------------------------


def _know_caucus(actor: Actor, caucus: Caucus) -> bool:
    """An active member knows a caucus exists when it is listed and not archived, or when they
    sit in it, asked to join, or were invited. Site roles give no more than that."""
    if not actor.is_member:
        return False
    if caucus.id in actor.seats or caucus.id in actor.pending_seats:
        return True
    return bool(caucus.listed) and caucus.archived_at is None


def _read_members(actor: Actor, caucus: Caucus) -> bool:
    """A caucus's member list, requests and invitations are read by its active members only."""
    return actor.seat(caucus.id) is not None


def _read_requests(actor: Actor, caucus: Caucus) -> bool:
    """Requests to join and pending invitations are read by the caucus's conveners only."""
    return actor.seat(caucus.id) == "convener"


def _see_size(actor: Actor, caucus: Caucus) -> bool:
    """A caucus's size is shown to its members, and to members who know it when it is listed;
    an unlisted caucus's size stays inside it (an invitee sees it once they join)."""
    return actor.seat(caucus.id) is not None or (
        bool(caucus.listed) and _know_caucus(actor, caucus)
    )


def _request_join(actor: Actor, caucus: Caucus) -> bool:
    """Active members ask to join a caucus they know of when it admits by request, it is not
    archived, and they are not already in it or waiting."""
    return (
        _know_caucus(actor, caucus)
        and caucus.join_policy == "request"
        and caucus.archived_at is None
        and caucus.id not in actor.seats
        and caucus.id not in actor.pending_seats
    )


def _leave(actor: Actor, caucus: Caucus) -> bool:
    """Members leave a caucus at will (a last convener must appoint another first: service rule)."""
    return actor.signed_in and (caucus.id in actor.seats or caucus.id in actor.pending_seats)


def _govern(actor: Actor, caucus: Caucus) -> bool:
    """A caucus's conveners admit, decline, invite, remove and appoint; nobody else does."""
    return actor.seat(caucus.id) == "convener" and caucus.archived_at is None


def _archive(actor: Actor, caucus: Caucus) -> bool:
    """Site admins may archive a listed caucus (its metadata only); the act is logged where its
    members read it. An unlisted caucus is beyond any site role, even an admin's own."""
    return is_admin(actor) and bool(caucus.listed) and _know_caucus(actor, caucus)


# Site rules --------------------------------------------------------------------------------


def _see_profile(actor: Actor, member: Member | None = None) -> bool:
    """Active members see each other's public profile (never their caucuses); a member still
    waiting for approval is seen by admins only."""
    if not actor.is_member:
        return False
    return member is None or member.status != "pending" or is_admin(actor)


def _active(actor: Actor, _target: Any = None) -> bool:
    """Any active member may found a caucus and use their account."""
    return actor.is_member


def _signed_in(actor: Actor, _target: Any = None) -> bool:
    return actor.signed_in


def _admin(actor: Actor, _target: Any = None) -> bool:
    """Admins manage members, roles, invites, open channels and published statements."""
    return is_admin(actor)


def _site_moderator(actor: Actor, _target: Any = None) -> bool:
    return is_site_moderator(actor)


def _suspend(actor: Actor, member: Member | None) -> bool:
    """Admins and facilitators suspend and reinstate members, never themselves; only admins may
    act on an admin (the last-admin rule is checked in the service, which can count)."""
    if not is_site_moderator(actor):
        return False
    if member is None:
        return True
    if member.id == actor.member_id:
        return False
    return member.role != "admin" or is_admin(actor)


def _review_any(actor: Actor, _target: Any = None) -> bool:
    """The review queue is open to facilitators and admins (open channels) and to conveners
    (their own caucuses' items only, by `review_scope`)."""
    return is_site_moderator(actor) or (
        actor.is_member and any(role == "convener" for role in actor.seats.values())
    )


def _read_log_entry(actor: Actor, act: ModerationAction) -> bool:
    """Members read log entries of open channels; caucus members read their caucus's entries."""
    if not actor.is_member:
        return False
    return act.caucus_id is None or act.caucus_id in actor.seats


def _review_item(actor: Actor, item: ReviewItem) -> bool:
    """Caucus items are reviewed by that caucus's conveners; open items by site moderators."""
    if item.caucus_id is not None:
        return actor.seat(item.caucus_id) == "convener"
    return is_site_moderator(actor)


def _read_or_moderate(actor: Actor, target: Any) -> bool:
    name = _kind(target)
    if name == "Thread":
        return _read_thread(actor, target)
    if name == "Post":
        return _read_post(actor, target)
    if name == "Channel":
        return can_read_channel(actor, target)
    if name == "Caucus":
        return _know_caucus(actor, target)
    if name == "ModerationAction":
        return _read_log_entry(actor, target)
    if name == "ReviewItem":
        return _review_item(actor, target)
    return False


def _moderate(actor: Actor, target: Any) -> bool:
    name = _kind(target)
    if name == "Thread":
        return _moderate_thread(actor, target)
    if name == "Post":
        return _moderate_post(actor, target)
    if name == "Channel":
        return can_moderate_channel(actor, target)
    if name == "ReviewItem":
        return _review_item(actor, target)
    return False


_RULES: dict[Action, Any] = {
    Action.READ: _read_or_moderate,
    Action.START_THREAD: _start_thread,
    Action.REPLY: _reply,
    Action.EDIT: _edit_post,
    Action.DELETE: _delete_post,
    Action.VIEW_HISTORY: _view_history,
    Action.FLAG: _flag,
    Action.APPEAL: _appeal,
    Action.OPEN_MODERATION: _open_moderation,
    Action.MODERATE: _moderate,
    Action.SEE_HIDDEN: _see_hidden,
    Action.KNOW: _know_caucus,
    Action.READ_MEMBERS: _read_members,
    Action.SEE_SIZE: _see_size,
    Action.READ_REQUESTS: _read_requests,
    Action.REQUEST_JOIN: _request_join,
    Action.LEAVE: _leave,
    Action.GOVERN: _govern,
    Action.ARCHIVE: _archive,
    Action.FOUND_CAUCUS: _active,
    Action.USE_ACCOUNT: _signed_in,
    Action.ADMIN_MEMBERS: _admin,
    Action.SET_ROLE: _admin,
    Action.INVITE: _admin,
    Action.CREATE_CHANNEL: _admin,
    Action.PUBLISH_STATEMENT: _admin,
    Action.SUSPEND: _suspend,
    Action.REVIEW_SITE: _site_moderator,
    Action.REVIEW: _review_any,
    Action.SEE_PROFILE: _see_profile,
}


def topic_readable(actor: Actor, kind: str, target: Any) -> bool:
    """Websocket topics: `thread:ID` and `channel:ID` follow the read rule of their thread or
    channel; `member:ID` is read by that member only."""
    if kind == "member":
        return actor.signed_in and target == actor.member_id
    return can(actor, Action.READ, target)
