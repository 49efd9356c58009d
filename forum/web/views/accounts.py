"""Sign-up, sign-in, sign-out and the member's own account page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import limits
from forum.errors import Invalid, RateLimited
from forum.models import ApiToken, Member
from forum.schemas.accounts import Login, NewPassword, Profile, SignUp
from forum.schemas.parse import from_form, from_path
from forum.schemas.tokens import TokenForm, TokenPath
from forum.services import accounts, invites, tokens
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import Form, read_form
from forum.web.middleware import end_session_cookie, session_cookie
from forum.web.templating import render
from forum.web.views.mail import account_section


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _safe_next(target: str) -> str:
    # Only same-site paths: "//evil.example" and "/\\evil" are other sites to a browser.
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and len(target) <= limits.MAX_NEXT
    ):
        return target
    return "/"


def _errors(exc: Invalid) -> dict[str, str]:
    """Field errors beside their fields; an error about the whole form above it."""
    return dict(exc.fields) if exc.fields else {"form": exc.message}


def _kept(form: Form, *names: str) -> dict[str, str]:
    """The fields to show again as typed (never a password)."""
    return {name: form[name] for name in names}


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
    kept = _kept(form, "handle")
    try:
        data = from_form(Login, form)
    except Invalid as exc:
        context = {"form": kept, "errors": _errors(exc), "next": target}
        return render(request, "login.html", context, status=400)
    try:
        member = await accounts.authenticate(ctx, data.handle, data.password)
    except accounts.CannotSignIn as refused:
        return await _cannot_sign_in(request, refused.member)
    except Invalid as exc:
        # One message for every failure, above the form: it tells nothing about which part.
        context = {"form": kept, "errors": {"form": exc.message}, "next": target}
        return render(request, "login.html", context, status=400)
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            {"form": kept, "errors": {"form": exc.message}, "next": target},
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    token = await accounts.start_session(member, request.headers.get("user-agent", ""), ctx.session)
    return _signed_in(request, token, target)


async def _cannot_sign_in(request: Request, member: Member) -> Response:
    """The right password for a suspended or pending account: say why, and how to go on."""
    from forum.services import moderation

    suspension = await moderation.suspension_of(member) if member.status == "suspended" else None
    token = moderation.appeal_token(_ctx(request).settings.secret_key, member.id)
    return render(
        request,
        "cannot_sign_in.html",
        {"member": member, "suspension": suspension, "token": token, "errors": {}},
        status=403,
    )


@access("anyone")
async def signup_page(request: Request) -> Response:
    ctx = _ctx(request)
    token = request.query_params.get("invite", "")
    arrival = await invites.arrival(ctx, token) if token else None
    form = {"invite": token}
    if arrival is not None and arrival.invite is not None and arrival.invite.email:
        form["email"] = arrival.invite.email  # the address the invitation was mailed to
    # A link that cannot be used says why, instead of the form: 404 for one that names no
    # invite, 410 Gone for one that was used, revoked or has expired.
    status = 200
    if arrival is not None and arrival.state != "usable":
        status = 404 if arrival.state == "unknown" else 410
    return render(
        request,
        "signup.html",
        {
            "form": form,
            "errors": {},
            "arrival": arrival,
            "mode": ctx.settings.signup,
            "done": False,
        },
        status=status,
    )


@access("anyone")
async def signup(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    context: dict[str, object] = {
        "form": _kept(form, "handle", "display_name", "invite", "email"),
        "mode": ctx.settings.signup,
        "done": False,
        "arrival": None,
    }
    try:
        data = from_form(SignUp, form)
        member = await accounts.sign_up(
            ctx,
            handle=data.handle,
            display_name=data.display_name,
            password=data.password,
            invite_token=data.invite,
            email=data.email,
        )
    except Invalid as exc:
        errors = _errors(exc)
        if exc.fields:
            # Refused for size before the service looked? Add its rules' words (they win).
            errors |= accounts.sign_up_rules(form["handle"], form["password"])
        if form["invite"]:
            # What the link is: a usable one says so above the form again; one that cannot be
            # used (any more) says why instead of the form.
            context["arrival"] = await invites.arrival(ctx, form["invite"])
        return render(request, "signup.html", {**context, "errors": errors}, status=400)
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


async def account_view(
    request: Request,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    saved: str | None = None,
    status: int = 200,
) -> Response:
    """The account page (with errors beside the form that failed, and what was typed there)."""
    ctx = _ctx(request)
    assert ctx.member is not None
    return render(
        request,
        "account.html",
        {
            "errors": errors or {},
            "form": {
                "display_name": ctx.member.display_name,
                "pronouns": ctx.member.pronouns,
                "bio": ctx.member.bio,
                **(form or {}),
            },
            "saved": saved,
            **(await account_section(ctx)),
        },
        status=status,
    )


@access("signed-in")
async def account_page(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.member is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    return await account_view(request, saved=request.query_params.get("saved"))


@access("signed-in")
async def update_profile(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    try:
        data = from_form(Profile, form)
        await accounts.update_profile(ctx, data.display_name, data.pronouns, data.bio)
    except Invalid as exc:
        kept = {name: form.get(name, "") for name in ("display_name", "pronouns", "bio")}
        return await account_view(request, _errors(exc), kept, status=400)
    return RedirectResponse("/account?saved=profile", status_code=303)


@access("signed-in")
async def change_password(request: Request) -> Response:
    ctx = _ctx(request)
    form = await read_form(request)
    try:
        data = from_form(NewPassword, form)
        token = await accounts.change_password(ctx, data.current, data.new, data.confirm)
    except Invalid as exc:
        return await account_view(request, _errors(exc), status=400)
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
    try:
        data = from_form(TokenForm, {**form, "expires_days": form["expires_days"].strip()})
        secret, row = await tokens.issue(ctx, data.name, data.scopes, data.expires_days)
    except Invalid as exc:
        return await _tokens_page(
            request,
            status=400,
            errors=_errors(exc),
            form=_kept(form, "name", "expires_days", "scope_write", "scope_admin"),
        )
    return await _tokens_page(request, created=row, secret=secret)


@access("signed-in")
async def revoke_token(request: Request) -> Response:
    ctx = _ctx(request)
    await read_form(request)
    await tokens.revoke(ctx, from_path(TokenPath, request.path_params).token_id)
    return RedirectResponse("/account/tokens?revoked=1", status_code=303)
