"""Who asks (the Actor), what they may ask to do (Action), and the one way a refusal is raised.

Raising follows one principle: what the actor may not read is NotFound (indistinguishable from a
missing thing); what they can read but may not do is Forbidden; Unauthenticated when signing in
would help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

from forum.errors import Forbidden, NotFound, Unauthenticated


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
    REACT = "react"
    BOOKMARK = "bookmark"
    # follow or mute a thread or a channel (forum.policy.follows)
    FOLLOW = "follow"
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
    ACCEPT_INVITATION = "accept_invitation"
    # seat actions (the target is a caucus membership row)
    APPOINT = "appoint"
    REMOVE_SEAT = "remove_seat"
    # site actions
    ADMIN_MEMBERS = "admin_members"
    SUSPEND = "suspend"
    SET_ROLE = "set_role"
    INVITE = "invite"
    REVOKE_INVITE = "revoke_invite"
    CREATE_CHANNEL = "create_channel"
    PUBLISH_STATEMENT = "publish_statement"
    REVIEW_SITE = "review_site"
    REVIEW = "review"
    SEE_PROFILE = "see_profile"
    SEE_DIRECTORY = "see_directory"
    USE_ACCOUNT = "use_account"
    TAKE_PART = "take_part"
    SEE_MAIL_LOG = "see_mail_log"


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
        """The active seat (convener | member) of an active member in a caucus, else None."""
        if caucus_id is None or not self.is_member:
            return None
        return self.seats.get(caucus_id)


def kind_of(target: Any) -> str:
    """The model a target stands for (page rows name theirs with `__policy_kind__`)."""
    return getattr(target, "__policy_kind__", None) or type(target).__name__


def deny(actor: Actor, readable: bool) -> NoReturn:
    """Refuse: NotFound when the actor may not even read the target, Unauthenticated when
    signing in would help, Forbidden otherwise."""
    if not readable:
        raise NotFound()
    if not actor.signed_in:
        raise Unauthenticated()
    raise Forbidden()


def is_site_moderator(actor: Actor) -> bool:
    """Facilitators and admins moderate the organisation's open channels."""
    return actor.is_member and actor.role in ("facilitator", "admin")


def is_admin(actor: Actor) -> bool:
    """Admins manage members, roles, invites, open channels and published statements."""
    return actor.is_member and actor.role == "admin"


def convened(actor: Actor) -> list[int]:
    """The caucuses an active member convenes."""
    if not actor.is_member:
        return []
    return sorted(c for c, r in actor.seats.items() if r == "convener")


def seated(actor: Actor) -> list[int]:
    """The caucuses an active member sits in."""
    return sorted(actor.seats) if actor.is_member else []
