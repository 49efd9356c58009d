"""Channels, threads and posts: thin handlers over the channels, threads and posting services."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import policy
from forum.errors import Invalid, NotFound, RateLimited
from forum.policy import Action
from forum.schemas.base import Id
from forum.schemas.channels import NewThread, PageQuery
from forum.schemas.parse import from_form, from_query
from forum.schemas.threads import EditPost, NewPost, ReplyQuery, ThreadQuery
from forum.services import (
    access,
    caucuses,
    channels,
    decision_pages,
    drafts,
    follows,
    posting,
    statements,
    threads,
)
from forum.services.context import Ctx
from forum.web.access import access as rule
from forum.web.forms import read_form
from forum.web.notices import confirm
from forum.web.templating import render, render_thread_page


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


_ID: TypeAdapter[int] = TypeAdapter(Id)


def _path_id(request: Request, name: str) -> int:
    """An id in the path, as the API's path models read it: one that cannot name anything is
    simply not found."""
    try:
        return _ID.validate_python(str(request.path_params.get(name, "")))
    except ValidationError:
        raise NotFound() from None


@rule("anyone")
async def home(request: Request) -> Response:
    ctx = _ctx(request)
    recent = await channels.recent_threads(ctx) if policy.can(ctx.actor, Action.TAKE_PART) else []
    open_channels = await channels.open_channels(ctx)
    taking_part = policy.can(ctx.actor, Action.TAKE_PART)
    mine = await caucuses.my_caucuses(ctx) if taking_part else []
    return render(
        request,
        "home.html",
        {
            "welcome": request.query_params.get("welcome"),
            # A member who has not opened a thread yet gets a word on how the forum works.
            "first_visit": taking_part and not await threads.has_read_anything(ctx),
            "recent": recent,
            "channels": open_channels,
            "my_caucuses": mine,
        },
    )


@rule("anyone")
async def channel_list(request: Request) -> Response:
    ctx = _ctx(request)
    return render(request, "channels.html", {"channels": await channels.open_channels(ctx)})


@rule("policy")
async def channel_page(request: Request) -> Response:
    ctx = _ctx(request)
    page = from_query(PageQuery, request.query_params).page  # the API's limits (400 beyond them)
    channel, rows, more = await channels.thread_list(ctx, request.path_params["slug"], page)
    return render(
        request,
        "channel.html",
        {
            "follow": await follows.level_in_channel(ctx, channel),
            "channel": channel,
            "rows": rows,
            "page": page,
            "more": more,
            "topics": [(f"channel:{channel.id}", channel.event_seq)],
        },
    )


@rule("policy")
async def new_thread_page(request: Request) -> Response:
    ctx = _ctx(request)
    channel = await access.channel_by_slug(ctx, request.path_params["slug"])
    return render(request, "new_thread.html", {"channel": channel, "form": {}, "errors": {}})


@rule("policy")
async def create_thread(request: Request) -> Response:
    ctx = _ctx(request)
    slug = request.path_params["slug"]
    form = await read_form(request)
    try:
        data = from_form(NewThread, form)
        thread = await posting.start_thread(ctx, slug, data.title, data.body, data.key)
    except (Invalid, RateLimited) as exc:
        channel = await access.channel_by_slug(ctx, slug)
        return _form_error(request, "new_thread.html", {"channel": channel}, form, exc)
    return confirm(RedirectResponse(f"/t/{thread.id}", status_code=303), "started", ctx.settings)


def _form_error(
    request: Request,
    template: str,
    context: dict[str, object],
    form: dict[str, str],
    exc: Invalid | RateLimited,
) -> Response:
    """Show the form again with every word the member typed and the reason next to its field."""
    errors = dict(exc.fields) if isinstance(exc, Invalid) and exc.fields else {}
    if not errors:
        errors["form"] = exc.message
    response = render(
        request, template, {**context, "form": form, "errors": errors}, status=exc.status
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@rule("policy")
async def thread_page(request: Request) -> Response:
    ctx = _ctx(request)
    query = from_query(ThreadQuery, request.query_params)
    page = await threads.thread_page(
        ctx, _path_id(request, "thread_id"), after=query.after, focus_id=query.focus
    )
    mine = await caucuses.my_caucuses(ctx) if page.thread.seeded else []
    here = await decision_pages.in_thread(page.thread)
    return render_thread_page(
        request, page, {"my_caucuses": mine, "form": {}, "errors": {}, "decisions_here": here}
    )


@rule("policy")
async def branch_page(request: Request) -> Response:
    ctx = _ctx(request)
    query = from_query(ThreadQuery, request.query_params)  # the branch is the path's post
    page = await threads.thread_page(
        ctx,
        _path_id(request, "thread_id"),
        after=query.after,
        focus_id=_path_id(request, "post_id"),
    )
    return render_thread_page(request, page, {"my_caucuses": [], "form": {}, "errors": {}})


@rule("policy")
async def permalink(request: Request) -> Response:
    target = await threads.permalink(_ctx(request), _path_id(request, "post_id"))
    return RedirectResponse(target, status_code=303)


@rule("policy")
async def reply_page(request: Request) -> Response:
    ctx = _ctx(request)
    thread = await access.thread_for(ctx, _path_id(request, "thread_id"))
    parent = None
    to = from_query(ReplyQuery, request.query_params).to
    if to is not None:
        parent = await access.post_for(ctx, to)
        if parent.thread_id != thread.id:
            raise NotFound()
    kept = await drafts.of_thread(ctx, thread)
    form = {"parent_id": str(to or ""), "body": kept.get(to or 0, "")}
    return render(
        request, "reply.html", {"thread": thread, "parent": parent, "form": form, "errors": {}}
    )


@rule("policy")
async def create_reply(request: Request) -> Response:
    ctx = _ctx(request)
    thread_id = _path_id(request, "thread_id")
    form = await read_form(request)
    parent_id: int | None = None
    try:
        data = from_form(NewPost, form)
        parent_id = data.parent_id
        post = await posting.reply(ctx, thread_id, data.body, parent_id, data.key)
    except (Invalid, RateLimited) as error:
        exc = error
    else:
        return confirm(RedirectResponse(f"/p/{post.id}", status_code=303), "posted", ctx.settings)
    thread = await access.thread_for(ctx, thread_id)
    parent = None
    if parent_id is not None:
        try:
            parent = await access.post_for(ctx, parent_id)
        except NotFound:
            parent = None
        if parent is not None and parent.thread_id != thread.id:
            parent = None
    return _form_error(request, "reply.html", {"thread": thread, "parent": parent}, form, exc)


@rule("policy")
async def edit_page(request: Request) -> Response:
    ctx = _ctx(request)
    post = await posting.for_editing(ctx, _path_id(request, "post_id"))
    return render(
        request, "edit_post.html", {"post": post, "form": {"body": post.body}, "errors": {}}
    )


@rule("policy")
async def update_post(request: Request) -> Response:
    ctx = _ctx(request)
    post_id = _path_id(request, "post_id")
    form = await read_form(request)
    try:
        post = await posting.edit(ctx, post_id, from_form(EditPost, form).body)
    except (Invalid, RateLimited) as exc:
        post = await access.post_for(ctx, post_id)
        return _form_error(request, "edit_post.html", {"post": post}, form, exc)
    return confirm(RedirectResponse(f"/p/{post.id}", status_code=303), "edited", ctx.settings)


@rule("policy")
async def delete_post(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    post = await posting.delete(ctx, _path_id(request, "post_id"))
    return RedirectResponse(f"/p/{post.id}", status_code=303)


@rule("policy")
async def history(request: Request) -> Response:
    post, revisions = await posting.revisions(_ctx(request), _path_id(request, "post_id"))
    return render(request, "history.html", {"post": post, "revisions": revisions})


@rule("policy")
async def statement_versions(request: Request) -> Response:
    statement, thread, versions = await statements.versions(
        _ctx(request), _path_id(request, "statement_id")
    )
    return render(
        request,
        "statement_versions.html",
        {"statement": statement, "thread": thread, "versions": versions},
    )
