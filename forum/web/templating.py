"""The Jinja environment: autoescape everywhere, policy questions available to templates."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.utils import htmlsafe_json_dumps
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from forum import limits, policy
from forum.models import Post
from forum.models.reactions import REACTIONS
from forum.policy import Action, Actor
from forum.services.threads import ThreadPage
from forum.web import notices
from forum.web.avatars import avatar
from forum.web.post_html import PostRenderer
from forum.web.static import static_url

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in (
        (86400 * 365, "year"),
        (86400 * 30, "month"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _date(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%-d %B %Y") if moment else ""


def _when(moment: datetime | None) -> str:
    """The day and the hour, for logs: "2 December 2026, 20:41 UTC"."""
    return moment.astimezone(UTC).strftime("%-d %B %Y, %H:%M UTC") if moment else ""


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # Every template is HTML, whatever its name: never rely on the file extension.
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ago"] = _ago
    env.filters["iso"] = _iso
    env.filters["date"] = _date
    env.filters["when"] = _when
    env.globals["plural"] = _plural
    env.globals["can"] = policy.can
    env.globals["Action"] = Action
    # Form fields' maxlength: the same limits the input models and services use.
    env.globals["limits"] = limits
    # Templates ask the policy's own functions (a seat's label, the view model), never roles.
    env.globals["policy"] = policy
    env.globals["static"] = functools.partial(static_url, TEMPLATE_DIR.parent / "static")
    # Initials in a colour, beside a member's name (`avatar(handle, name)`).
    env.globals["avatar"] = avatar
    # The fixed reactions, (kind, emoji, name) in order.
    env.globals["reactions"] = REACTIONS
    # The same as JSON for the page's script, made once rather than on every thread page.
    env.globals["reactions_json"] = htmlsafe_json_dumps(REACTIONS)
    return Jinja2Templates(env=env)


TEMPLATES = make_templates()


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    ctx = request.state.ctx
    values: dict[str, Any] = {
        "ctx": ctx,
        "actor": ctx.actor,
        "me": ctx.member,
        "csrf": ctx.session.csrf_token if ctx.session else ctx.anon_csrf,
        "path": request.url.path,
        "signup_mode": ctx.settings.signup,
        "topics": [],
        "page_notice": None,
    }
    if context:
        values.update(context)
    # Every page of a signed-in member follows their own topic (the notification badge).
    if ctx.member is not None:
        mine = f"member:{ctx.member.id}"
        if all(t[0] != mine for t in values["topics"]):
            values["topics"] = [*values["topics"], (mine, ctx.member.event_seq)]
    message, clear = notices.take(request)
    if message and status < 400 and not values["page_notice"]:
        values["page_notice"] = message
    response = TEMPLATES.TemplateResponse(request, name, values, status_code=status)
    if clear and status < 400:
        response.delete_cookie(
            notices.COOKIE,
            path="/",
            secure=ctx.settings.secure_cookies,
            httponly=True,
            samesite="lax",
        )
    return response


def render_live_post(post: Post) -> str:
    """A post's <li> as every viewer may see it: rendered once per event for all sockets, with
    no per-viewer controls (each socket's frame carries those as data, from the policy's view
    model, and the page's script draws them)."""
    return str(PostRenderer(Actor.anonymous(), post.thread).one(post))


def render_thread_page(request: Request, page: ThreadPage, context: dict[str, Any]) -> HTMLResponse:
    ctx = request.state.ctx
    statement_version = page.statement.version if page.statement else None
    renderer = PostRenderer(
        ctx.actor, page.thread, page.first_unread_id, statement_version, page.marks
    )
    posts_html = renderer.page(page)
    return render(
        request,
        "thread.html",
        {
            **context,
            "page": page,
            "thread": page.thread,
            "topics": page.topics,
            "posts_html": posts_html,
        },
    )
