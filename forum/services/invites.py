"""Invites: sign-up links an admin makes (one, several at once, or one mailed to each address of
a list), what became of each (unused, used by whom and when, revoked, expired), and revoking.

A link is found by its token's sha256 alone, as sessions are. So that admins can copy an unused
invite's link again later, the token is also kept sealed: AES-GCM under a key derived from the
site's secret key (`FORUM_SECRET_KEY`), bound to its row by the token's hash. A copy of the
database (a backup) therefore holds no working link; if the secret key changes, older links
still work but can no longer be shown (the page says so). The sealed copy is dropped as soon as
the invite is used or revoked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from email_validator import EmailNotValidError, validate_email
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from forum import limits, policy
from forum.errors import Conflict, Invalid, NotFound
from forum.mail import compose
from forum.mail.outbox import domain_of, enqueue
from forum.models import Invite
from forum.models.members import ROLES
from forum.policy import Action
from forum.security import new_token, token_digest
from forum.services.context import Ctx
from forum.settings import Settings

LIFETIME = timedelta(days=14)
MAX_AT_ONCE = 50
SHOWN = 200

# What the sign-up page (and a refused sign-up) says of a link that cannot be used.
MESSAGES = {
    "unknown": "This invite link is not valid. Check that you copied all of it, or ask the "
    "person who invited you for a new one.",
    "used": "This invite has already been used: each invite works once. If you made your "
    "account with it, sign in; otherwise ask the person who invited you for a new one.",
    "revoked": "This invite was revoked by an admin, so it no longer works. Ask the person "
    "who invited you for a new one if you still mean to join.",
    "expired": "This invite has expired (invites work for 14 days). Ask the person who "
    "invited you for a new one.",
}


def now() -> datetime:
    return datetime.now(UTC)


# ---- sealing the token -----------------------------------------------------------------------


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"forum invite links v1", hashlib.sha256).digest()


def seal(settings: Settings, token: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(settings)).encrypt(nonce, token.encode(), token_digest(token).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, invite: Invite) -> str | None:
    """The invite's token, or None when it is not kept (used, revoked, made before links were
    kept) or was sealed under another secret key."""
    if not invite.sealed:
        return None
    try:
        raw = base64.urlsafe_b64decode(invite.sealed.encode())
        token = AESGCM(_key(settings)).decrypt(raw[:12], raw[12:], invite.token_hash.encode())
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return token.decode()


def link(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/signup?invite={token}"


# ---- state -----------------------------------------------------------------------------------


def state_of(invite: Invite, moment: datetime | None = None) -> str:
    """usable | used | revoked | expired."""
    if invite.used_by_id is not None or invite.used_at is not None:
        return "used"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= (moment or now()):
        return "expired"
    return "usable"


async def find(token: str) -> tuple[Invite | None, str]:
    """The invite a link names and its state ("unknown" when it names none)."""
    if not token or len(token) > limits.MAX_INVITE_TOKEN:
        return None, "unknown"
    invite = await Invite.get_or_none(token_hash=token_digest(token))
    if invite is None:
        return None, "unknown"
    return invite, state_of(invite)


@dataclass(frozen=True)
class Arrival:
    """What the sign-up page says of the invite it was reached with."""

    state: str
    message: str
    invite: Invite | None = None
    maker: str | None = None


async def arrival(ctx: Ctx, token: str) -> Arrival:
    invite, state = await find(token)
    if invite is None or state != "usable":
        return Arrival(state, MESSAGES[state])
    maker = None
    if invite.created_by_id is not None and policy.members.can_see_invite_maker(ctx.actor, state):
        await invite.fetch_related("created_by")
        maker = invite.created_by.handle if invite.created_by else None
    return Arrival(state, "", invite, maker)


# ---- making invites --------------------------------------------------------------------------


def _clean_note(note: str) -> str:
    return " ".join(note.split())[: limits.MAX_INVITE_NOTE]


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(fields={"role": "Choose member, facilitator or admin."})
    return role


async def _make(
    conn: BaseDBAsyncClient | None,
    settings: Settings | None,
    *,
    created_by_id: int | None,
    role: str,
    note: str,
    batch: str | None = None,
    email: str | None = None,
) -> tuple[Invite, str]:
    token = new_token()
    invite = await Invite.create(
        token_hash=token_digest(token),
        created_by_id=created_by_id,
        role=role,
        note=note,
        expires_at=now() + LIFETIME,
        sealed=seal(settings, token) if settings is not None else None,
        batch=batch,
        email=email,
        using_db=conn,
    )
    return invite, token


async def create_one(
    ctx: Ctx | None, role: str = "member", note: str = "", settings: Settings | None = None
) -> str:
    """One invite; its token. `ctx` None means the CLI (the operator), which passes `settings`
    so the link is kept for the admins' page too."""
    if ctx is not None:
        policy.require(ctx.actor, Action.INVITE)
        settings = ctx.settings
    _, token = await _make(
        None,
        settings,
        created_by_id=ctx.member.id if ctx and ctx.member else None,
        role=_check_role(role),
        note=_clean_note(note),
    )
    return token


def new_batch() -> str:
    return secrets.token_urlsafe(9)


async def create_links(ctx: Ctx, count_text: str, role: str, note: str) -> str:
    """`count` invites at once (1 to MAX_AT_ONCE), made together; their batch."""
    policy.require(ctx.actor, Action.INVITE)
    text = count_text.strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= MAX_AT_ONCE:
        raise Invalid(fields={"count": f"Make 1 to {MAX_AT_ONCE} invites at once."})
    role = _check_role(role)
    note = _clean_note(note)
    batch = new_batch()
    async with in_transaction() as conn:
        for _ in range(int(text)):
            await _make(
                conn,
                ctx.settings,
                created_by_id=ctx.actor.member_id,
                role=role,
                note=note,
                batch=batch,
            )
    return batch


