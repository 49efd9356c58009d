"""The caller's own account."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.policy import Action
from forum.schemas.accounts import (
    ChangeEmail,
    ConfirmEmail,
    EmailConfirmed,
    ForgotPassword,
    MailSent,
    Me,
)
from forum.services import addresses, recovery
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok


@access("signed-in")
async def get_me(request: Request) -> Response:
    ctx = ctx_of(request)
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.member is not None
    return ok(serialise.me(ctx.member))


@access("anyone")
async def request_reset(request: Request, body: ForgotPassword) -> Response:
    """Same answer, and the same time, whether or not an account matches (see
    `forum.services.recovery`): the lookup and the email run after the answer."""
    ctx = ctx_of(request)
    key = await recovery.check_request(ctx, body.address)
    response = ok({"message": recovery.SENT}, status=202)
    response.background = BackgroundTask(recovery.send_reset, ctx.services, key)
    return response


@access("anyone")
async def confirm_email(request: Request, body: ConfirmEmail) -> Response:
    member = await addresses.confirm(body.token)
    return ok({"email": member.email})


@access("signed-in")
async def change_email(request: Request, body: ChangeEmail) -> Response:
    await addresses.change(ctx_of(request), body.email, body.password)
    message = "We sent a link to the new address; it becomes your address once followed."
    return ok({"message": message}, status=202)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/password-reset",
        request_reset,
        "Ask for a password-reset link by email",
        tag="accounts",
        description="Give the account's email address or handle. The answer is the same "
        "whether or not an account matches; the link (valid one hour, usable once) goes to the "
        "account's address. Throttled per client address, per typed address and per account.",
        body=ForgotPassword,
        response=MailSent,
        status=202,
        errors=[400, 429],
        anonymous=True,
    ),
    Endpoint(
        "POST",
        "/email/confirm",
        confirm_email,
        "Confirm an email address with the token of its emailed link",
        tag="accounts",
        description="A used, expired or unknown token is a 400 saying which.",
        body=ConfirmEmail,
        response=EmailConfirmed,
        errors=[400],
        anonymous=True,
    ),
    Endpoint(
        "POST",
        "/me/email",
        change_email,
        "Change the caller's email address (a link goes to the new one)",
        tag="accounts",
        description="Needs the current password. The new address replaces the old one only "
        "once its emailed link is followed; the old address is told of the change.",
        body=ChangeEmail,
        response=MailSent,
        status=202,
        errors=[400, 401, 429],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/me",
        get_me,
        "The signed-in member",
        tag="accounts",
        response=Me,
        errors=[401],
        signed_in=True,
    ),
]
