"""Confidential reports: file one, list one's own (and, for handlers, one's cases), read a
case and act on it. A case answers 404 to everyone but its reporter and handlers, exactly as a
missing id does."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.models import Report
from forum.schemas.reports import Case, CaseAct, CaseLists, CasePath, FileReport, Roster
from forum.services import committee, reports
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, no_content, ok, require_signed_in


def _summary(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "level": report.level,
        "state": report.state,
        "created_at": serialise.iso(report.created_at),
    }


def _case(case: reports.CaseView) -> dict[str, Any]:
    r = case.report
    return {
        **_summary(r),
        "body": r.body,
        "consent": r.consent,
        "outcome": r.outcome,
        "respondents": [serialise.member_ref(m) for m in case.respondents],
        "ack_due": serialise.iso(case.ack_due),
        "decide_due": serialise.iso(case.decide_due),
        "overdue": case.overdue,
        "is_reporter": case.is_reporter,
        "acts": case.verbs,
        "seq": r.event_seq,
        "entries": [
            {
                "kind": e.entry.kind,
                "label": e.label,
                "who": e.who,
                "text": e.text,
                "erased": e.erased,
                "at": e.entry.at,
            }
            for e in case.entries
        ],
    }


@access("signed-in")
async def file_report(request: Request, body: FileReport) -> Response:
    ctx = ctx_of(request)
    report = await reports.file(ctx, body.level, list(body.respondents), body.body, body.post_id)
    return ok(_case(await reports.view(ctx, report.id)), status=201)


@access("signed-in")
async def list_reports(request: Request) -> Response:
    ctx = ctx_of(request)
    return ok(
        {
            "mine": [_summary(r) for r in await reports.mine(ctx)],
            "handled": [_summary(r) for r in await reports.handled(ctx)],
        }
    )


@access("policy")
async def get_case(request: Request, params: CasePath) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    return ok(_case(await reports.view(ctx, params.report_id)))


@access("policy")
async def act_on_case(request: Request, params: CasePath, body: CaseAct) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    await reports.act(ctx, params.report_id, body.act, body.text, body.outcome or "")
    if body.act == "declare_conflict":
        return no_content()  # stepped aside: the case is no longer theirs to see
    return ok(_case(await reports.view(ctx, params.report_id)))


@access("signed-in")
async def get_roster(request: Request) -> Response:
    roster = await committee.roster(ctx_of(request))
    return ok(
        {
            "committee": [serialise.member_ref(m) for m in roster.committee],
            "alternate": [serialise.member_ref(m) for m in roster.alternate],
        }
    )


CASE_ERRORS = [400, 401, 404, 409]

ENDPOINTS = [
    Endpoint(
        "POST",
        "/reports",
        file_report,
        "Make a confidential report to the committee",
        tag="reports",
        description="Open to every member who can sign in. Only the reporter and the committee "
        "members handling it can ever know it exists. A report naming a committee member goes "
        "to the alternate body. 503 when the operator has not configured the reports key.",
        body=FileReport,
        response=Case,
        status=201,
        errors=CASE_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/reports",
        list_reports,
        "Your reports, and the cases you handle as a committee member",
        tag="reports",
        response=CaseLists,
        errors=[401],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/reports/{report_id}",
        get_case,
        "A case: its state, deadlines, consent and timeline",
        tag="reports",
        description="404 to anyone but its reporter and its handlers (never to a member it "
        "names, a recused committee member, an admin or a facilitator).",
        params=CasePath,
        response=Case,
        errors=[401, 404],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/reports/{report_id}/acts",
        act_on_case,
        "Act on a case (reporter or handler)",
        tag="reports",
        description="Handlers: acknowledge, ask_consent, inform_respondent (after the reporter's "
        "yes), record_response, recommend, close (outcome and reason), declare_conflict, "
        "message. The reporter: consent_yes, consent_no, escalate, withdraw, erase, message.",
        params=CasePath,
        body=CaseAct,
        response=Case,
        also={204: None},  # type: ignore[dict-item]
        errors=[*CASE_ERRORS, 403],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/committee",
        get_roster,
        "Who sits on the committee and the alternate body",
        tag="reports",
        response=Roster,
        errors=[401],
        signed_in=True,
    ),
]
