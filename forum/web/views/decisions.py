"""Decision pages: propose, the decision (vote, close, outcome), the register, the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.schemas.base import Input
from forum.schemas.decisions import (
    CloseDecision,
    MoveClose,
    NewDecision,
    OutcomeStatement,
    RegisterQuery,
    SetProposers,
    Vote,
)
from forum.schemas.parse import from_form, from_query, invalid
from forum.services import access, decision_pages, decisions
from forum.services.context import Ctx
from forum.services.decision_pages import DecisionView
from forum.services.decisions import THRESHOLD_LABELS
from forum.web.access import access as rule
from forum.web.api.decisions import ABSTENTIONS
from forum.web.forms import Form, read_form
from forum.web.templating import render
from forum.web.views.threads import _path_id


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _validated(model: type[Any], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(model, exc) from None


def _moment(text: str) -> str | None:
    """A `datetime-local` field's value (no offset) is read as UTC, as the form says."""
    text = text.strip()
    return text or None


def _rules_from(form: Form) -> NewDecision:
    options = [line for line in form["options"].split("\n") if line.strip()]
    data: dict[str, Any] = {
        "kind": form["kind"],
        "title": form["title"],
        "body": form["body"],
        "options": options,
        "multiple": bool(form["multiple"]),
        "secret": bool(form["secret"]),
        "results_shown": form["results_shown"] or "closed",
        "threshold": form["threshold"] or "simple",
        "open": form["open"] != "draft",
    }
    for name in ("seats", "quorum"):
        if form[name].strip():
            data[name] = form[name].strip()
    closes = _moment(form["closes_at"])
    if closes:
        data["closes_at"] = closes
    model: NewDecision = _validated(NewDecision, data)
    return model


def _ballot_from(view: DecisionView, form: Form) -> Vote:
    data: dict[str, Any] = {
        "position": form["position"],
        "reason": form["reason"],
        "receipt": form["receipt"],
    }
    count = len(view.decision.options)
    if view.decision.kind == "ranked":
        ranks: list[tuple[int, int]] = []
        for i in range(count):
            value = form[f"rank-{i}"].strip()
            if value:
                if not value.isdigit() or not 1 <= int(value) <= count:
                    raise Invalid(fields={"ranking": "Ranks are numbers from 1 to the options."})
                ranks.append((int(value), i))
        if len({r for r, _ in ranks}) < len(ranks):
            raise Invalid(fields={"ranking": "Give each rank to one option only."})
        data["ranking"] = [i for _, i in sorted(ranks)]
    else:
        chosen = [k.removeprefix("option-") for k in form if k.startswith("option-")]
        if form["option"]:
            chosen.append(form["option"])
        if any(not c.isdigit() or len(c) > 3 for c in chosen):
            raise Invalid(fields={"options": "That option is not on this ballot."})
        data["options"] = [int(c) for c in chosen]
    model: Vote = _validated(Vote, data)
    return model


