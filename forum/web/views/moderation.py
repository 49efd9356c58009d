"""Moderation pages: flags, the review queue, actions with reasons, appeals, and the log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import policy
from forum.errors import Invalid, NotFound
from forum.models import Member
from forum.models.moderation import FLAG_REASONS
from forum.policy import Action
from forum.schemas.moderation import Appeal, FlagPost, Resolve, ThreadAct, WithReason
from forum.schemas.parse import from_form
from forum.services import access, accounts, channels, moderation, moderation_log, people
from forum.services.context import Ctx
from forum.services.moderation import REASON_LABELS, THREAD_ACTIONS
from forum.web.access import access as rule
from forum.web.forms import read_form
from forum.web.notices import confirm
from forum.web.templating import render


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _id(request: Request, name: str) -> int:
    value = str(request.path_params.get(name, ""))
    if not value.isdigit() or len(value) > 12:
        raise NotFound()
    return int(value)


@rule("member")
async def log_page(request: Request) -> Response:
    ctx = _ctx(request)
    entries = await moderation_log.entries(ctx, limit=200)
    return render(request, "moderation_log.html", {"entries": entries, "caucus": None})


# ---- flags -----------------------------------------------------------------------------------


async def _flag_page(
    request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    post = await access.post_for(_ctx(request), _id(request, "post_id"))
    policy.require(_ctx(request).actor, Action.FLAG, post)
    return render(
        request,
        "flag.html",
        {
            "post": post,
            "form": form,
            "errors": errors,
            "reasons": [(r, REASON_LABELS[r]) for r in FLAG_REASONS],
        },
        status=status,
    )


@rule("policy")
async def flag_page(request: Request) -> Response:
    return await _flag_page(request, {}, {})


@rule("policy")
async def flag(request: Request) -> Response:
    form = await read_form(request)
    try:
        data = from_form(FlagPost, form)
        await moderation.flag(_ctx(request), _id(request, "post_id"), data.reason, data.note)
    except Invalid as exc:
        return await _flag_page(request, form, exc.fields or {"form": exc.message}, status=400)
    target = RedirectResponse(f"/p/{_id(request, 'post_id')}", status_code=303)
    return confirm(target, "flagged", _ctx(request).settings)


# ---- post actions ----------------------------------------------------------------------------


async def _post_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    post = await moderation.post_for_moderation(_ctx(request), _id(request, "post_id"))
    appeal = await moderation.appeal_of_post(post)
    return render(
        request,
        "moderate_post.html",
        {"post": post, "appeal": appeal, "errors": errors or {}, "form": form or {}},
        status=status,
    )


@rule("policy")
async def post_page(request: Request) -> Response:
    return await _post_page(request)


@rule("policy")
async def post_action(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    post_id = _id(request, "post_id")
    verb = request.path_params["verb"]
    try:
        if verb == "hide":
            await moderation.hide(ctx, post_id, from_form(WithReason, form).reason)
        elif verb == "restore":
            await moderation.restore(ctx, post_id, from_form(WithReason, form).reason)
        elif verb == "appeal":
            await moderation.appeal_post(ctx, post_id, from_form(Appeal, form).note)
        else:
            raise NotFound()
    except Invalid as exc:
        return await _post_page(request, exc.fields or {"form": exc.message}, 400, form)
    done = {"hide": "hidden", "restore": "restored", "appeal": "appealed"}[verb]
    return confirm(RedirectResponse(f"/p/{post_id}", status_code=303), done, ctx.settings)


# ---- thread actions --------------------------------------------------------------------------


async def _thread_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    ctx = _ctx(request)
    thread = await access.thread_for(ctx, _id(request, "thread_id"))
    policy.require(ctx.actor, Action.MODERATE, thread)
    targets = [c for c in await channels.open_channels(ctx) if c.id != thread.channel_id]
    return render(
        request,
        "moderate_thread.html",
        {"thread": thread, "errors": errors or {}, "form": form or {}, "targets": targets},
        status=status,
    )


@rule("policy")
async def thread_page(request: Request) -> Response:
    return await _thread_page(request)


@rule("policy")
async def thread_action(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    thread_id = _id(request, "thread_id")
    try:
        if form["action"] not in THREAD_ACTIONS:
            raise Invalid(fields={"action": "Choose an action."})
        data = from_form(ThreadAct, {**form, "seconds": form["seconds"].strip()})
        await moderation.act_on_thread(
            ctx,
            thread_id,
            data.action,
            data.reason,
            seconds=data.seconds,
            channel_slug=data.channel,
        )
    except Invalid as exc:
        return await _thread_page(request, exc.fields or {"form": exc.message}, 400, form)
    target = RedirectResponse(f"/t/{thread_id}", status_code=303)
    return confirm(target, "thread-acted", _ctx(request).settings)


# ---- the review queue ------------------------------------------------------------------------


@rule("policy")
async def review(request: Request) -> Response:
    ctx = _ctx(request)
    status = request.query_params.get("status", "open")
    items = await moderation.queue(ctx, status)
    return render(request, "review.html", {"items": items, "status": status, "errors": {}})


@rule("policy")
async def review_action(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    item_id = _id(request, "item_id")
    verb = request.path_params["verb"]
    try:
        if verb == "claim":
            await moderation.claim(ctx, item_id)
        elif verb == "resolve":
            data = from_form(Resolve, form)
            await moderation.resolve(ctx, item_id, data.resolution, data.reason)
        else:
            raise NotFound()
    except Invalid as exc:
        items = await moderation.queue(ctx)
        errors = {str(item_id): "; ".join(exc.fields.values()) or exc.message}
        return render(
            request, "review.html", {"items": items, "status": "open", "errors": errors}, status=400
        )
    return RedirectResponse(f"/review#item-{item_id}", status_code=303)


# ---- members: profile, warnings, suspension appeals ------------------------------------------


@rule("policy")
async def warn(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    handle = request.path_params["handle"]
    try:
        await moderation.warn(ctx, handle, from_form(WithReason, form).reason)
    except Invalid as exc:
        found = await people.profile(ctx, handle)
        return render(
            request,
            "profile.html",
            {
                "member": found.member,
                "info": found,
                "done": None,
                "errors": exc.fields or {"form": exc.message},
            },
            status=400,
        )
    return RedirectResponse(f"/m/{handle}?done=warned", status_code=303)


@rule("anyone")
async def appeal_page(request: Request) -> Response:
    return render(request, "appeal.html", {"form": {}, "errors": {}, "done": False, "token": ""})


@rule("anyone")
async def appeal(request: Request) -> Response:
    """A suspended member appeals once per suspension. They prove who they are with their
    password, or with the token the suspended sign-in page gave them moments ago."""
    ctx = _ctx(request)
    form = await read_form(request)
    generic = "That handle and password do not match a suspended account."
    await ctx.services.throttle.hit(ctx.settings.login_rate, "appeal", ctx.address)
    member = None
    token = form["token"]
    if token:
        member_id = moderation.appeal_token_member(ctx.settings.secret_key, token)
        member = await Member.get_or_none(id=member_id) if member_id else None
        generic = "This appeal form has expired: sign in again to appeal."
    else:
        try:
            member = await accounts.member_by_handle(form["handle"]) if form["handle"] else None
        except NotFound:
            member = None
        ok, _ = await ctx.services.hasher.verify(
            form["password"][:1024], member.password_hash if member else None
        )
        member = member if ok else None
    context = {
        "form": {"handle": form["handle"], "note": form["note"]},
        "done": False,
        "token": token,
    }
    if member is None or member.status != "suspended":
        return render(request, "appeal.html", {**context, "errors": {"form": generic}}, status=400)
    try:
        await moderation.appeal_suspension(ctx, member, from_form(Appeal, form).note)
    except Invalid as exc:
        return render(
            request,
            "appeal.html",
            {**context, "errors": exc.fields or {"form": exc.message}},
            status=400,
        )
    return render(request, "appeal.html", {**context, "errors": {}, "done": True})
