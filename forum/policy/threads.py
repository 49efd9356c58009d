"""Threads: read with their channel, replied to while unlocked, moderated by the channel's
moderators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forum.policy.actors import Actor, deny
from forum.policy.channels import can_moderate_channel, can_read_channel, visible_channels

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from forum.models import Thread


# A thread is read by whoever reads its channel.
def can_read_thread(actor: Actor, thread: Thread) -> bool:
    return can_read_channel(actor, thread.channel)


def check_read_thread(actor: Actor, thread: Thread) -> None:
    if not can_read_thread(actor, thread):
        deny(actor, False)


def filter_threads(actor: Actor, query: QuerySet[Thread]) -> QuerySet[Thread]:
    """Narrow a query over threads to those whose channel the actor reads."""
    return query.filter(visible_channels(actor).q("channel__"))


# Active members who read a thread reply to it while it is unlocked; its moderators may reply to
# a locked thread (to explain the lock). Nobody replies in an archived caucus.
def can_reply(actor: Actor, thread: Thread) -> bool:
    channel = thread.channel
    if not (actor.is_member and can_read_channel(actor, channel)) or channel.archived:
        return False
    return not thread.locked or can_moderate_channel(actor, channel)


def check_reply(actor: Actor, thread: Thread) -> None:
    if not can_reply(actor, thread):
        deny(actor, can_read_thread(actor, thread))


# A thread is moderated (locked, pinned, slowed, moved) by the moderators of its channel.
def can_moderate_thread(actor: Actor, thread: Thread) -> bool:
    return can_moderate_channel(actor, thread.channel)


def check_moderate_thread(actor: Actor, thread: Thread) -> None:
    if not can_moderate_thread(actor, thread):
        deny(actor, can_read_thread(actor, thread))


# A thread is answered by email only in an open channel: a caucus's emails carry no text and no
# reply address, so a reply by email to a caucus thread is refused whoever sends it. Otherwise
# the emailed reply follows the site's rule, and this names the reason it is refused (a code the
# mail service words for the member), or None when the reply may go ahead.
def email_reply_refusal(actor: Actor, thread: Thread) -> str | None:
    channel = thread.channel
    if channel.caucus_id is not None:
        return "caucus"
    if actor.status == "suspended":
        return "suspended"
    if not actor.is_member:
        return "inactive"
    if not can_read_channel(actor, channel):
        return "no_access"
    if channel.archived:
        return "archived"
    if not can_reply(actor, thread):
        return "locked"
    return None


def can_reply_by_email(actor: Actor, thread: Thread) -> bool:
    return email_reply_refusal(actor, thread) is None
