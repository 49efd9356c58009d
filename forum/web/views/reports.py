"""Confidential report pages: the roster, filing, the case page and its acts, the public counts,
and the admin's committee page. Every case page answers 404 to whoever may not know the case."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import limits
from forum.errors import DomainError, Invalid, NotFound
from forum.models.reports import OUTCOMES
from forum.services import committee, reports, reports_counts
from forum.services.context import Ctx
from forum.services.reports_crypto import ReportsNotConfigured
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _id(request: Request) -> int:
    value = str(request.path_params.get("report_id", ""))
    if not value.isdigit() or len(value) > 12:
        raise NotFound()
    return int(value)


def _query_id(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 12 else None


@access("signed-in")
async def roster(request: Request) -> Response:
    ctx = _ctx(request)
    return render(request, "committee.html", {"roster": await committee.roster(ctx)})


@access("signed-in")
async def transparency(request: Request) -> Response:
    ctx = _ctx(request)
    return render(request, "transparency.html", {"t": await reports_counts.transparency(ctx)})


@access("signed-in")
async def my_reports(request: Request) -> Response:
    ctx = _ctx(request)
    return render(
        request,
        "reports.html",
        {
            "mine": await reports.mine(ctx),
            "handled": await reports.handled(ctx),
            "states": reports.STATE_LABELS,
            "levels": reports.LEVEL_LABELS,
        },
    )


async def _new_page(
    request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    ctx = _ctx(request)
    await reports.check_can_file(ctx)
    return render(
        request,
        "report_new.html",
        {
            "form": form,
            "errors": errors,
            "levels": reports.LEVEL_LABELS,
            "roster": await committee.roster(ctx),
        },
        status=status,
    )


@access("signed-in")
async def new_page(request: Request) -> Response:
    form = {"level": "formal"}
    post_id = _query_id(request, "post")
    if post_id is not None:
        form["post_id"] = str(post_id)
    about = request.query_params.get("about", "")[: limits.MAX_HANDLE]
    if about:
        form["respondents"] = "@" + about.lstrip("@")
    return await _new_page(request, form, {})


@access("signed-in")
async def create(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    raw_post = form.get("post_id", "")
    post_id = int(raw_post) if raw_post.isdigit() and len(raw_post) <= 12 else None
    try:
        report = await reports.file(
            ctx,
            form.get("level", ""),
            form.get("respondents", ""),
            form.get("body", ""),
            post_id,
        )
    except ReportsNotConfigured:
        raise
    except Invalid as exc:
        return await _new_page(request, dict(form), exc.fields or {"form": exc.message}, status=400)
    return RedirectResponse(f"/reports/{report.id}", status_code=303)


async def _case_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    ctx = _ctx(request)
    case = await reports.view(ctx, _id(request))
    return render(
        request,
        "report_case.html",
        {
            "case": case,
            "errors": errors or {},
            "form": form or {},
            "states": reports.STATE_LABELS,
            "levels": reports.LEVEL_LABELS,
            "outcomes": [(o, reports.OUTCOME_LABELS[o]) for o in OUTCOMES],
            "topics": [(f"case:{case.id}", case.report.event_seq)],
        },
        status=status,
    )


@access("signed-in")
async def case_page(request: Request) -> Response:
    return await _case_page(request)


@access("signed-in")
async def case_act(request: Request) -> Response:
    ctx = _ctx(request)
    report_id = _id(request)
    verb = str(request.path_params["verb"])
    form = await read_form(request)  # the CSRF check comes first, whatever the verb
    reports.refuse_unknown(verb)
    try:
        await reports.act(ctx, report_id, verb, form.get("text", ""), form.get("outcome", ""))
    except Invalid as exc:
        return await _case_page(request, exc.fields or {"form": exc.message}, 400, dict(form))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _case_page(request, {"form": exc.message}, exc.status, dict(form))
    return RedirectResponse(f"/reports/{report_id}#timeline", status_code=303)


# ---- the admin's committee page ---------------------------------------------------------------


async def _admin_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    ctx = _ctx(request)
    if not reports.can_manage_committee(ctx):
        raise NotFound()
    return render(
        request,
        "admin_committee.html",
        {
            "roster": await committee.roster(ctx),
            "errors": errors or {},
            "notice": request.query_params.get("done", ""),
        },
        status=status,
    )


@access("member")
async def admin_page(request: Request) -> Response:
    return await _admin_page(request)


@access("member")
async def admin_action(request: Request) -> Response:
    ctx = _ctx(request)
    if not reports.can_manage_committee(ctx):
        raise NotFound()
    form = await read_form(request)
    try:
        if form.get("action") == "remove":
            member = await committee.remove(
                ctx.services, ctx, form.get("handle", ""), form.get("reason", "")
            )
            done = f"@{member.handle} no longer holds a seat."
        else:
            body = "alternate" if form.get("body") == "alternate" else "committee"
            member = await committee.add(
                ctx.services, ctx, form.get("handle", ""), form.get("reason", ""), body
            )
            done = f"@{member.handle} now sits on the {body}."
    except Invalid as exc:
        return await _admin_page(request, exc.fields or {"form": exc.message}, 400)
    from urllib.parse import quote

    return RedirectResponse(f"/admin/committee?done={quote(done)}", status_code=303)


# ---- members who cannot sign in ----------------------------------------------------------------


async def _locked_page(
    request: Request,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    done: int | None = None,
) -> Response:
    await reports.check_configured(_ctx(request))
    return render(
        request,
        "report_locked.html",
        {"form": form, "errors": errors, "done": done, "levels": reports.LEVEL_LABELS},
        status=status,
    )


@access("anyone")
async def locked_page(request: Request) -> Response:
    return await _locked_page(request, {"level": "formal"}, {})


@access("anyone")
async def locked(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    kept = {k: v for k, v in form.items() if k != "password"}
    try:
        report = await reports.file_without_session(
            ctx,
            form.get("handle", ""),
            form.get("password", ""),
            form.get("level", ""),
            form.get("respondents", ""),
            form.get("body", ""),
        )
    except Invalid as exc:
        return await _locked_page(request, kept, exc.fields or {"form": exc.message}, 400)
    return await _locked_page(request, {}, {}, done=report.id)
