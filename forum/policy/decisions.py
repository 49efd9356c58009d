"""Decisions: who proposes them, who votes, who closes them, who sees their results, and which
register lists them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.policy.actors import Actor, deny
from forum.policy.channels import can_moderate_channel, can_read_channel
from forum.policy.threads import can_read_thread, can_reply

if TYPE_CHECKING:
    from forum.models import Channel, Decision, Thread


# Who a channel lets propose: everyone who may reply, or only its moderators (facilitators in
# an open channel, conveners in a caucus). Its moderators choose.
def can_propose(actor: Actor, thread: Thread) -> bool:
    if not can_reply(actor, thread) or thread.locked:
        return False
    if thread.channel.proposers == "moderators":
        return can_moderate_channel(actor, thread.channel)
    return True


def check_propose(actor: Actor, thread: Thread) -> None:
    if not can_propose(actor, thread):
        deny(actor, can_read_thread(actor, thread))


# A channel's moderators set who may propose decisions in it.
def can_set_proposers(actor: Actor, channel: Channel) -> bool:
    return can_moderate_channel(actor, channel) and not channel.archived


def check_set_proposers(actor: Actor, channel: Channel) -> None:
    if not can_set_proposers(actor, channel):
        deny(actor, can_read_channel(actor, channel))


# A decision is read by whoever reads its thread (a caucus decision: its caucus's members only).
def can_read_decision(actor: Actor, decision: Decision) -> bool:
    return can_read_thread(actor, decision.thread)


def check_read_decision(actor: Actor, decision: Decision) -> None:
    if not can_read_decision(actor, decision):
        deny(actor, False)


# The electorate, frozen when voting opens: the active members who may read the thread then
# (a caucus thread: the caucus's active members; an open channel: every active member).
def electorate(channel: Channel) -> Q:
    if channel.caucus_id is not None:
        seated: dict[str, Any] = {
            "status": "active",
            "seats__caucus_id": channel.caucus_id,
            "seats__status": "active",
        }
        return Q(**seated)
    return Q(status="active")


# An active member who reads the thread votes while voting is open, if they were in the
# electorate frozen when it opened. Suspension, leaving the caucus or a later joining all stop
# it, and so does the caucus's archival.
def can_vote(actor: Actor, decision: Decision, in_electorate: bool) -> bool:
    return (
        actor.is_member
        and can_read_decision(actor, decision)
        and decision.status == "open"
        and in_electorate
        and not decision.thread.channel.archived
    )


# The proposer and the thread's moderators manage a decision: edit its rules while it is a
# draft, open it, close it early or extend it (each with a reason in the log).
def can_manage(actor: Actor, decision: Decision) -> bool:
    if not (actor.is_member and can_read_decision(actor, decision)):
        return False
    if decision.proposer_id is not None and decision.proposer_id == actor.member_id:
        return True
    return can_moderate_channel(actor, decision.thread.channel)


def check_manage(actor: Actor, decision: Decision) -> None:
    if not can_manage(actor, decision):
        deny(actor, can_read_decision(actor, decision))


# The proposer writes the outcome statement; when the proposer is gone, the thread's moderators.
def can_write_statement(actor: Actor, decision: Decision) -> bool:
    if not (actor.is_member and can_read_decision(actor, decision)):
        return False
    if decision.proposer_id is not None:
        return decision.proposer_id == actor.member_id
    return can_moderate_channel(actor, decision.thread.channel)


def check_write_statement(actor: Actor, decision: Decision) -> None:
    if not can_write_statement(actor, decision):
        deny(actor, can_read_decision(actor, decision))


# Results (the tally, and who chose what on an open ballot) are seen by the decision's readers
# once it closes; before, only when the proposer chose "after one votes", by those who voted.
def can_see_results(actor: Actor, decision: Decision, has_voted: bool) -> bool:
    if not can_read_decision(actor, decision):
        return False
    if decision.status == "closed":
        return True
    return decision.status == "open" and decision.results_shown == "voted" and has_voted


# Live tallies go to every subscriber of the thread at once, so they carry the tally only when
# every reader may see it: after the close.
def tally_is_public(decision: Decision) -> bool:
    return decision.status == "closed"


# The organisation's register lists closed decisions of open channels; a caucus's register,
# those of that caucus, for its members only.
def filter_register(actor: Actor, caucus_id: int | None) -> Q:
    if caucus_id is None:
        if not actor.is_member:
            # Anonymous visitors see decisions of public channels only.
            return Q(caucus_id__isnull=True, thread__channel__public=True)
        return Q(caucus_id__isnull=True)
    if actor.seat(caucus_id) is None:
        return Q(id__in=[])
    filters: dict[str, Any] = {"caucus_id": caucus_id}
    return Q(**filters)
