"""Caucuses: who knows one exists, who reads its members and requests, who joins, leaves,
governs and archives it, and what a member's own seat in it is called."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.errors import Invalid
from forum.policy.actors import Actor, deny, is_admin

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from forum.models import Caucus, CaucusMembership


# Active members know listed caucuses that are not archived, and any caucus they sit in or were
# invited to or asked to join. Nobody else knows any caucus. Site roles change nothing.
def visible_caucuses(actor: Actor) -> Q:
    if not actor.is_member:
        return Q(id__in=[])
    mine = sorted(set(actor.seats) | set(actor.pending_seats))
    listed = Q(listed=True, archived_at__isnull=True)
    return listed | Q(id__in=mine) if mine else listed


def filter_caucuses(actor: Actor, query: QuerySet[Caucus]) -> QuerySet[Caucus]:
    return query.filter(visible_caucuses(actor))


def can_know(actor: Actor, caucus: Caucus) -> bool:
    """As `visible_caucuses`, for one caucus."""
    if not actor.is_member:
        return False
    if caucus.id in actor.seats or caucus.id in actor.pending_seats:
        return True
    return bool(caucus.listed) and caucus.archived_at is None


def check_know(actor: Actor, caucus: Caucus) -> None:
    if not can_know(actor, caucus):
        deny(actor, False)


# The caucuses an active member sits in and that are not archived (to discuss a statement in).
def my_caucuses(actor: Actor) -> Q | None:
    """A filter over caucuses, or None when there is nothing to fetch."""
    mine = sorted(actor.seats) if actor.is_member else []
    return Q(id__in=mine, archived_at__isnull=True) if mine else None


def seat_label(actor: Actor, caucus: Caucus) -> str | None:
    """The actor's own place in a caucus as lists show it: convener, member, waiting, or None."""
    seat = actor.seat(caucus.id)
    if seat is None and caucus.id in actor.pending_seats:
        return "waiting"
    return seat


def seat_of(actor: Actor, caucus: Caucus) -> str | None:
    """The actor's active seat in a caucus (convener | member), or None."""
    return actor.seat(caucus.id)


def is_seated(actor: Actor, caucus: Caucus) -> bool:
    """Whether the actor holds an active seat in the caucus."""
    return actor.seat(caucus.id) is not None


def is_waiting(actor: Actor, caucus: Caucus) -> bool:
    """Whether the actor asked to join or was invited and is not yet in."""
    return actor.seat(caucus.id) is None and caucus.id in actor.pending_seats


# A caucus's member list, channels and log are read by its active members only.
def can_read_members(actor: Actor, caucus: Caucus) -> bool:
    return actor.seat(caucus.id) is not None


def check_read_members(actor: Actor, caucus: Caucus) -> None:
    # Outsiders who know a listed caucus get the same 404 for its members as for anything missing.
    if not can_read_members(actor, caucus):
        deny(actor, False)


# Requests to join and pending invitations are read by the caucus's conveners only.
def can_read_requests(actor: Actor, caucus: Caucus) -> bool:
    return actor.seat(caucus.id) == "convener"


def check_read_requests(actor: Actor, caucus: Caucus) -> None:
    if not can_read_requests(actor, caucus):
        deny(actor, can_read_members(actor, caucus))


# A caucus's size is shown to its members, and to members who know it when it is listed; an
# unlisted caucus's size stays inside it (an invitee sees it once they join).
def can_see_size(actor: Actor, caucus: Caucus) -> bool:
    return actor.seat(caucus.id) is not None or (bool(caucus.listed) and can_know(actor, caucus))


# Active members ask to join a caucus they know of when it admits by request, it is not
# archived, and they are not already in it or waiting.
def can_request_join(actor: Actor, caucus: Caucus) -> bool:
    return (
        can_know(actor, caucus)
        and caucus.join_policy == "request"
        and caucus.archived_at is None
        and caucus.id not in actor.seats
        and caucus.id not in actor.pending_seats
    )


def check_request_join(actor: Actor, caucus: Caucus) -> None:
    """An invitation-only caucus says so (a clear error, not a bare refusal) to those outside."""
    if caucus.join_policy == "invite" and caucus.id not in actor.seats and can_know(actor, caucus):
        raise Invalid("This caucus admits members by invitation only. Ask one of its members.")
    if not can_request_join(actor, caucus):
        deny(actor, can_know(actor, caucus))


# An active member accepts an invitation to a caucus that is not archived (the service finds
# the invitation itself).
def can_accept_invitation(actor: Actor, caucus: Caucus) -> bool:
    return actor.is_member and caucus.id in actor.pending_seats and caucus.archived_at is None


# Members leave a caucus at will (a last convener must appoint another first: service rule).
def can_leave(actor: Actor, caucus: Caucus) -> bool:
    return actor.signed_in and (caucus.id in actor.seats or caucus.id in actor.pending_seats)


def check_leave(actor: Actor, caucus: Caucus) -> None:
    if not can_leave(actor, caucus):
        deny(actor, can_know(actor, caucus))


# A caucus's conveners admit, decline, invite, remove and appoint; nobody else does.
def can_govern(actor: Actor, caucus: Caucus) -> bool:
    return actor.seat(caucus.id) == "convener" and caucus.archived_at is None


def check_govern(actor: Actor, caucus: Caucus) -> None:
    if not can_govern(actor, caucus):
        deny(actor, can_know(actor, caucus))


# A convener appoints an active member who is not yet a convener.
def can_appoint(actor: Actor, seat: CaucusMembership) -> bool:
    return (
        actor.seat(seat.caucus_id) == "convener"
        and seat.status == "active"
        and seat.role != "convener"
        and seat.member_id != actor.member_id
    )


# A convener removes anyone else from the caucus (leaving is how one removes oneself).
def can_remove_seat(actor: Actor, seat: CaucusMembership) -> bool:
    return actor.seat(seat.caucus_id) == "convener" and seat.member_id != actor.member_id


# A convener steps down while another active convener remains (a caucus keeps at least one).
def can_step_down(actor: Actor, caucus: Caucus, seats: Iterable[CaucusMembership]) -> bool:
    if actor.seat(caucus.id) != "convener":
        return False
    return sum(1 for s in seats if is_convener_seat(s) and s.caucus_id == caucus.id) > 1


# Site admins may archive a listed caucus (its metadata only); the act is logged where its
# members read it. An unlisted caucus is beyond any site role, even an admin's own.
def can_archive(actor: Actor, caucus: Caucus) -> bool:
    return is_admin(actor) and bool(caucus.listed) and can_know(actor, caucus)


def check_archive(actor: Actor, caucus: Caucus) -> None:
    if not can_archive(actor, caucus):
        deny(actor, can_know(actor, caucus))


# Any active member may found a caucus.
def can_found(actor: Actor, _target: Any = None) -> bool:
    return actor.is_member


def check_found(actor: Actor) -> None:
    if not can_found(actor):
        deny(actor, True)


# A caucus keeps at least one active convener (the service counts them).
def is_convener_seat(seat: Any) -> bool:
    return seat.status == "active" and seat.role == "convener"
