"""Reactions, bookmarks, profiles and the member directory: thin handlers over
`forum.services.reactions` and `forum.services.people`."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import NotFound
from forum.models.reactions import REACTIONS
from forum.schemas.base import Id
from forum.schemas.parse import from_form, from_query
from forum.schemas.people import DirectoryQuery, PageOnly, ReactForm
from forum.services import people, reactions
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


_ID: TypeAdapter[int] = TypeAdapter(Id)


def _path_id(request: Request, name: str) -> int:
    """An id in the path; one that cannot name anything is simply not found."""
    try:
        return _ID.validate_python(str(request.path_params.get(name, "")))
    except ValidationError:
        raise NotFound() from None


@access("policy")
async def react(request: Request) -> Response:
    """A reaction button without JavaScript: toggles, then back to the post."""
    ctx = _ctx(request)
    post_id = _path_id(request, "post_id")
    form = await read_form(request)
    kind = from_form(ReactForm, form).kind
    await reactions.toggle(ctx, post_id, kind)
    return RedirectResponse(f"/p/{post_id}", status_code=303)


@access("policy")
async def bookmark(request: Request) -> Response:
    ctx = _ctx(request)
    post_id = _path_id(request, "post_id")
    await read_form(request)
    await reactions.toggle_bookmark(ctx, post_id)
    return RedirectResponse(f"/p/{post_id}", status_code=303)


@access("policy")
async def reactions_page(request: Request) -> Response:
    found = await reactions.reactors(_ctx(request), _path_id(request, "post_id"))
    return render(request, "reactions.html", {"found": found, "kinds": REACTIONS})


@access("member")
async def bookmarks_page(request: Request) -> Response:
    page = from_query(PageOnly, request.query_params).page
    found = await reactions.bookmarks(_ctx(request), page)
    return render(request, "bookmarks.html", {"found": found})


@access("policy")
async def profile(request: Request) -> Response:
    ctx = _ctx(request)
    found = await people.profile(ctx, request.path_params["handle"])
    return render(
        request,
        "profile.html",
        {
            "member": found.member,
            "info": found,
            "errors": {},
            "done": request.query_params.get("done"),
        },
    )


@access("member")
async def directory(request: Request) -> Response:
    query = from_query(DirectoryQuery, request.query_params)
    found = await people.directory(_ctx(request), query.q, query.page)
    return render(request, "members.html", {"found": found})
