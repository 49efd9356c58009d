"""The admins' mail page: in development (the `file` transport) the last messages sent, each
readable unless it carries someone's personal link; otherwise only the outbox's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import policy
from forum.errors import NotFound
from forum.mail import outbox
from forum.models import OutboxMessage
from forum.policy import Action
from forum.services.context import Ctx

SHOWN = 50


@dataclass(frozen=True)
class MailRow:
    message: OutboxMessage
    # Whether the viewer may read its body (else "link withheld").
    readable: bool


@dataclass(frozen=True)
class MailPage:
    # True with the `file` transport (development): `rows` is filled; else `counts` is.
    development: bool
    transport: str
    rows: list[MailRow]
    counts: dict[str, int]


def _development(ctx: Ctx) -> bool:
    return ctx.settings.email_url.startswith("file://")


async def mail_page(ctx: Ctx) -> MailPage:
    policy.require(ctx.actor, Action.SEE_MAIL_LOG)
    transport = ctx.settings.email_url.split("://", 1)[0]
    if not _development(ctx):
        counts = await outbox.counts_since(datetime.now(UTC) - timedelta(days=1))
        return MailPage(False, transport, [], counts)
    rows = [
        MailRow(m, policy.mail.can_read_mail_body(ctx.actor, m)) for m in await outbox.recent(SHOWN)
    ]
    return MailPage(True, transport, rows, {})


async def mail_message(ctx: Ctx, message_id: int) -> MailRow:
    """One message of the development list (NotFound outside development)."""
    policy.require(ctx.actor, Action.SEE_MAIL_LOG)
    if not _development(ctx):
        raise NotFound()
    message = await OutboxMessage.get_or_none(id=message_id)
    if message is None:
        raise NotFound()
    return MailRow(message, policy.mail.can_read_mail_body(ctx.actor, message))