@dataclass
class Mailed:
    """What came of a list of addresses: the batch of invites sent (None if none was), the
    lines refused (line number, what was typed, why), and the text to put back in the form
    (the refused lines only: the others went out, and sending them again would repeat them)."""

    batch: str | None
    sent: list[str] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def kept_text(self) -> str:
        return "\n".join(typed for _, typed, _ in self.refused)


def _addresses(text: str) -> tuple[list[str], list[tuple[int, str, str]]]:
    good: list[str] = []
    seen: set[str] = set()
    refused: list[tuple[int, str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        typed = raw.strip().strip(",;").strip()
        if not typed:
            continue
        if len(typed) > limits.MAX_EMAIL:
            refused.append((number, typed[:80] + "…", "That is too long for an email address."))
            continue
        try:
            address = validate_email(typed, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            refused.append((number, typed, str(exc)))
            continue
        if address.lower() not in seen:  # the same address twice gets one invite
            seen.add(address.lower())
            good.append(address)
    return good, refused


async def mail_invites(ctx: Ctx, text: str, role: str, note: str) -> Mailed:
    """One invite per address of `text` (one a line), each mailed through the outbox in the
    transaction that makes it. Lines that are not addresses are refused one by one; the good
    ones are still sent. Nothing is sent when the list is empty or longer than MAX_AT_ONCE."""
    policy.require(ctx.actor, Action.INVITE)
    role = _check_role(role)
    note = _clean_note(note)
    good, refused = _addresses(text)
    if len(good) + len(refused) > MAX_AT_ONCE:
        raise Invalid(fields={"emails": f"At most {MAX_AT_ONCE} addresses at once."})
    if not good and not refused:
        raise Invalid(fields={"emails": "Enter at least one email address, one a line."})
    result = Mailed(None, [], refused)
    if not good:
        return result
    result.batch = new_batch()
    settings = ctx.settings
    maker = ctx.actor.handle
    async with in_transaction() as conn:
        for address in good:
            invite, token = await _make(
                conn,
                settings,
                created_by_id=ctx.actor.member_id,
                role=role,
                note=note,
                batch=result.batch,
                email=address,
            )
            await _mail(conn, settings, invite, token, address, maker)
            result.sent.append(address)
    ctx.services.wake_mail()
    return result


async def _mail(
    conn: BaseDBAsyncClient,
    settings: Settings,
    invite: Invite,
    token: str,
    address: str,
    maker: str,
) -> None:
    """The invitation email: the link, who sent it, until when. Never the admin's note (it is
    for admins) nor anything else of the forum's content."""
    subject = f"You are invited to join {settings.email_from_name}"
    text, html = compose.render(
        "invite",
        subject=subject,
        site_name=settings.email_from_name,
        base_url=settings.base_url,
        link=link(settings, token),
        maker=maker,
        expires=invite.expires_at.astimezone(UTC).strftime("%-d %B %Y"),
    )
    await enqueue(
        conn,
        kind="invite",
        to=address,
        subject=subject,
        text=text,
        html=html,
        domain=domain_of(settings.base_url),
    )


# ---- the admins' list ------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteRow:
    invite: Invite
    state: str
    # The full link of a usable invite (None: not usable, or not kept; see `lost`).
    link: str | None
    # A usable invite whose link cannot be shown (made before links were kept, on the command
    # line without the settings, or sealed under another secret key).
    lost: bool


def _row(settings: Settings, invite: Invite, moment: datetime) -> InviteRow:
    state = state_of(invite, moment)
    token = unseal(settings, invite) if state == "usable" else None
    return InviteRow(
        invite, state, link(settings, token) if token else None, state == "usable" and not token
    )


async def listing(ctx: Ctx) -> list[InviteRow]:
    """Every invite, newest first (the last SHOWN), with its state and, if unused, its link."""
    policy.require(ctx.actor, Action.INVITE)
    invites = (
        await Invite.all()
        .order_by("-created_at", "-id")
        .limit(SHOWN)
        .prefetch_related("used_by", "created_by", "revoked_by")
    )
    moment = now()
    return [_row(ctx.settings, i, moment) for i in invites]


async def batch_rows(ctx: Ctx, batch: str) -> list[InviteRow]:
    """The invites made together as `batch` (the page after making them shows their links)."""
    policy.require(ctx.actor, Action.INVITE)
    if not batch or len(batch) > 32:
        return []
    invites = (
        await Invite.filter(batch=batch)
        .order_by("id")
        .prefetch_related("used_by", "created_by", "revoked_by")
    )
    moment = now()
    return [_row(ctx.settings, i, moment) for i in invites]


async def revoke(ctx: Ctx, invite_id: int) -> Invite:
    """An unused invite stops working at once; its link then says it was revoked."""
    policy.require(ctx.actor, Action.REVOKE_INVITE)
    invite = await Invite.get_or_none(id=invite_id)
    if invite is None:
        raise NotFound()
    state = state_of(invite)
    if state == "used":
        raise Conflict("That invite has been used already: there is nothing to revoke.")
    if state == "revoked":
        raise Conflict("That invite was revoked already.")
    changed = await Invite.filter(id=invite.id, used_by_id=None, revoked_at=None).update(
        revoked_at=now(), revoked_by_id=ctx.actor.member_id, sealed=None
    )
    if not changed:  # used a moment ago
        raise Conflict("That invite has just been used: there is nothing to revoke.")
    return invite
