"""Follow, mute and the Following page: thin handlers over `forum.services.follows`."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import NotFound
from forum.policy.follows import GROUP_MENTION_CAP
from forum.schemas.base import Id
from forum.schemas.follows import FollowForm
from forum.schemas.parse import from_form
from forum.services import follows
from forum.services.context import Ctx
from forum.web import notices
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render

_ID: TypeAdapter[int] = TypeAdapter(Id)
# The confirmation each new level brings.
_NOTICE = {"watching": "followed", "muted": "muted", "none": "unfollowed"}


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _back(request: Request, data: FollowForm, page: str, level: str) -> Response:
    """POST-redirect-GET: to the Following page when asked (a fixed place, never a URL from
    the form), else to the thread's or channel's page, with the confirmation."""
    target = "/following" if data.back == "following" else page
    response = RedirectResponse(target, status_code=303)
    return notices.confirm(response, _NOTICE[level], _ctx(request).settings)


@access("policy")
async def follow_thread(request: Request) -> Response:
    try:
        thread_id = _ID.validate_python(str(request.path_params.get("thread_id", "")))
    except ValidationError:
        raise NotFound() from None
    data = from_form(FollowForm, await read_form(request))
    thread = await follows.follow_thread(_ctx(request), thread_id, data.level)
    return _back(request, data, f"/t/{thread.id}", data.level)


@access("policy")
async def follow_channel(request: Request) -> Response:
    data = from_form(FollowForm, await read_form(request))
    channel = await follows.follow_channel(_ctx(request), request.path_params["slug"], data.level)
    return _back(request, data, f"/c/{quote(channel.slug)}", data.level)


@access("member")
async def following_page(request: Request) -> Response:
    found = await follows.following(_ctx(request))
    return render(request, "following.html", {"found": found, "group_cap": GROUP_MENTION_CAP})
