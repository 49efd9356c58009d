"""Email links: "forgot your password?", the reset page, confirming an address, and the account
page's address forms."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import Invalid, RateLimited
from forum.schemas.accounts import ChangeEmail, ConfirmEmail, ForgotPassword, ResetPassword
from forum.schemas.parse import from_form
from forum.services import addresses, recovery
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.middleware import session_cookie
from forum.web.templating import render
from forum.web.views.accounts import _errors, account_view


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _slowed(response: Response, exc: RateLimited) -> Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# ---- forgot password --------------------------------------------------------------------------


@access("anyone")
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html", {"form": {}, "errors": {}, "sent": None})


@access("anyone")
async def forgot(request: Request) -> Response:
    """The same answer whether or not an account matches; the lookup and the email happen
    after the answer has gone out (`recovery.send_reset`), so its timing tells nothing."""
    ctx = _ctx(request)
    form = await read_form(request)
    kept = {"address": form["address"]}
    try:
        key = await recovery.check_request(ctx, from_form(ForgotPassword, form).address)
    except Invalid as exc:
        context = {"form": kept, "errors": _errors(exc), "sent": None}
        return render(request, "forgot.html", context, status=400)
    except RateLimited as exc:
        context = {"form": kept, "errors": {"form": exc.message}, "sent": None}
        return _slowed(render(request, "forgot.html", context, status=429), exc)
    response = render(request, "forgot.html", {"form": {}, "errors": {}, "sent": recovery.SENT})
    response.background = BackgroundTask(recovery.send_reset, ctx.services, key)
    return response


# ---- the reset link ---------------------------------------------------------------------------


def _link_page(request: Request, page: str, status: int = 200, **values: object) -> Response:
    """The reset or confirmation page: a form for a good link, or what is wrong with it."""
    context: dict[str, object] = {
        "token": "",
        "errors": {},
        "problem": None,
        "confirmed": None,
        "address": "",
    }
    return render(request, page, {**context, **values}, status=status)


def _link_problem(request: Request, exc: Invalid, page: str) -> Response:
    return _link_page(request, page, status=400, problem=exc.message)


@access("anyone")
async def reset_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    try:
        await addresses.usable(token, "reset")
    except Invalid as exc:
        return _link_problem(request, exc, "reset.html")
    return _link_page(request, "reset.html", token=token)


@access("anyone")
async def reset(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    token = form["token"]
    try:
        data = from_form(ResetPassword, form)
        done = await recovery.reset_password(
            ctx, data.token, data.new, data.confirm, request.headers.get("user-agent", "")
        )
    except Invalid as exc:
        if "token" in exc.fields:  # no token, or one longer than any
            return _link_problem(request, Invalid(addresses.LINK_UNKNOWN), "reset.html")
        if not exc.fields:  # the link itself is used, expired or not one
            return _link_problem(request, exc, "reset.html")
        return _link_page(request, "reset.html", 400, token=token, errors=_errors(exc))
    if done.session_token is None:
        # Suspended or waiting for approval: the password is set, signing in is not possible.
        return render(request, "reset_done.html", {"member": done.member})
    response = RedirectResponse("/account?saved=reset", status_code=303)
    response.set_cookie(**session_cookie(done.session_token, request.app.state.services))
    return response


# ---- confirming an address --------------------------------------------------------------------


@access("anyone")
async def confirm_page(request: Request) -> Response:
    """A button, not the confirmation itself: a mail scanner that opens links changes nothing."""
    token = request.query_params.get("token", "")
    try:
        row = await addresses.usable(token, "confirm")
    except Invalid as exc:
        return _link_problem(request, exc, "confirm.html")
    return _link_page(request, "confirm.html", token=token, address=row.address)


@access("anyone")
async def confirm(request: Request) -> Response:
    form = await read_form(request)
    try:
        member = await addresses.confirm(from_form(ConfirmEmail, form).token)
    except Invalid as exc:
        message = addresses.LINK_UNKNOWN if "token" in exc.fields else exc.message
        return _link_problem(request, Invalid(message), "confirm.html")
    return _link_page(request, "confirm.html", confirmed=member.email)


# ---- the account page's address forms ---------------------------------------------------------


@access("signed-in")
async def change_email(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    kept = {"email": form["email"]}
    try:
        data = from_form(ChangeEmail, form)
        await addresses.change(ctx, data.email, data.password)
    except Invalid as exc:
        return await account_view(request, _errors(exc), kept, status=400)
    except RateLimited as exc:
        page = await account_view(request, {"email": exc.message}, kept, status=429)
        return _slowed(page, exc)
    return RedirectResponse("/account?saved=email", status_code=303)


@access("signed-in")
async def resend_confirmation(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    try:
        await addresses.resend(ctx)
    except Invalid as exc:
        return await account_view(request, {"resend": exc.message}, status=400)
    except RateLimited as exc:
        return _slowed(await account_view(request, {"resend": exc.message}, status=429), exc)
    return RedirectResponse("/account?saved=resent", status_code=303)
