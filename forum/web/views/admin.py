"""Admin pages: members (approve, suspend, roles), invites (make, mail, copy, revoke), and the
mail page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import DomainError, Invalid, NotFound
from forum.schemas.moderation import WithReason
from forum.schemas.parse import from_form
from forum.services import accounts, invites, mail_log, recovery
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.notices import confirm
from forum.web.templating import render


async def _members_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    ctx: Ctx = request.state.ctx
    members = await accounts.list_members(ctx, request.query_params.get("status") or None)
    return render(
        request,
        "admin_members.html",
        {
            "members": members,
            "reset_links": await recovery.links_sent_by_admins(ctx),
            "errors": errors or {},
            "notice": request.query_params.get("done", ""),
        },
        status=status,
    )


@access("policy")
async def members(request: Request) -> Response:
    return await _members_page(request)


@access("policy")
async def member_action(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    form = await read_form(request)
    handle = request.path_params["handle"]
    verb = request.path_params["verb"]
    try:
        if verb == "approve":
            member = await accounts.approve(ctx, handle)
        elif verb == "suspend":
            days_text = form["days"].strip()
            if days_text and not days_text.isdigit():
                raise Invalid(fields={"days": "A whole number of days, or empty for no end."})
            reason = from_form(WithReason, form).reason
            member = await accounts.suspend(
                ctx, handle, reason, int(days_text) if days_text else None
            )
        elif verb == "unsuspend":
            member = await accounts.unsuspend(ctx, handle, from_form(WithReason, form).reason)
        elif verb == "role":
            member = await accounts.set_role(ctx, handle, form["role"])
        elif verb == "reset-link":
            # The link goes to the member's address only; the admin's answer never holds it.
            member = await recovery.admin_send_reset(ctx, handle)
        else:
            raise Invalid("Unknown action.")
    except Invalid as exc:
        errors = {f"{handle}:{k}": v for k, v in exc.fields.items()} or {handle: exc.message}
        return await _members_page(request, errors, status=400)
    except DomainError:
        raise
    return RedirectResponse(f"/admin/members?done={verb}+{member.handle}", status_code=303)


async def _invites_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    mailed: invites.Mailed | None = None,
    status: int = 200,
) -> Response:
    ctx: Ctx = request.state.ctx
    batch = mailed.batch if mailed else request.query_params.get("made", "")
    return render(
        request,
        "admin_invites.html",
        {
            "rows": await invites.listing(ctx),
            # The invites just made (POST-redirect-GET names their batch, never a token).
            "made": await invites.batch_rows(ctx, batch) if batch else [],
            "mailed": mailed,
            "errors": errors or {},
            "form": form or {},
            "most": invites.MAX_AT_ONCE,
        },
        status=status,
    )


@access("policy")
async def invites_page(request: Request) -> Response:
    return await _invites_page(request)


@access("policy")
async def create_invites(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    form = await read_form(request)
    try:
        batch = await invites.create_links(
            ctx, form["count"], form["role"] or "member", form["note"]
        )
    except Invalid as exc:
        errors = dict(exc.fields) or {"count": exc.message}
        return await _invites_page(request, errors=errors, form=dict(form), status=400)
    return confirm(
        RedirectResponse(f"/admin/invites?made={batch}#made", status_code=303),
        "invites-made",
        ctx.settings,
    )


@access("policy")
async def mail_invites(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    form = await read_form(request)
    try:
        mailed = await invites.mail_invites(
            ctx, form["emails"], form["role"] or "member", form["note"]
        )
    except Invalid as exc:
        errors = dict(exc.fields) or {"emails": exc.message}
        return await _invites_page(request, errors=errors, form=dict(form), status=400)
    if mailed.refused:
        # The good addresses went out; the form keeps the lines to fix, each with its reason.
        kept = {**form, "emails": mailed.kept_text}
        return await _invites_page(request, form=kept, mailed=mailed, status=400)
    return confirm(
        RedirectResponse(f"/admin/invites?made={mailed.batch}#made", status_code=303),
        "invites-mailed",
        ctx.settings,
    )


@access("policy")
async def revoke_invite(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    await read_form(request)
    raw = request.path_params["invite_id"]
    if not raw.isdigit() or len(raw) > 10 or int(raw) >= 2**31:
        raise NotFound()
    await invites.revoke(ctx, int(raw))
    return confirm(
        RedirectResponse("/admin/invites", status_code=303), "invite-revoked", ctx.settings
    )


@access("policy")
async def mail(request: Request) -> Response:
    page = await mail_log.mail_page(request.state.ctx)
    return render(request, "admin_mail.html", {"page": page})


@access("policy")
async def mail_message(request: Request) -> Response:
    raw = request.path_params["message_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound()
    row = await mail_log.mail_message(request.state.ctx, int(raw))
    return render(request, "admin_mail_message.html", {"row": row})
