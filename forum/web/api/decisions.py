"""Decisions: propose, read, vote, close, move the close, state the outcome, and the register."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import Invalid
from forum.models import Decision
from forum.schemas.decisions import (
    CloseDecision,
    DecisionOut,
    DecisionPath,
    DecisionRules,
    Decisions,
    MoveClose,
    NewDecision,
    OutcomeStatement,
    RegisterQuery,
    Vote,
    Voted,
)
from forum.schemas.threads import ThreadPath
from forum.services import access as fetch
from forum.services import decision_pages, decisions
from forum.services.decision_pages import DecisionView
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok

ABSTENTIONS = {
    "motion": "Abstentions count toward the quorum, not toward the majority. Under a simple "
    "majority or two thirds a block counts as a vote against; under consensus one block "
    "stops the motion.",
    "poll": "Every ballot counts toward the quorum; a ballot may leave options unchosen.",
    "time": "Every ballot counts toward the quorum; choose every time that suits you.",
    "ranked": "Every ballot counts toward the quorum; a ballot whose ranked options are all "
    "out of the count is exhausted and counts no further.",
}


def decision_json(v: DecisionView) -> dict[str, Any]:
    d = v.decision
    result = None
    if v.results_visible and v.count is not None:
        result = v.count.as_json()
    return {
        "id": d.id,
        "thread_id": d.thread_id,
        "kind": d.kind,
        "title": d.title,
        "body": d.body,
        "options": list(d.options),
        "multiple": d.multiple,
        "seats": d.seats,
        "secret": d.secret,
        "results_shown": d.results_shown,
        "quorum": d.quorum,
        "quorum_needed": v.quorum_needed,
        "threshold": d.threshold,
        "abstentions": ABSTENTIONS.get(d.kind, ""),
        "status": d.status,
        "proposer": serialise.member_ref(d.proposer),
        "closes_at": serialise.iso(d.closes_at),
        "opened_at": serialise.iso(d.opened_at),
        "closed_at": serialise.iso(d.closed_at),
        "electorate": d.electorate,
        "ballots_cast": d.ballots_cast,
        "in_electorate": v.in_electorate,
        "has_voted": v.has_voted,
        "can_vote": v.can_vote,
        "outcome": d.outcome if d.status == "closed" else None,
        "result": result,
        "open_ballots": [{"handle": h, "choice": c} for h, c in v.open_ballots],
        "statement": d.statement,
        "url": f"/d/{d.id}",
    }


def _summary(d: Decision) -> dict[str, Any]:
    """A register row: the decision as every reader of it may see it once closed."""
    return {
        "id": d.id,
        "thread_id": d.thread_id,
        "kind": d.kind,
        "title": d.title,
        "body": d.body,
        "options": list(d.options),
        "multiple": d.multiple,
        "seats": d.seats,
        "secret": d.secret,
        "results_shown": d.results_shown,
        "quorum": d.quorum,
        "quorum_needed": 0,
        "threshold": d.threshold,
        "abstentions": ABSTENTIONS.get(d.kind, ""),
        "status": d.status,
        "proposer": serialise.member_ref(d.proposer),
        "closes_at": serialise.iso(d.closes_at),
        "opened_at": serialise.iso(d.opened_at),
        "closed_at": serialise.iso(d.closed_at),
        "electorate": d.electorate,
        "ballots_cast": d.ballots_cast,
        "in_electorate": False,
        "has_voted": False,
        "can_vote": False,
        "outcome": d.outcome,
        "result": d.result,
        "open_ballots": [],
        "statement": d.statement,
        "url": f"/d/{d.id}",
    }


async def _view_json(request: Request, decision_id: int) -> dict[str, Any]:
    return decision_json(await decision_pages.view(ctx_of(request), decision_id))


@access("policy")
async def thread_decisions(request: Request, params: ThreadPath) -> Response:
    ctx = ctx_of(request)
    thread = await fetch.thread_for(ctx, params.thread_id)
    found = await decisions.for_thread(ctx, thread)
    return ok({"decisions": [await _view_json(request, d.id) for d in found], "more": False})


@access("policy")
async def propose(request: Request, params: ThreadPath, body: NewDecision) -> Response:
    ctx = ctx_of(request)
    await fetch.thread_for(ctx, params.thread_id)  # a hidden thread is missing, whatever the body
    made = await decisions.propose(ctx, params.thread_id, body.rules(), open_now=body.open)
    return ok(await _view_json(request, made.id), status=201)


@access("policy")
async def get_decision(request: Request, params: DecisionPath) -> Response:
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def edit_rules(request: Request, params: DecisionPath, body: DecisionRules) -> Response:
    ctx = ctx_of(request)
    await decisions.decision_for(ctx, params.decision_id)  # hidden is missing, whatever the body
    await decisions.update_rules(ctx, params.decision_id, body.rules())
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def open_voting(request: Request, params: DecisionPath) -> Response:
    await decisions.open_voting(ctx_of(request), params.decision_id)
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def vote(request: Request, params: DecisionPath, body: Vote) -> Response:
    ctx = ctx_of(request)
    voted = await decisions.vote(ctx, params.decision_id, body.ballot(), body.receipt)
    view = await decision_pages.view_of(ctx, voted.decision, True, True)
    return ok(
        {"decision": decision_json(view), "receipt": voted.receipt, "changed": voted.changed},
        status=200 if voted.changed else 201,
    )


@access("policy")
async def close(request: Request, params: DecisionPath, body: CloseDecision) -> Response:
    await decisions.close(ctx_of(request), params.decision_id, body.reason)
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def move_close(request: Request, params: DecisionPath, body: MoveClose) -> Response:
    await decisions.decision_for(ctx_of(request), params.decision_id)
    if body.closes_at is None:
        raise Invalid(fields={"closes_at": "Say when voting should close."})
    await decisions.extend(ctx_of(request), params.decision_id, body.closes_at, body.reason)
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def write_statement(
    request: Request, params: DecisionPath, body: OutcomeStatement
) -> Response:
    await decisions.write_statement(ctx_of(request), params.decision_id, body.statement)
    return ok(await _view_json(request, params.decision_id))


@access("policy")
async def register(request: Request, query: RegisterQuery) -> Response:
    _, rows, more = await decision_pages.register(
        ctx_of(request), query.caucus, query.q, query.page
    )
    return ok({"decisions": [_summary(d) for d in rows], "more": more})


_WHO = [400, 401, 403, 404, 409]

ENDPOINTS = [
    Endpoint(
        "GET",
        "/threads/{thread_id}/decisions",
        thread_decisions,
        "The decisions of a thread",
        tag="decisions",
        params=ThreadPath,
        response=Decisions,
        errors=[404],
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/decisions",
        propose,
        "Propose a decision in a thread",
        tag="decisions",
        description="A motion, poll, ranked choice or time poll. Opening voting (the default) "
        "freezes the electorate: the active members who may read the thread now. The rules "
        "(options, quorum, threshold, secrecy, when results show) cannot change afterwards.",
        params=ThreadPath,
        body=NewDecision,
        response=DecisionOut,
        status=201,
        errors=[400, 401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/decisions/{decision_id}",
        get_decision,
        "A decision, with its tally when the caller may see it",
        tag="decisions",
        params=DecisionPath,
        response=DecisionOut,
        errors=[404],
    ),
    Endpoint(
        "PATCH",
        "/decisions/{decision_id}",
        edit_rules,
        "Change a draft decision's rules (409 once voting has opened)",
        tag="decisions",
        params=DecisionPath,
        body=DecisionRules,
        response=DecisionOut,
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/decisions/{decision_id}/open",
        open_voting,
        "Open voting on a draft, freezing the electorate",
        tag="decisions",
        params=DecisionPath,
        response=DecisionOut,
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/decisions/{decision_id}/votes",
        vote,
        "Vote, or change a vote",
        tag="decisions",
        description="201 for a new ballot, 200 for a changed one. A secret ballot's answer "
        "carries a receipt (shown once): give it as `receipt` to change the vote. Members who "
        "were not in the electorate when voting opened get 403.",
        params=DecisionPath,
        body=Vote,
        response=Voted,
        status=201,
        also={200: Voted},
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/decisions/{decision_id}/close",
        close,
        "Close voting early (proposer or moderator; the reason goes to the moderation log)",
        tag="decisions",
        params=DecisionPath,
        body=CloseDecision,
        response=DecisionOut,
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/decisions/{decision_id}/close-at",
        move_close,
        "Move the close, e.g. extend voting (with a reason in the moderation log)",
        tag="decisions",
        params=DecisionPath,
        body=MoveClose,
        response=DecisionOut,
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "PUT",
        "/decisions/{decision_id}/statement",
        write_statement,
        "Write the outcome statement of a closed decision",
        tag="decisions",
        params=DecisionPath,
        body=OutcomeStatement,
        response=DecisionOut,
        errors=_WHO,
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/decisions",
        register,
        "The decisions register: closed decisions, newest first",
        tag="decisions",
        description="Without `caucus`: the organisation's open channels. With `caucus`: that "
        "caucus's decisions, for its members only (404 to anyone else).",
        query=RegisterQuery,
        response=Decisions,
        errors=[400, 404],
    ),
]
