"""Confidential reports: who may file, who handles a case, who may know it exists at all.

A case is known to its reporter and to its handlers, nobody else: not admins, not
facilitators, not the members it names, not a committee member who is recused from it. To
everyone else it does not exist (NotFound, the same as a missing id). The rules look only at
the Actor, the actor's committee seat (loaded by the service, since seats are not site roles)
and a `CaseFacts` the service loaded: the policy never queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from forum.errors import Forbidden, Invalid, NotFound
from forum.policy.actors import Actor, is_admin

OPEN_STATES = frozenset(
    {"received", "acknowledged", "respondent_informed", "response_received", "recommendation"}
)
# Outcomes that act on someone: only after the reporter has said yes.
ENACTED = frozenset({"mediation", "warning", "suspension_recommended", "other"})


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know of a case."""

    report_id: int
    reporter_id: int
    state: str
    level: str
    body: str
    consent: str
    respondent_ids: frozenset[int]
    recused_ids: frozenset[int]


# Every member who can sign in may report, pending and suspended ones included: a suspension
# must not silence a complaint.
def can_file(actor: Actor) -> bool:
    return actor.signed_in


def check_file(actor: Actor) -> None:
    if not can_file(actor):
        raise NotFound()


# The roster (who to turn to) and the public counts are read by everyone who can sign in.
def can_see_roster(actor: Actor) -> bool:
    return actor.signed_in


# Admins seat and unseat committee members (the CLI, the operator, may too).
def can_manage_committee(actor: Actor) -> bool:
    return is_admin(actor)


# Separation of powers: an admin may not hold a committee seat, and a committee member may not
# be made an admin.
def check_may_take_seat(member_is_admin: bool) -> None:
    if member_is_admin:
        raise Invalid(
            fields={
                "handle": "An admin cannot sit on the committee: the committee must be "
                "independent of the site's leadership. Remove the admin role first."
            }
        )


def check_role_change(role: str, holds_seat: bool) -> None:
    if role == "admin" and holds_seat:
        raise Forbidden(
            "A committee member cannot be an admin: the committee must be independent of the "
            "site's leadership. Remove their committee seat first."
        )


def is_reporter(actor: Actor, case: CaseFacts) -> bool:
    return actor.signed_in and actor.member_id == case.reporter_id


def is_recused(actor: Actor, case: CaseFacts) -> bool:
    """Named in the report, or declared a conflict."""
    return actor.member_id in case.respondent_ids or actor.member_id in case.recused_ids


# A case is handled by the active members of its body (committee or alternate) who are not
# recused from it, once it is released (an escrow report that is held is nobody's but the
# reporter's).
def is_handler(actor: Actor, seat: str | None, case: CaseFacts) -> bool:
    return (
        actor.is_member
        and seat is not None
        and seat == case.body
        and case.state != "held"
        and not is_recused(actor, case)
        and actor.member_id != case.reporter_id
    )


def can_read_case(actor: Actor, seat: str | None, case: CaseFacts) -> bool:
    return is_reporter(actor, case) or is_handler(actor, seat, case)


def check_read_case(actor: Actor, seat: str | None, case: CaseFacts) -> None:
    if not can_read_case(actor, seat, case):
        raise NotFound()


def is_open(case: CaseFacts) -> bool:
    return case.state in OPEN_STATES or case.state == "held"


def check_handle(actor: Actor, seat: str | None, case: CaseFacts) -> None:
    """A handler's act: NotFound for anyone who may not read the case, Forbidden for the
    reporter, Conflict-like refusals are the service's."""
    check_read_case(actor, seat, case)
    if not is_handler(actor, seat, case):
        raise Forbidden("Only the committee members handling this case can do that.")


def check_reporter(actor: Actor, seat: str | None, case: CaseFacts) -> None:
    check_read_case(actor, seat, case)
    if not is_reporter(actor, case):
        raise Forbidden("Only the member who made this report can do that.")


# The committee cannot inform the respondent, or enact an outcome, before the reporter has
# said yes on the case page.
def consent_given(case: CaseFacts) -> bool:
    return case.consent == "given"


def needs_consent(outcome: str) -> bool:
    return outcome in ENACTED


def handled_cases(seat: str | None, hidden_ids: list[int]) -> Q | None:
    """The filter for the cases a seated member handles (None: they handle none). `hidden_ids`
    are the cases that name them or that they are recused from."""
    if seat is None:
        return None
    q = Q(body=seat) & ~Q(state="held")
    return q & ~Q(id__in=hidden_ids) if hidden_ids else q


def seat_for(actor: Actor, seat: str | None) -> str | None:
    """The seat that counts: only an active member's."""
    return seat if actor.is_member else None


@dataclass(frozen=True)
class LiveCase:
    """A case as the live hub follows it: its facts, the members seated on its body, and the
    topic's counter."""

    facts: CaseFacts
    body_seats: frozenset[int]
    event_seq: int


# The live topic `case:ID` is followed by the case's reporter and handlers only, asked again
# at every delivery.
def can_follow_case(actor: Actor, target: LiveCase) -> bool:
    seat = target.facts.body if actor.member_id in target.body_seats else None
    return can_read_case(actor, seat, target.facts)


# A member whose account cannot sign in (pending approval, or suspended) proves who they are
# with their password and may still file: a suspension must not silence a complaint.
def may_file_without_session(status: str) -> bool:
    return status in ("pending", "suspended")