def _page(
    request: Request,
    view: DecisionView,
    *,
    errors: dict[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    receipt: str | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    d = view.decision
    return render(
        request,
        "decision.html",
        {
            "v": view,
            "d": d,
            "thread": d.thread,
            "kinds": decisions.KIND_LABELS,
            "thresholds": THRESHOLD_LABELS,
            "abstentions": ABSTENTIONS.get(d.kind, ""),
            "errors": errors or {},
            "form": form or {},
            "receipt": receipt,
            "done": done or request.query_params.get("done"),
            "topics": [(f"thread:{d.thread_id}", d.thread.event_seq)],
        },
        status=status,
    )


def _errors(exc: Invalid | Conflict | Forbidden) -> dict[str, str]:
    if isinstance(exc, Invalid) and exc.fields:
        return dict(exc.fields)
    return {"form": exc.message}


# ---- proposing -----------------------------------------------------------------------------------


def _form_page(
    request: Request,
    thread: Any,
    form: Mapping[str, str],
    errors: dict[str, str],
    status: int = 200,
    decision: Any = None,
) -> Response:
    return render(
        request,
        "decision_form.html",
        {
            "thread": thread,
            "form": form,
            "errors": errors,
            "decision": decision,
            "thresholds": THRESHOLD_LABELS,
        },
        status=status,
    )


@rule("policy")
async def new_page(request: Request) -> Response:
    ctx = _ctx(request)
    thread = await access.thread_for(ctx, _path_id(request, "thread_id"))
    policy.decisions.check_propose(ctx.actor, thread)
    return _form_page(request, thread, {"kind": "motion", "threshold": "simple"}, {})


@rule("policy")
async def create(request: Request) -> Response:
    ctx = _ctx(request)
    thread_id = _path_id(request, "thread_id")
    form = await read_form(request)
    try:
        data = _rules_from(form)
        made = await decisions.propose(ctx, thread_id, data.rules(), open_now=data.open)
    except Invalid as exc:
        thread = await access.thread_for(ctx, thread_id)
        return _form_page(request, thread, form, _errors(exc), status=400)
    return RedirectResponse(f"/d/{made.id}", status_code=303)


@rule("policy")
async def edit_page(request: Request) -> Response:
    ctx = _ctx(request)
    view = await decision_pages.view(ctx, _path_id(request, "decision_id"))
    d = view.decision
    policy.decisions.check_manage(ctx.actor, d)
    form = {
        "kind": d.kind,
        "title": d.title,
        "body": d.body,
        "options": "\n".join(d.options) if d.kind != "motion" else "",
        "multiple": "on" if d.multiple else "",
        "secret": "on" if d.secret else "",
        "results_shown": d.results_shown,
        "threshold": d.threshold,
        "seats": str(d.seats),
        "quorum": str(d.quorum),
        "closes_at": d.closes_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
    }
    errors = {} if d.status == "draft" else {"form": "The rules are fixed once voting opens."}
    return _form_page(request, d.thread, form, errors, decision=d)


@rule("policy")
async def edit(request: Request) -> Response:
    ctx = _ctx(request)
    decision_id = _path_id(request, "decision_id")
    form = await read_form(request)
    try:
        data = _rules_from(form)
        await decisions.update_rules(ctx, decision_id, data.rules())
        if data.open:
            await decisions.open_voting(ctx, decision_id)
    except (Invalid, Conflict) as exc:
        d = await decisions.decision_for(ctx, decision_id)
        status = 409 if isinstance(exc, Conflict) else 400
        return _form_page(request, d.thread, form, _errors(exc), status=status, decision=d)
    return RedirectResponse(f"/d/{decision_id}", status_code=303)


# ---- the decision --------------------------------------------------------------------------------


@rule("policy")
async def page(request: Request) -> Response:
    view = await decision_pages.view(_ctx(request), _path_id(request, "decision_id"))
    return _page(request, view)


@rule("policy")
async def vote(request: Request) -> Response:
    ctx = _ctx(request)
    decision_id = _path_id(request, "decision_id")
    form = await read_form(request)
    view = await decision_pages.view(ctx, decision_id)
    try:
        ballot = _ballot_from(view, form)
        voted = await decisions.vote(ctx, decision_id, ballot.ballot(), ballot.receipt)
    except (Invalid, Conflict, Forbidden) as exc:
        view = await decision_pages.view(ctx, decision_id)
        return _page(request, view, errors=_errors(exc), form=form, status=exc.status)
    if voted.receipt:
        # Shown once, on this answer: the receipt is never stored and never in an address.
        view = await decision_pages.view(ctx, decision_id)
        return _page(request, view, receipt=voted.receipt, done="voted")
    return RedirectResponse(
        f"/d/{decision_id}?done={'changed' if voted.changed else 'voted'}", status_code=303
    )


async def _managed(
    request: Request, model: type[Input], act: Any, done: str, target: str = ""
) -> Response:
    ctx = _ctx(request)
    decision_id = _path_id(request, "decision_id")
    form = await read_form(request)
    try:
        data = from_form(model, form)
        await act(ctx, decision_id, data)
    except (Invalid, Conflict) as exc:
        view = await decision_pages.view(ctx, decision_id)
        return _page(request, view, errors=_errors(exc), form=form, status=exc.status)
    return RedirectResponse(f"/d/{decision_id}?done={done}{target}", status_code=303)


@rule("policy")
async def close(request: Request) -> Response:
    async def act(ctx: Ctx, decision_id: int, data: CloseDecision) -> None:
        await decisions.close(ctx, decision_id, data.reason)

    return await _managed(request, CloseDecision, act, "closed", "#outcome")


@rule("policy")
async def move_close(request: Request) -> Response:
    async def act(ctx: Ctx, decision_id: int, data: MoveClose) -> None:
        if data.closes_at is None:
            raise Invalid(fields={"closes_at": "Say when voting should close."})
        await decisions.extend(ctx, decision_id, data.closes_at, data.reason)

    return await _managed(request, MoveClose, act, "moved")


@rule("policy")
async def statement(request: Request) -> Response:
    async def act(ctx: Ctx, decision_id: int, data: OutcomeStatement) -> None:
        await decisions.write_statement(ctx, decision_id, data.statement)

    return await _managed(request, OutcomeStatement, act, "stated", "#outcome")


@rule("policy")
async def open_voting(request: Request) -> Response:
    ctx = _ctx(request)
    decision_id = _path_id(request, "decision_id")
    await read_form(request)
    try:
        await decisions.open_voting(ctx, decision_id)
    except (Invalid, Conflict) as exc:
        view = await decision_pages.view(ctx, decision_id)
        return _page(request, view, errors=_errors(exc), status=exc.status)
    return RedirectResponse(f"/d/{decision_id}?done=opened", status_code=303)


@rule("policy")
async def export(request: Request) -> Response:
    """The result for the minutes: one CSV, once the decision has closed."""
    view = await decision_pages.view(_ctx(request), _path_id(request, "decision_id"))
    d = view.decision
    if d.status != "closed" or view.count is None:
        raise NotFound()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["decision", d.title])
    w.writerow(["kind", decisions.KIND_LABELS.get(d.kind, d.kind)])
    w.writerow(["thread", f"/t/{d.thread_id}"])
    w.writerow(["ballot", "secret" if d.secret else "open"])
    w.writerow(["opened", d.opened_at.isoformat() if d.opened_at else ""])
    w.writerow(["closed", d.closed_at.isoformat() if d.closed_at else ""])
    w.writerow(["electorate", d.electorate])
    w.writerow(["ballots cast", d.ballots_cast])
    w.writerow(["quorum", f"{d.quorum}% ({view.quorum_needed} ballots)"])
    w.writerow(["threshold", THRESHOLD_LABELS.get(d.threshold, d.threshold)])
    w.writerow(["outcome", (d.outcome or "").replace("_", " ")])
    if view.count.winners:
        w.writerow(["chosen", "; ".join(view.option(i) for i in view.count.winners)])
    w.writerow([])
    if d.kind == "motion":
        w.writerow(["position", "votes"])
        for position, number in view.count.counts.items():
            w.writerow([position, number])
    elif d.kind != "ranked":
        w.writerow(["option", "votes"])
        for index, number in view.count.counts.items():
            w.writerow([view.option(index), number])
    else:
        w.writerow(["round", *d.options, "exhausted", "elected", "excluded"])
        for number, stage in enumerate(view.count.rounds, 1):
            votes = stage.get("votes", {})
            w.writerow(
                [
                    number,
                    *(votes.get(str(i), "") for i in range(len(d.options))),
                    stage.get("exhausted", 0),
                    "; ".join(view.option(i) for i in stage.get("elected", [])),
                    "; ".join(view.option(i) for i in stage.get("excluded", [])),
                ]
            )
    w.writerow([])
    w.writerow(["outcome statement", d.statement])
    name = f"decision-{d.id}-{datetime.now(UTC):%Y%m%d}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- the register --------------------------------------------------------------------------------


@rule("member")
async def register(request: Request) -> Response:
    query = from_query(RegisterQuery, request.query_params)
    _, rows, more = await decision_pages.register(_ctx(request), None, query.q, query.page)
    return render(
        request,
        "decisions.html",
        {"caucus": None, "rows": rows, "more": more, "q": query.q, "page": query.page},
    )


@rule("policy")
async def caucus_register(request: Request) -> Response:
    query = from_query(RegisterQuery, request.query_params)
    caucus, rows, more = await decision_pages.register(
        _ctx(request), request.path_params["slug"], query.q, query.page
    )
    return render(
        request,
        "decisions.html",
        {"caucus": caucus, "rows": rows, "more": more, "q": query.q, "page": query.page},
    )


@rule("policy")
async def set_proposers(request: Request) -> Response:
    ctx = _ctx(request)
    slug = request.path_params["slug"]
    form = await read_form(request)
    data = from_form(SetProposers, form)
    await decisions.set_proposers(ctx, slug, data.proposers, data.reason)
    return RedirectResponse(f"/c/{slug}?done=proposers", status_code=303)
