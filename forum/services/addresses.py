"""Members' email addresses. An address counts (becomes `Member.email`) once its member follows
the link mailed to it, or when an admin gives it; a change also tells the old address.

No answer ever says that an address belongs to somebody: asking for an address another member
has gives the same answer on screen, and that member gets a note instead of a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import limits, policy
from forum.errors import Invalid
from forum.mail import compose
from forum.mail.outbox import domain_of, enqueue
from forum.models import EmailToken, Member
from forum.policy import Action
from forum.security import new_token, token_digest
from forum.services.context import Ctx
from forum.settings import Settings

CONFIRM_LIFETIME = timedelta(hours=48)
LINK_UNKNOWN = "This link is not valid. Check that you copied all of it, or ask for a new one."
LINK_USED = "This link has already been used. Each link works once: ask for a new one."
LINK_EXPIRED = "This link has expired. Ask for a new one."


def now() -> datetime:
    return datetime.now(UTC)


def normalised(address: str) -> str:
    """An address given outside a form (the CLI), as the schemas' `EmailAddress` takes it."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(
            fields={"email": "Enter an email address, such as name@example.org."}
        ) from None


def email_key(address: str) -> str:
    """What makes two addresses the same one: their lowercased text."""
    return address.strip().lower()


def masked(address: str) -> str:
    """An address shown without giving it away: its first letter and its domain."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


async def issue(
    conn: BaseDBAsyncClient,
    member_id: int,
    purpose: str,
    address: str,
    lifetime: timedelta,
    sent_by_id: int | None = None,
) -> str:
    """A new single-use link token (returned; only its hash is stored)."""
    token = new_token()
    moment = now()
    await EmailToken.create(
        token_hash=token_digest(token),
        member_id=member_id,
        purpose=purpose,
        address=address,
        created_at=moment,
        expires_at=moment + lifetime,
        sent_by_id=sent_by_id,
        using_db=conn,
    )
    return token


async def send(
    conn: BaseDBAsyncClient,
    settings: Settings,
    *,
    kind: str,
    template: str,
    to: str,
    member_id: int,
    subject: str,
    **context: Any,
) -> None:
    """Write one email (`templates/email/TEMPLATE.*`) to the outbox in `conn`'s transaction."""
    text, html = compose.render(
        template,
        subject=subject,
        site_name=settings.email_from_name,
        base_url=settings.base_url,
        **context,
    )
    await enqueue(
        conn,
        kind=kind,
        to=to,
        subject=subject,
        text=text,
        html=html,
        member_id=member_id,
        domain=domain_of(settings.base_url),
    )


