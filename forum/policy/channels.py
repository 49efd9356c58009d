"""Channels: who reads them, who moderates them, who starts threads in them, and the scope that
lists, search and feeds narrow their queries with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.policy.actors import Actor, deny, is_site_moderator

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from forum.models import Channel


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


# Active members read every open channel and the channels of caucuses they sit in.
# Everyone else (anonymous, pending, suspended) reads only public open channels.
def visible_channels(actor: Actor) -> ChannelScope:
    if actor.is_member:
        return ChannelScope(open_channels=True, caucus_ids=frozenset(actor.seats))
    return ChannelScope(open_channels=False, caucus_ids=frozenset())


def filter_channels(actor: Actor, query: QuerySet[Channel]) -> QuerySet[Channel]:
    """Narrow a query over channels to those the actor reads."""
    return query.filter(visible_channels(actor).q())


# A caucus channel is read by the caucus's active members only: no site role overrides it.
# An open channel is read by every active member, and by anyone when it is public.
def can_read_channel(actor: Actor, channel: Channel) -> bool:
    if channel.caucus_id is not None:
        return actor.seat(channel.caucus_id) is not None
    return actor.is_member or bool(channel.public)


def check_read_channel(actor: Actor, channel: Channel) -> None:
    if not can_read_channel(actor, channel):
        deny(actor, False)


# A caucus's conveners moderate its channels; facilitators and admins moderate open ones.
def can_moderate_channel(actor: Actor, channel: Channel) -> bool:
    if channel.caucus_id is not None:
        return actor.seat(channel.caucus_id) == "convener"
    return is_site_moderator(actor)


def check_moderate_channel(actor: Actor, channel: Channel) -> None:
    if not can_moderate_channel(actor, channel):
        deny(actor, can_read_channel(actor, channel))


# Active members who read a channel start threads in it, unless its caucus is archived.
def can_start_thread(actor: Actor, channel: Channel) -> bool:
    return actor.is_member and can_read_channel(actor, channel) and not channel.archived


def check_start_thread(actor: Actor, channel: Channel) -> None:
    if not can_start_thread(actor, channel):
        deny(actor, can_read_channel(actor, channel))
