"""The caller's email preferences."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.schemas.mail_prefs import EmailPreferences, EmailPreferencesUpdate
from forum.services import mail_prefs
from forum.web.access import access
from forum.web.api.base import Endpoint, ctx_of, ok


@access("signed-in")
async def get_preferences(request: Request) -> Response:
    return ok(await mail_prefs.preferences(ctx_of(request)))


@access("signed-in")
async def update_preferences(request: Request, body: EmailPreferencesUpdate) -> Response:
    return ok(await mail_prefs.update_preferences(ctx_of(request), body.changes()))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/me/email-preferences",
        get_preferences,
        "How often the caller is emailed about each topic",
        tag="accounts",
        response=EmailPreferences,
        errors=[401],
        signed_in=True,
    ),
    Endpoint(
        "PATCH",
        "/me/email-preferences",
        update_preferences,
        "Change how often the caller is emailed about some topics",
        tag="accounts",
        description="Topics left out keep their cadence. Caucus and report emails never carry "
        "names, titles, text or authors, whatever the cadence.",
        body=EmailPreferencesUpdate,
        response=EmailPreferences,
        errors=[400, 401, 403, 413],
        signed_in=True,
    ),
]