async def ask_confirmation(
    conn: BaseDBAsyncClient, settings: Settings, member: Member, address: str
) -> None:
    """Mail `member` a link confirming `address` (any earlier link stops working). When another
    member already has that address, no link goes out: that member is told someone tried to use
    it. The one who asked sees the same either way (the address waits for its confirmation)."""
    await (
        EmailToken.filter(member_id=member.id, purpose="confirm", used_at=None)
        .using_db(conn)
        .delete()
    )
    owner = await Member.filter(email_key=email_key(address)).using_db(conn).first()
    if owner is not None and owner.id != member.id and owner.email:
        # A token nobody holds: the account page shows the address as waiting, and it never
        # can be confirmed.
        await issue(conn, member.id, "confirm", address, CONFIRM_LIFETIME)
        await send(
            conn,
            settings,
            kind="confirm",
            template="email-taken",
            to=owner.email,
            member_id=owner.id,
            subject="Someone tried to use your email address",
            handle=owner.handle,
        )
        return
    token = await issue(conn, member.id, "confirm", address, CONFIRM_LIFETIME)
    await send(
        conn,
        settings,
        kind="confirm",
        template="confirm",
        to=address,
        member_id=member.id,
        subject="Confirm your email address",
        handle=member.handle,
        link=f"{settings.base_url}/confirm?token={token}",
        hours=int(CONFIRM_LIFETIME.total_seconds() // 3600),
    )


@dataclass(frozen=True)
class AddressState:
    """What the account page says of the member's address."""

    current: str | None
    confirmed: bool
    # An address waiting for its link to be followed (a new one, or `current` itself).
    waiting: str | None


async def state_of(member: Member) -> AddressState:
    pending = (
        await EmailToken.filter(
            member_id=member.id, purpose="confirm", used_at=None, expires_at__gt=now()
        )
        .order_by("-id")
        .first()
    )
    waiting = pending.address if pending else None
    confirmed = member.email is not None and member.email_confirmed_at is not None
    if waiting is None and member.email and not confirmed:
        waiting = member.email
    return AddressState(member.email, confirmed, waiting)


async def resend(ctx: Ctx) -> str:
    """Mail the confirmation link again (a new link: the earlier one stops working); the
    address it went to."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    member = ctx.member
    assert member is not None
    waiting = (await state_of(member)).waiting
    if waiting is None:
        raise Invalid("There is no address waiting for confirmation.")
    await ctx.services.throttle.hit(
        ctx.settings.confirm_rate,
        "confirm",
        str(member.id),
        message="We sent several links already. Please wait a while, then ask again.",
    )
    async with in_transaction() as conn:
        await ask_confirmation(conn, ctx.settings, member, waiting)
    ctx.services.wake_mail()
    return waiting


async def change(ctx: Ctx, address: str, password: str) -> None:
    """Ask to change the signed-in member's address (their password proves it is them). A link
    goes to the new address, which replaces the old one only once followed; the old address is
    told, with the new one masked, so a taken-over account does not change hands silently."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    member = ctx.member
    assert member is not None
    if not address:
        raise Invalid(fields={"email": "Enter the new email address."})
    if member.email_key == email_key(address) and member.email_confirmed_at is not None:
        raise Invalid(fields={"email": "That is already your confirmed address."})
    await ctx.services.throttle.hit(
        ctx.settings.confirm_rate,
        "confirm",
        str(member.id),
        message="You asked for several changes already. Please wait a while, then try again.",
    )
    ok, _ = await ctx.services.hasher.verify(password[: limits.MAX_PASSWORD], member.password_hash)
    if not ok:
        raise Invalid(fields={"password": "That is not your current password."})
    async with in_transaction() as conn:
        await ask_confirmation(conn, ctx.settings, member, address)
        if member.email and member.email_key != email_key(address):
            await send(
                conn,
                ctx.settings,
                kind="email-change",
                template="email-change-old",
                to=member.email,
                member_id=member.id,
                subject="A change of your email address was asked",
                handle=member.handle,
                new_masked=masked(address),
            )
    ctx.services.wake_mail()


async def usable(token: str, purpose: str) -> EmailToken:
    """The unused, unexpired link token, or Invalid saying plainly what is wrong with it."""
    row = None
    if token and len(token) <= limits.MAX_INVITE_TOKEN:
        row = await EmailToken.get_or_none(token_hash=token_digest(token), purpose=purpose)
    if row is None:
        raise Invalid(LINK_UNKNOWN)
    if row.used_at is not None:
        raise Invalid(LINK_USED)
    if row.expires_at <= now():
        raise Invalid(LINK_EXPIRED)
    return row


async def confirm(token: str) -> Member:
    """Follow a confirmation link: its address becomes the member's confirmed address."""
    row = await usable(token, "confirm")
    taken = Invalid("This address now belongs to another account, so it cannot be confirmed.")
    if await Member.filter(email_key=email_key(row.address)).exclude(id=row.member_id).exists():
        raise taken
    moment = now()
    try:
        async with in_transaction() as conn:
            claimed = (
                await EmailToken.filter(id=row.id, used_at=None)
                .using_db(conn)
                .update(used_at=moment)
            )
            if not claimed:  # followed twice at once: the first one counts
                raise Invalid(LINK_USED)
            await (
                Member.filter(id=row.member_id)
                .using_db(conn)
                .update(
                    email=row.address, email_key=email_key(row.address), email_confirmed_at=moment
                )
            )
    except IntegrityError:
        raise taken from None
    return await Member.get(id=row.member_id)
