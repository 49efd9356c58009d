"""Notifications: a member is told, and keeps being shown, only what concerns things they can
still read."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q

from forum.policy.actors import Actor


# A member sees notifications about open channels and about the caucuses they sit in, were
# invited to or asked to join: leave a caucus and its notifications go too.
def visible_notifications(caucus_ids: Iterable[int]) -> Q:
    """The filter for a member whose caucus rows (of any status) are `caucus_ids`."""
    mine = sorted(set(caucus_ids))
    open_q = Q(caucus_id__isnull=True)
    return open_q | Q(caucus_id__in=mine) if mine else open_q


def filter_notifications(actor: Actor) -> Q:
    return visible_notifications(set(actor.seats) | set(actor.pending_seats))


# A notice about a caucus reaches its active members only; the caucus's own membership notices
# ("caucus") also reach members who asked to join or were invited.
def seat_statuses_told(kind: str) -> tuple[str, ...]:
    return ("active", "requested", "invited") if kind == "caucus" else ("active",)
