"""Email preferences on the account page, and one-click unsubscribe (RFC 8058).

The unsubscribe URL works without signing in and without a CSRF token: a mail provider POSTs to
it from its own servers when the member presses "unsubscribe" in their mail client. The signed
token in the URL is the proof (it names one member and one topic or digest, and cannot be
altered). A GET only shows a page with a button: link scanners and previews fetch links, and
must never unsubscribe anyone."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import Invalid
from forum.schemas.mail_prefs import EmailPreferencesUpdate
from forum.schemas.parse import from_form
from forum.services import mail_prefs
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render

# The only path whose POST needs no CSRF token and may come from another site (see
# forum.web.middleware).
UNSUBSCRIBE_PREFIX = "/unsubscribe/"


async def account_section(ctx: Ctx) -> dict[str, object]:
    """What the account page's email section shows."""
    from forum.services import addresses

    assert ctx.member is not None
    return {
        "address": await addresses.state_of(ctx.member),
        "mail": await mail_prefs.preferences(ctx),
        "mail_topics": mail_prefs.LABELS,
        "mail_cadences": mail_prefs.CADENCE_LABELS,
        "mail_address": ctx.member.email if ctx.member else None,
        "mail_confirmed": bool(ctx.member and ctx.member.email_confirmed_at),
    }


@access("signed-in")
async def update_preferences(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    form = await read_form(request)
    try:
        data = from_form(EmailPreferencesUpdate, form)
    except Invalid:
        context = {
            "errors": {"mail": "Choose one of the offered options for each topic."},
            "form": {"display_name": ctx.member.display_name if ctx.member else ""},
            "saved": None,
            **(await account_section(ctx)),
        }
        return render(request, "account.html", context, status=400)
    await mail_prefs.update_preferences(ctx, data.changes())
    return RedirectResponse("/account?saved=mail#email", status_code=303)


@access("anyone")
async def unsubscribe_page(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    token = request.path_params["token"]
    _member, group = await mail_prefs.unsubscribe_target(ctx.settings.secret_key, token)
    return render(
        request,
        "unsubscribe.html",
        {"what": mail_prefs.group_label(group), "done": False, "token": token},
    )


@access("anyone")
async def unsubscribe(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    token = request.path_params["token"]
    _member, group = await mail_prefs.unsubscribe(ctx.settings.secret_key, token)
    return render(
        request,
        "unsubscribe.html",
        {"what": mail_prefs.group_label(group), "done": True, "token": token},
    )
