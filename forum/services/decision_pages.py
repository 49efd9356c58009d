"""What pages and the API show of decisions: a decision as one member sees it, a thread's
decisions, and the register. Reads only; every rule is the policy's."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from forum import limits, policy
from forum.models import Ballot, Decision, Thread
from forum.services import access, tally
from forum.services.context import Ctx
from forum.services.decisions import count, decision_for, voter_of

# The thread page's decisions, per thread, while the thread's event sequence stays where it was:
# every change to a decision is an event on its thread, so a moved sequence means a fresh read.
_IN_THREAD: dict[int, tuple[int, list[Decision]]] = {}


async def in_thread(thread: Thread) -> list[Decision]:
    """A thread's decisions for its page (the caller has checked that the reader reads it)."""
    cached = _IN_THREAD.get(thread.id)
    if cached is not None and cached[0] == thread.event_seq:
        return cached[1]
    found = list(await Decision.filter(thread_id=thread.id).order_by("created_at", "id"))
    if len(_IN_THREAD) > 10_000:
        _IN_THREAD.clear()
    _IN_THREAD[thread.id] = (thread.event_seq, found)
    return found


# ---- what a page shows -----------------------------------------------------------------------


@dataclass
class DecisionView:
    decision: Decision
    in_electorate: bool
    has_voted: bool
    can_vote: bool
    can_manage: bool
    can_write_statement: bool
    results_visible: bool
    quorum_needed: int
    count: tally.Count | None
    # Open ballots whose results show: who chose what.
    open_ballots: list[tuple[str, dict[str, Any]]]
    reasons: list[str]

    @property
    def options(self) -> list[str]:
        return list(self.decision.options)

    def option(self, index: int | str) -> str:
        i = int(index)
        return self.decision.options[i] if 0 <= i < len(self.decision.options) else "?"


async def view(ctx: Ctx, decision_id: int) -> DecisionView:
    decision = await decision_for(ctx, decision_id)
    voter = await voter_of(decision, ctx.actor.member_id)
    return await view_of(ctx, decision, voter is not None, voter is not None and voter.voted)


async def view_of(
    ctx: Ctx, decision: Decision, in_electorate: bool, has_voted: bool
) -> DecisionView:
    """The page's view of a decision already fetched (and authorized) for this actor."""
    results = policy.decisions.can_see_results(ctx.actor, decision, has_voted)
    counted: tally.Count | None = None
    open_ballots: list[tuple[str, dict[str, Any]]] = []
    reasons: list[str] = []
    if results:
        if decision.status == "closed" and decision.result is not None:
            stored = decision.result
            counted = tally.Count(
                decision.outcome or "not_carried",
                counts=stored.get("counts", {}),
                winners=stored.get("winners", []),
                rounds=stored.get("rounds", []),
                quota=stored.get("quota"),
                note=stored.get("note", ""),
            )
        else:
            choices = await Ballot.filter(decision_id=decision.id).values_list("choice", flat=True)
            counted = count(decision, list(choices))  # type: ignore[arg-type]
            counted.outcome = ""  # nothing is decided while voting is open
        if decision.secret:
            stored_choices: list[Any] = list(
                await Ballot.filter(decision_id=decision.id).values_list("choice", flat=True)
            )
            reasons = [str(c["reason"]) for c in stored_choices if c.get("reason")]
            random.SystemRandom().shuffle(reasons)
        else:
            rows = await Ballot.filter(decision_id=decision.id).select_related("member")
            open_ballots = sorted(
                ((b.member.handle if b.member else "former member"), b.choice) for b in rows
            )
    return DecisionView(
        decision=decision,
        in_electorate=in_electorate,
        has_voted=has_voted,
        can_vote=policy.decisions.can_vote(ctx.actor, decision, in_electorate),
        can_manage=policy.decisions.can_manage(ctx.actor, decision),
        can_write_statement=policy.decisions.can_write_statement(ctx.actor, decision),
        results_visible=results,
        quorum_needed=tally.quorum_needed(decision.electorate, decision.quorum),
        count=counted,
        open_ballots=open_ballots,
        reasons=reasons,
    )


# ---- the register ----------------------------------------------------------------------------

REGISTER_PAGE = 50


async def register(
    ctx: Ctx, caucus_slug: str | None = None, query: str = "", page: int = 1
) -> tuple[Any, list[Decision], bool]:
    """Closed decisions, newest first: the organisation's (open channels), or one caucus's for
    its members. Returns (the caucus or None, the decisions, whether there are more)."""
    caucus = None
    if caucus_slug is not None:
        caucus = await access.caucus_by_slug(ctx, caucus_slug)
        policy.require(ctx.actor, policy.Action.READ_MEMBERS, caucus)
    scope = policy.decisions.filter_register(ctx.actor, caucus.id if caucus else None)
    found = Decision.filter(scope, status="closed")
    words = " ".join(query.split())[: limits.MAX_QUERY]
    for word in words.split()[:8]:
        found = found.filter(
            Q(title__icontains=word) | Q(statement__icontains=word) | Q(body__icontains=word)
        )
    rows = (
        await found.order_by("-closed_at", "-id")
        .offset((page - 1) * REGISTER_PAGE)
        .limit(REGISTER_PAGE + 1)
        .select_related("thread__channel", "proposer")
    )
    return caucus, list(rows[:REGISTER_PAGE]), len(rows) > REGISTER_PAGE
