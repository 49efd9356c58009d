"""Sign-up, sign-in, sign-out and the member's own account page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import Invalid, NotFound, RateLimited
from forum.models import ApiToken
from forum.services import accounts, tokens
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.api.base import parse_id
from forum.web.forms import read_form
from forum.web.middleware import end_session_cookie, session_cookie
from forum.web.templating import render


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _safe_next(target: str) -> str:
    # Only same-site paths: "//evil.example" and "/\\evil" are other sites to a browser.
    if target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return "/"


def _signed_in(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(**session_cookie(token, request.app.state.services))
    return response


@access("anyone")
async def login_page(request: Request) -> Response:
    if _ctx(request).member is not None:
        return RedirectResponse("/", status_code=303)
    return render(
        request,
        "login.html",
        {"form": {}, "errors": {}, "next": _safe_next(request.query_params.get("next", "/"))},
    )


@access("anyone")
async def login(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    target = _safe_next(form["next"] or "/")
    try:
        member = await accounts.authenticate(ctx, form["handle"], form["password"])
    except Invalid as exc:
        return render(
            request,
            "login.html",
            {"form": {"handle": form["handle"]}, "errors": {"form": exc.message}, "next": target},
            status=400,
        )
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            {"form": {"handle": form["handle"]}, "errors": {"form": exc.message}, "next": target},
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    token = await accounts.start_session(member, request.headers.get("user-agent", ""), ctx.session)
    return _signed_in(request, token, target)


@access("anyone")
async def signup_page(request: Request) -> Response:
    ctx = _ctx(request)
    token = request.query_params.get("invite", "")
    invite_ok = bool(token) and await accounts.find_invite(token) is not None
    return render(
        request,
        "signup.html",
        {
            "form": {"invite": token},
            "errors": {},
            "invite_ok": invite_ok,
            "mode": ctx.settings.signup,
            "done": False,
        },
    )


@access("anyone")
async def signup(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    context = {
        "form": {k: form[k] for k in ("handle", "display_name", "invite")},
        "mode": ctx.settings.signup,
        "done": False,
        "invite_ok": bool(form["invite"]),
    }
    try:
        member = await accounts.sign_up(
            ctx,
            handle=form["handle"],
            display_name=form["display_name"],
            password=form["password"],
            invite_token=form["invite"],
        )
    except Invalid as exc:
        return render(
            request,
            "signup.html",
            {**context, "errors": exc.fields or {"form": exc.message}},
            status=400,
        )
    if member.status == "pending":
        return render(request, "signup.html", {**context, "errors": {}, "done": True})
    token = await accounts.start_session(member, request.headers.get("user-agent", ""), None)
    return _signed_in(request, token, "/?welcome=1")


@access("anyone")
async def logout(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    await accounts.end_session(ctx)
    response = RedirectResponse("/", status_code=303)
    end_session_cookie(response, request.app.state.services)
    return response


@access("signed-in")
async def logout_all(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    if ctx.member is not None:
        await accounts.end_all_sessions(ctx, ctx.member.id)
    response = RedirectResponse("/login?ended=all", status_code=303)
    end_session_cookie(response, request.app.state.services)
    return response


@access("signed-in")
async def account_page(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.member is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    return render(
        request,
        "account.html",
        {
            "errors": {},
            "form": {"display_name": ctx.member.display_name},
            "saved": request.query_params.get("saved"),
        },
    )


@access("signed-in")
async def update_profile(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    try:
        await accounts.update_profile(ctx, form["display_name"])
    except Invalid as exc:
        return render(
            request,
            "account.html",
            {"errors": exc.fields, "form": {"display_name": form["display_name"]}, "saved": None},
            status=400,
        )
    return RedirectResponse("/account?saved=profile", status_code=303)


@access("signed-in")
async def change_password(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    try:
        token = await accounts.change_password(ctx, form["current"], form["new"], form["confirm"])
    except Invalid as exc:
        display = ctx.member.display_name if ctx.member else ""
        return render(
            request,
            "account.html",
            {"errors": exc.fields, "form": {"display_name": display}, "saved": None},
            status=400,
        )
    return _signed_in(request, token, "/account?saved=password")


# ---- API tokens ------------------------------------------------------------------------------


async def _tokens_page(
    request: Request,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    created: ApiToken | None = None,
    secret: str = "",
) -> Response:
    ctx = _ctx(request)
    return render(
        request,
        "tokens.html",
        {
            "tokens": await tokens.list_mine(ctx),
            "now": tokens.now(),
            "errors": errors or {},
            "form": form or {},
            "created": created,
            "secret": secret,
            "revoked": request.query_params.get("revoked"),
        },
        status=status,
    )


@access("signed-in")
async def tokens_page(request: Request) -> Response:
    if _ctx(request).member is None:
        return RedirectResponse("/login?next=/account/tokens", status_code=303)
    return await _tokens_page(request)


@access("signed-in")
async def create_token(request: Request) -> Response:
    """The new token is shown on the answer to this POST (never in a URL), this once only."""
    ctx = _ctx(request)
    form = await read_form(request)
    scopes = ["read"] + [s for s in ("write", "admin") if form[f"scope_{s}"]]
    days_text = form["expires_days"].strip()
    try:
        if days_text and not (days_text.isascii() and days_text.isdigit() and len(days_text) < 6):
            raise Invalid(fields={"expires_days": "A whole number of days, or empty for no end."})
        secret, row = await tokens.issue(
            ctx, form["name"], scopes, int(days_text) if days_text else None
        )
    except Invalid as exc:
        return await _tokens_page(
            request,
            status=400,
            errors=exc.fields or {"form": exc.message},
            form={k: form[k] for k in ("name", "expires_days", "scope_write", "scope_admin")},
        )
    return await _tokens_page(request, created=row, secret=secret)


@access("signed-in")
async def revoke_token(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    token_id = parse_id(request.path_params.get("token_id", ""))
    if token_id is None:
        raise NotFound()
    await tokens.revoke(ctx, token_id)
    return RedirectResponse("/account/tokens?revoked=1", status_code=303)
