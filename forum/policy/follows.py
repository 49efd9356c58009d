"""Following and group mentions: who may follow a thread or a channel, who is told of activity
in what they follow, and who may address a group (`@caucus-slug`, `@facilitators`) where.

Following never widens access: a member follows only what they read, and every notice is asked
again at the moment it is sent, of the member as they are then (a lost seat or a suspension
silences a follow at once, whatever rows remain).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.expressions import Q

from forum.policy.actors import Actor, kind_of
from forum.policy.channels import can_read_channel, visible_channels
from forum.policy.moderation import reviewers
from forum.policy.threads import can_read_thread

if TYPE_CHECKING:
    from forum.models import Caucus, Channel, Thread

# The name that addresses the site's facilitators (facilitators and admins) in an open channel.
FACILITATORS = "facilitators"
# A group mention tells at most this many members (the longest-standing first); a larger group
# is better reached by a thread in its own channel, which its members follow.
GROUP_MENTION_CAP = 100


# An active member follows (or mutes) a thread or channel they read, and nothing else.
def can_follow(actor: Actor, target: Thread | Channel) -> bool:
    if not actor.is_member:
        return False
    if kind_of(target) == "Thread":
        return can_read_thread(actor, target)  # type: ignore[arg-type]
    if kind_of(target) == "Channel":
        return can_read_channel(actor, target)  # type: ignore[arg-type]
    return False


# A follower is told of activity only while they may read it: an active member who reads the
# thread now. (Told through the caucus notification rules: a caucus's notices reach only its
# active members, and an email about one names nothing.)
def may_be_told(actor: Actor, thread: Thread) -> bool:
    return actor.is_member and can_read_thread(actor, thread)


def visible_follows(actor: Actor) -> Q:
    """The filter on Follow rows the actor's Following page may list: threads and channels they
    read now (a caucus left is not listed, and its rows are gone anyway)."""
    scope = visible_channels(actor)
    on_threads = Q(thread_id__isnull=False) & scope.q("thread__channel__")
    on_channels = Q(channel_id__isnull=False) & scope.q("channel__")
    return on_threads | on_channels


# A caucus is addressed by its slug only inside its own channels, by its own active members.
# Anywhere else the name is plain text: the same as a name nobody has, so nothing about the
# caucus (that it exists, who sits in it) is learned by writing it.
def can_mention_caucus(actor: Actor, channel: Channel, caucus: Caucus) -> bool:
    return (
        channel.caucus_id is not None
        and channel.caucus_id == caucus.id
        and actor.seat(caucus.id) is not None
        and not channel.archived
    )


# The facilitators are addressed as @facilitators in the organisation's open channels only. In a
# caucus channel it is plain text: a caucus governs itself, and its content never reaches the
# site's facilitators.
def can_mention_facilitators(actor: Actor, channel: Channel) -> bool:
    return actor.is_member and channel.caucus_id is None and can_read_channel(actor, channel)


def facilitators() -> Q:
    """Who @facilitators tells (a filter on Member): the site's active facilitators and admins,
    who moderate the open channels."""
    return reviewers(None)
