"""Confirmations after a form: "your flag is in the queue". A redirect sets a short-lived
cookie naming one of these fixed messages; the next page shows it (a status message that
the page's script focuses or announces) and clears the cookie. Only codes travel, never text,
so a link or a planted cookie cannot put words on the page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.settings import Settings

COOKIE = "forum_notice"

NOTICES = {
    "posted": "Your reply is posted.",
    "started": "Your thread is started.",
    "edited": "Your changes are saved.",
    "flagged": "Thank you. Your flag is in the review queue; a facilitator will look at it.",
    "hidden": "The post is hidden. Its author is told why, and the log records it.",
    "restored": "The post is restored. Its author is told, and the log records it.",
    "appealed": "Your appeal is in the review queue. You will be told the outcome.",
    "thread-acted": "Done. The thread shows the change and the log records why.",
    "invites-made": "Your invite links are made: copy them from the list below.",
    "invites-mailed": "Your invitations are on their way: each address gets its own link.",
    "invite-revoked": "The invite is revoked: its link now says so, and no one can use it.",
    "followed": "You follow it now: you will be told of new activity (see Following).",
    "muted": "Muted: you will be told of nothing here except mentions of you.",
    "unfollowed": "You no longer follow it.",
}


def confirm(response: Response, code: str, settings: Settings) -> Response:
    """Make the next page say `code`'s message."""
    assert code in NOTICES, code
    response.set_cookie(
        COOKIE,
        code,
        max_age=120,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def take(request: Request) -> tuple[str | None, bool]:
    """The message this page should show, and whether a cookie is there to clear."""
    code = request.cookies.get(COOKIE)
    return NOTICES.get(code or ""), code is not None
