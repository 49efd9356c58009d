"""The rule table: `can()` answers and `require()` raises for any (action, target), by asking
the per-noun modules. An action without a rule is refused, never allowed by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forum.policy import (
    caucuses,
    channels,
    decisions,
    follows,
    mail,
    members,
    moderation,
    posts,
    reports,
    threads,
)
from forum.policy.actors import Action, Actor, deny, kind_of

Rule = Callable[[Actor, Any], bool]


# Reading anything follows the read rule of its noun.
def _read(actor: Actor, target: Any) -> bool:
    name = kind_of(target)
    if name == "Thread":
        return threads.can_read_thread(actor, target)
    if name == "Post":
        return posts.can_read_post(actor, target)
    if name == "Channel":
        return channels.can_read_channel(actor, target)
    if name == "Caucus":
        return caucuses.can_know(actor, target)
    if name == "ModerationAction":
        return moderation.can_read_log_entry(actor, target)
    if name == "ReviewItem":
        return moderation.can_review_item(actor, target)
    if name == "Decision":
        return decisions.can_read_decision(actor, target)
    return False


# Moderating anything follows the moderation rule of its noun.
def _moderate(actor: Actor, target: Any) -> bool:
    name = kind_of(target)
    if name == "Thread":
        return threads.can_moderate_thread(actor, target)
    if name == "Post":
        return posts.can_moderate_post(actor, target)
    if name == "Channel":
        return channels.can_moderate_channel(actor, target)
    if name == "ReviewItem":
        return moderation.can_review_item(actor, target)
    return False


_RULES: dict[Action, Rule] = {
    Action.READ: _read,
    Action.START_THREAD: channels.can_start_thread,
    Action.REPLY: threads.can_reply,
    Action.EDIT: posts.can_edit,
    Action.DELETE: posts.can_delete,
    Action.VIEW_HISTORY: posts.can_view_history,
    Action.FLAG: posts.can_flag,
    Action.APPEAL: posts.can_appeal,
    Action.OPEN_MODERATION: posts.can_open_moderation,
    Action.REACT: posts.can_react,
    Action.BOOKMARK: posts.can_bookmark,
    Action.FOLLOW: follows.can_follow,
    Action.MODERATE: _moderate,
    Action.SEE_HIDDEN: posts.can_see_hidden,
    Action.KNOW: caucuses.can_know,
    Action.READ_MEMBERS: caucuses.can_read_members,
    Action.SEE_SIZE: caucuses.can_see_size,
    Action.READ_REQUESTS: caucuses.can_read_requests,
    Action.REQUEST_JOIN: caucuses.can_request_join,
    Action.LEAVE: caucuses.can_leave,
    Action.GOVERN: caucuses.can_govern,
    Action.ARCHIVE: caucuses.can_archive,
    Action.APPOINT: caucuses.can_appoint,
    Action.REMOVE_SEAT: caucuses.can_remove_seat,
    Action.FOUND_CAUCUS: caucuses.can_found,
    Action.USE_ACCOUNT: members.can_use_account,
    Action.TAKE_PART: members.can_take_part,
    Action.ACCEPT_INVITATION: caucuses.can_accept_invitation,
    Action.ADMIN_MEMBERS: members.can_administer,
    Action.SET_ROLE: members.can_administer,
    Action.INVITE: members.can_invite,
    Action.REVOKE_INVITE: members.can_invite,
    Action.CREATE_CHANNEL: members.can_administer,
    Action.PUBLISH_STATEMENT: members.can_administer,
    Action.SUSPEND: members.can_suspend,
    Action.REVIEW_SITE: moderation.can_review_site,
    Action.REVIEW: moderation.can_review,
    Action.SEE_PROFILE: members.can_see_profile,
    Action.SEE_DIRECTORY: members.can_see_directory,
    Action.SEE_MAIL_LOG: mail.can_see_mail_log,
}


def can(actor: Actor, action: Action, target: Any = None) -> bool:
    """Answer whether `actor` may do `action` to `target` (a model object or None)."""
    rule = _RULES.get(action)
    if rule is None:
        return False
    return rule(actor, target)


def require(actor: Actor, action: Action, target: Any = None) -> None:
    """Raise unless allowed: NotFound if the actor may not even read the target, Forbidden if
    they can read it but may not do this, Unauthenticated when signing in would help."""
    if can(actor, action, target):
        return
    deny(actor, _can_see(actor, action, target))


def _can_see(actor: Actor, action: Action, target: Any) -> bool:
    name = kind_of(target)
    if name == "Caucus":
        # A caucus's member list and requests are themselves hidden things: outsiders who know
        # a listed caucus get the same 404 for them as for anything missing.
        if action in (Action.READ_MEMBERS, Action.READ_REQUESTS):
            return caucuses.can_read_members(actor, target)
        return caucuses.can_know(actor, target)
    if name == "CaucusMembership":
        # A seat is seen by the members of its caucus.
        return actor.seat(target.caucus_id) is not None
    if name in ("Thread", "Post", "Channel", "ModerationAction", "ReviewItem", "Decision"):
        return _read(actor, target)
    # Site-level actions have no hidden target: show "forbidden" (or sign-in) rather than 404.
    return True


# Websocket topics: `thread:ID` and `channel:ID` follow the read rule of their thread or
# channel; `member:ID` is read by that member only.
def topic_readable(actor: Actor, kind: str, target: Any) -> bool:
    if kind == "member":
        return actor.signed_in and target == actor.member_id
    if kind == "case":
        return reports.can_follow_case(actor, target)
    return can(actor, Action.READ, target)
