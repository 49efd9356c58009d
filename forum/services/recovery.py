"""Getting back in: a password-reset link by email, asked for by the member (by address or
handle) or sent by an admin.

The answer to "send me a link" is the same whether or not an account matches, and takes the
same time: the throttles that answer it count the typed address and the client address, known
or not, and the lookup and the email are done after the answer has gone out
(`send_reset`, run as the response's background task). The per-account limit is checked there
too, so reaching it sends nothing more and says nothing: a 429 for it would tell that two
spellings name one account."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email

from forum import limits, policy
from forum.errors import Invalid, RateLimited
from forum.models import EmailToken, Member
from forum.policy import Action
from forum.realtime.events import unit_of_work
from forum.services import accounts, addresses
from forum.services.context import Ctx, Services

log = logging.getLogger("forum.accounts")

RESET_LIFETIME = timedelta(hours=1)
SENT = (
    "If an account has this address or handle, we have sent a link to set a new password to "
    "its email address. The link works once, within an hour."
)
SLOW_DOWN = "Too many requests for a reset link. Please wait a while, then ask again."


def lookup_key(typed: str) -> str:
    """The typed address or handle as the throttles and the lookup see it: an address as
    `email-validator` normalises it, lowercased; a handle lowercased, without its @."""
    text = typed.strip()
    if "@" in text[1:]:
        with contextlib.suppress(EmailNotValidError):
            text = validate_email(text, check_deliverability=False).normalized
        return addresses.email_key(text)
    return text.removeprefix("@").lower()


async def check_request(ctx: Ctx, typed: str) -> str:
    """The part of a reset request answered before the answer goes out: the same for every
    typed value, known or not. Returns the key for `send_reset`."""
    key = lookup_key(typed)
    if not key:
        raise Invalid(fields={"address": "Enter your email address or your handle."})
    throttle = ctx.services.throttle
    await throttle.hit(
        ctx.settings.reset_address_rate, "reset-addr", ctx.address, message=SLOW_DOWN
    )
    await throttle.hit(ctx.settings.reset_rate, "reset-ask", key, message=SLOW_DOWN)
    return key


async def send_reset(services: Services, key: str) -> None:
    """Mail a reset link to the account `key` names, if any has an address to send it to (the
    member's confirmed address, or one an admin gave). Runs after the answer went out; never
    raises."""
    try:
        if "@" in key:
            member = await Member.get_or_none(email_key=key[: limits.MAX_EMAIL])
        elif accounts.HANDLE_RE.match(key):
            member = await Member.get_or_none(handle_key=key)
        else:
            member = None
        if member is None or not member.email:
            return
        try:
            await services.throttle.hit(
                services.settings.reset_rate, "reset-member", str(member.id)
            )
        except RateLimited:
            log.info("reset links for member %s held back: the per-account limit", member.id)
            return
        await _mail_link(services, member, "reset", sent_by=None)
    except Exception:
        log.exception("a reset link could not be prepared")


async def _mail_link(
    services: Services, member: Member, template: str, sent_by: Member | None
) -> None:
    assert member.email is not None
    async with unit_of_work(services.publish) as tx:
        # A new link replaces any earlier one still unused.
        await (
            EmailToken.filter(member_id=member.id, purpose="reset", used_at=None)
            .using_db(tx.conn)
            .update(used_at=addresses.now())
        )
        token = await addresses.issue(
            tx.conn,
            member.id,
            "reset",
            member.email,
            RESET_LIFETIME,
            sent_by.id if sent_by else None,
        )
        await addresses.send(
            tx.conn,
            services.settings,
            kind="reset",
            template=template,
            to=member.email,
            member_id=member.id,
            subject="Set a new password",
            handle=member.handle,
            link=f"{services.settings.base_url}/reset?token={token}",
            minutes=int(RESET_LIFETIME.total_seconds() // 60),
        )
    services.wake_mail()


async def admin_send_reset(ctx: Ctx, handle: str) -> Member:
    """An admin sends a member a reset link, to the member's own address: the admin never sees
    the link. Recorded on the token row (who sent it, when): the admins' audit, not the public
    moderation log, since helping someone back in is no moderation act and tells members
    nothing they need."""
    policy.require(ctx.actor, Action.ADMIN_MEMBERS)
    member = await accounts.member_by_handle(handle)
    if not member.email:
        raise Invalid(f"@{member.handle} has no email address to send a link to.")
    await ctx.services.throttle.hit(
        ctx.settings.reset_rate,
        "reset-member",
        str(member.id),
        message=f"Several links went to @{member.handle} this hour. Wait before sending more.",
    )
    await _mail_link(ctx.services, member, "reset-admin", sent_by=ctx.member)
    return member


async def links_sent_by_admins(ctx: Ctx) -> list[EmailToken]:
    """The admins' audit of reset links they sent: to whom, by whom, when, and whether the
    member used it (never the link itself)."""
    policy.require(ctx.actor, Action.ADMIN_MEMBERS)
    return (
        await EmailToken.filter(purpose="reset", sent_by_id__isnull=False)
        .order_by("-id")
        .limit(20)
        .prefetch_related("member", "sent_by")
    )


@dataclass(frozen=True)
class ResetDone:
    member: Member
    # The new session's cookie value, or None when the member may not sign in (suspended or
    # waiting for approval): the page then says why.
    session_token: str | None


async def reset_password(
    ctx: Ctx, token: str, new: str, confirm: str, user_agent: str
) -> ResetDone:
    """Set a new password with a reset link: the link is used up, every session and API token
    of the member ends (their open sockets close), and this browser is signed in afresh if the
    member may sign in. Following the link proves the member reads the address, so an address
    an admin gave counts as confirmed too. A suspended member may reset and stays suspended."""
    # The link first: a used or expired one is said at once, before any word on the password.
    row = await addresses.usable(token, "reset")
    if msg := accounts.validate_password(new):
        raise Invalid(fields={"new": msg})
    if new != confirm:
        raise Invalid(fields={"confirm": "The two new passwords differ."})
    password_hash = await ctx.services.hasher.hash(new)
    moment = addresses.now()
    async with unit_of_work(ctx.services.publish) as tx:
        claimed = (
            await EmailToken.filter(id=row.id, used_at=None)
            .using_db(tx.conn)
            .update(used_at=moment)
        )
        if not claimed:  # used a moment ago
            raise Invalid(addresses.LINK_USED)
        member = await Member.filter(id=row.member_id).using_db(tx.conn).get()
        member.password_hash = password_hash
        changed = ["password_hash", "status", "suspended_until"]
        accounts._lift_expired_suspension(member)
        if member.email == row.address and member.email_confirmed_at is None:
            member.email_confirmed_at = moment
            changed.append("email_confirmed_at")
        await member.save(update_fields=changed, using_db=tx.conn)
        await accounts.end_everywhere(tx, member.id)
    if member.status != "active":
        return ResetDone(member, None)
    session = await accounts.start_session(member, user_agent, ctx.session)
    return ResetDone(member, session)
