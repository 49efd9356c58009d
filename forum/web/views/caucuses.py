"""Caucus pages: list and found, a caucus's own page, and its members' self-government."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import policy
from forum.errors import Invalid, NotFound
from forum.models import Thread
from forum.policy import Action
from forum.schemas.caucuses import ArchiveCaucus, FoundCaucus, Invite, JoinNote
from forum.schemas.parse import from_form
from forum.services import caucuses, channels, moderation_log
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render

VERBS = ("admit", "decline", "remove", "appoint")


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


async def _list_page(
    request: Request,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ctx = _ctx(request)
    return render(
        request,
        "caucuses.html",
        {
            "caucuses": await caucuses.listing(ctx),
            "form": form or {"listed": "1"},
            "errors": errors or {},
        },
        status=status,
    )


@access("member")
async def caucus_list(request: Request) -> Response:
    return await _list_page(request)


@access("member")
async def found(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    try:
        # An unticked box is not sent at all: that is "not listed".
        data = from_form(FoundCaucus, {**form, "listed": form["listed"] or "0"})
        caucus = await caucuses.found(
            ctx, data.name, data.description, listed=data.listed, join_policy=data.join_policy
        )
    except Invalid as exc:
        return await _list_page(request, form, exc.fields or {"form": exc.message}, status=400)
    return RedirectResponse(f"/caucuses/{caucus.slug}", status_code=303)


async def _caucus_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    ctx = _ctx(request)
    slug = request.path_params["slug"]
    view = await caucuses.view(ctx, slug)
    rows = []
    log = []
    if policy.can(ctx.actor, Action.READ_MEMBERS, view.caucus):
        rows = await channels.with_unread(ctx, await _threads(view))
        log = await moderation_log.entries(ctx, caucus_id=view.caucus.id, limit=10)
    return render(
        request,
        "caucus.html",
        {
            "view": view,
            "caucus": view.caucus,
            "rows": rows,
            "log": log,
            "errors": errors or {},
            "notice": request.query_params.get("done", ""),
        },
        status=status,
    )


async def _threads(view: caucuses.CaucusView) -> list[Thread]:
    if not view.channels:
        return []
    return (
        await Thread.filter(channel_id__in=[c.id for c in view.channels])
        .order_by("-pinned", "-last_activity_at")
        .limit(30)
        .select_related("author", "statement")
    )


@access("policy")
async def caucus_page(request: Request) -> Response:
    return await _caucus_page(request)


async def _act(request: Request, work: object, done: str) -> Response:
    slug = request.path_params["slug"]
    try:
        await work  # type: ignore[misc]
    except Invalid as exc:
        return await _caucus_page(request, exc.fields or {"form": exc.message}, status=400)
    return RedirectResponse(f"/caucuses/{slug}?done={done}", status_code=303)


@access("policy")
async def join(request: Request) -> Response:
    form = await read_form(request)

    async def work() -> None:
        note = from_form(JoinNote, form).note
        await caucuses.request_join(_ctx(request), request.path_params["slug"], note)

    return await _act(request, work(), "requested")


@access("policy")
async def leave(request: Request) -> Response:
    await read_form(request)
    slug = request.path_params["slug"]
    try:
        await caucuses.leave(_ctx(request), slug)
    except Invalid as exc:
        return await _caucus_page(request, {"form": exc.message}, status=400)
    return RedirectResponse("/caucuses?left=1", status_code=303)


@access("policy")
async def accept(request: Request) -> Response:
    await read_form(request)
    return await _act(
        request, caucuses.accept_invitation(_ctx(request), request.path_params["slug"]), "joined"
    )


@access("policy")
async def step_down(request: Request) -> Response:
    await read_form(request)
    return await _act(
        request, caucuses.step_down(_ctx(request), request.path_params["slug"]), "stepped-down"
    )


@access("policy")
async def invite(request: Request) -> Response:
    form = await read_form(request)

    async def work() -> None:
        handle = from_form(Invite, form).handle.strip().lstrip("@")
        await caucuses.decide(_ctx(request), request.path_params["slug"], handle, "invite")

    return await _act(request, work(), "invited")


@access("policy")
async def member_action(request: Request) -> Response:
    verb = request.path_params["verb"]
    if verb not in VERBS:
        raise NotFound()
    await read_form(request)
    return await _act(
        request,
        caucuses.decide(
            _ctx(request), request.path_params["slug"], request.path_params["handle"], verb
        ),
        verb,
    )


@access("policy")
async def archive(request: Request) -> Response:
    form = await read_form(request)

    async def work() -> None:
        reason = from_form(ArchiveCaucus, form).reason
        await caucuses.archive(_ctx(request), request.path_params["slug"], reason)

    return await _act(request, work(), "archived")


@access("policy")
async def discuss(request: Request) -> Response:
    form = await read_form(request)
    thread_id = form["thread_id"]
    if not thread_id.isdigit() or len(thread_id) > 12:
        raise NotFound()
    thread = await caucuses.discuss_statement(
        _ctx(request), form["caucus"] or request.path_params.get("slug", ""), int(thread_id)
    )
    return RedirectResponse(f"/t/{thread.id}", status_code=303)


@access("policy")
async def caucus_log(request: Request) -> Response:
    ctx = _ctx(request)
    view = await caucuses.view(ctx, request.path_params["slug"])
    policy.caucuses.check_read_members(ctx.actor, view.caucus)
    entries = await moderation_log.entries(ctx, caucus_id=view.caucus.id, limit=200)
    return render(request, "moderation_log.html", {"entries": entries, "caucus": view.caucus})
